"""Story 9: a person signs in through the company's OpenID provider (a real one, in a second
process): the account is created just in time with the role the provider's groups map to,
reused afterwards, kept in line with the groups, and every forged answer is refused."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.integrations.oidc.models import OidcIdentity
from hashdesk.integrations.oidc.views import SESSION_KEY
from tests.integrations.oidc.conftest import Browser, Provider

pytestmark = pytest.mark.django_db


def signed_in_as(browser: Browser) -> User | None:
    pk = browser.hashdesk.session.get("_auth_user_id")
    return User.objects.get(pk=pk) if pk else None


def roles(user: User) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


def refusal(response: Any) -> str:
    assert response.status_code == 302
    assert response["Location"] == "/accounts/sign-in/"
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def counts() -> tuple[int, int]:
    return User.objects.count(), OidcIdentity.objects.count()


def test_sign_in_page_offers_the_provider(single_sign_on: Provider, browser: Browser) -> None:
    page = browser.hashdesk.get("/accounts/sign-in/", {"next": "/incidents/"})
    html = page.content.decode()
    assert "Sign in with Example Corp" in html
    assert "/integrations/oidc/login/?next=%2Fincidents%2F" in html
    assert 'name="password"' in html


def test_a_new_person_gets_an_account_with_the_mapped_role(
    single_sign_on: Provider, browser: Browser
) -> None:
    authorize = browser.start(next_url="/incidents/")
    assert authorize.startswith(single_sign_on.issuer + "/authorize/")
    assert "code_challenge_method=S256" in authorize and "nonce=" in authorize

    response = browser.finish(browser.at_provider(authorize, "dana"))

    assert response.status_code == 302 and response["Location"] == "/incidents/"
    person = signed_in_as(browser)
    assert person is not None and person.email == "dana.agent@example.test"
    assert person.display_name == "Dana"
    assert roles(person) == [Role.AGENT, Role.REQUESTER]
    identity = OidcIdentity.objects.get(user=person)
    assert identity.issuer == single_sign_on.issuer and identity.last_sign_in_at is not None
    actions = list(
        AuditEntry.objects.filter(object_id=str(person.pk)).values_list("action", flat=True)
    )
    assert actions == ["user.create", "oidc.identity_link", "user.sign_in"]
    assert browser.hashdesk.session.get(SESSION_KEY) == {}  # the flow is used up


def test_next_sign_in_reuses_the_account_and_follows_group_changes(
    single_sign_on: Provider, browser: Browser
) -> None:
    browser.sign_in("casey")
    casey = signed_in_as(browser)
    assert casey is not None and roles(casey) == [Role.AGENT, Role.REQUESTER]
    before = counts()
    single_sign_on.set_groups("casey", ["it-admins"])
    try:
        browser.hashdesk.logout()
        browser.sign_in("casey")
    finally:
        single_sign_on.set_groups("casey", ["it-agents", "finance"])

    assert signed_in_as(browser) == casey
    assert counts() == before
    assert roles(casey) == [Role.ADMINISTRATOR, Role.REQUESTER]
    change = AuditEntry.objects.get(action="user.roles", object_id=str(casey.pk))
    assert change.before == {"roles": [Role.AGENT, Role.REQUESTER]}
    assert change.after == {"roles": [Role.ADMINISTRATOR, Role.REQUESTER]}


def test_an_existing_account_is_linked_by_its_verified_email(
    single_sign_on: Provider, browser: Browser, requester: User
) -> None:
    browser.sign_in("river")
    assert signed_in_as(browser) == requester
    assert OidcIdentity.objects.get(user=requester).subject
    assert User.objects.count() == 1

    browser.hashdesk.logout()
    browser.provider.cookies.clear()  # signed out at the provider too
    message = refusal(browser.sign_in("robin"))  # same address, another person at the provider
    assert "linked to someone else" in message
    assert signed_in_as(browser) is None and OidcIdentity.objects.count() == 1


def test_an_unverified_email_is_not_matched_to_an_account(
    single_sign_on: Provider, browser: Browser, vpn_agent: User
) -> None:
    before = counts()
    message = refusal(browser.sign_in("uma"))
    assert "not verified your email address" in message
    assert signed_in_as(browser) is None and counts() == before


def test_without_just_in_time_accounts_a_stranger_is_refused(
    single_sign_on: Provider, browser: Browser, settings: Any
) -> None:
    settings.OIDC_CREATE_USERS = False
    message = refusal(browser.sign_in("dana"))
    assert "no Hashdesk account for you" in message
    assert signed_in_as(browser) is None and counts() == (0, 0)


def test_a_forged_state_is_refused(single_sign_on: Provider, browser: Browser) -> None:
    callback = browser.at_provider(browser.start(), "dana")
    state = callback.split("state=")[1].split("&")[0]
    message = refusal(browser.finish(callback.replace(state, "forged-" + state)))
    assert "no longer valid" in message
    assert signed_in_as(browser) is None and counts() == (0, 0)


def test_a_replayed_callback_is_refused(single_sign_on: Provider, browser: Browser) -> None:
    callback = browser.at_provider(browser.start(), "dana")
    browser.finish(callback)
    browser.hashdesk.logout()
    assert "no longer valid" in refusal(browser.finish(callback))
    assert signed_in_as(browser) is None


def test_a_token_for_another_nonce_is_refused(single_sign_on: Provider, browser: Browser) -> None:
    callback = browser.at_provider(browser.start(), "dana")
    session = browser.hashdesk.session
    flows = session[SESSION_KEY]
    for flow in flows.values():
        flow["nonce"] = "a-nonce-from-another-sign-in"
    session[SESSION_KEY] = flows
    session.save()
    message = refusal(browser.finish(callback))
    assert "could not be verified" in message
    assert signed_in_as(browser) is None and counts() == (0, 0)


def test_consent_refused_at_the_provider(single_sign_on: Provider, browser: Browser) -> None:
    callback = browser.at_provider(browser.start(), "dana", approve=False)
    assert "error=access_denied" in callback
    assert "cancelled or refused" in refusal(browser.finish(callback))
    assert counts() == (0, 0)


def test_a_provider_that_is_not_the_configured_issuer_is_refused(
    single_sign_on: Provider, browser: Browser, settings: Any
) -> None:
    # Same server under another name: its discovery document names a different issuer.
    settings.OIDC_ISSUER = single_sign_on.issuer.replace("127.0.0.1", "localhost")
    response = browser.hashdesk.get("/integrations/oidc/login/")
    assert "issuer mismatch" in refusal(response)


def test_single_sign_on_only_refuses_passwords(
    single_sign_on: Provider, browser: Browser, settings: Any, requester: User
) -> None:
    settings.OIDC_ONLY = True
    page = browser.hashdesk.get("/accounts/sign-in/").content.decode()
    assert "Sign in with Example Corp" in page and 'name="password"' not in page
    response = browser.hashdesk.post(
        "/accounts/sign-in/",
        {"email": requester.email, "password": "correct-horse-battery-staple"},
    )
    assert response.status_code == 403
    assert signed_in_as(browser) is None


def test_off_without_an_issuer(browser: Browser, settings: Any) -> None:
    settings.OIDC_ISSUER = ""
    assert browser.hashdesk.get("/integrations/oidc/login/").status_code == 404
    assert "Sign in with" not in browser.hashdesk.get("/accounts/sign-in/").content.decode()
