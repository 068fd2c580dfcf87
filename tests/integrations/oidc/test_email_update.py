"""At each single sign-on the account's email address follows the provider's verified one,
through accounts.actions.do_change_email; an unverified or taken address is not taken over."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.integrations.oidc.models import OidcIdentity
from tests.integrations.oidc.conftest import Browser, Provider

pytestmark = pytest.mark.django_db

CASEY = "casey@example.test"


@pytest.fixture
def casey(single_sign_on: Provider, browser: Browser) -> Iterator[User]:
    """Casey, signed in once (account created), then signed out; the provider's record of
    Casey's address is put back afterwards (the provider outlives each test)."""
    browser.sign_in("casey")
    browser.hashdesk.logout()
    try:
        yield User.objects.get(email=CASEY)
    finally:
        single_sign_on.set_email("casey", CASEY, verified=True)


def audit(user: User, action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_id=str(user.pk), action=action))


def test_a_verified_new_address_replaces_the_old_one(
    single_sign_on: Provider, browser: Browser, casey: User
) -> None:
    single_sign_on.set_email("casey", "Casey.Moved@example.test")
    people = User.objects.count()

    browser.sign_in("casey")

    casey.refresh_from_db()
    assert casey.email == "casey.moved@example.test"
    assert browser.hashdesk.session["_auth_user_id"] == str(casey.pk)
    assert User.objects.count() == people and OidcIdentity.objects.count() == 1
    (change,) = audit(casey, "user.email_change")
    assert change.actor_id is None
    assert change.before == {"email": CASEY}
    assert change.after == {"email": "casey.moved@example.test"}
    assert audit(casey, "oidc.email_kept") == []


def test_an_unverified_new_address_is_not_taken_over(
    single_sign_on: Provider, browser: Browser, casey: User
) -> None:
    single_sign_on.set_email("casey", "casey.moved@example.test", verified=False)

    browser.sign_in("casey")

    casey.refresh_from_db()
    assert casey.email == CASEY
    assert browser.hashdesk.session["_auth_user_id"] == str(casey.pk)  # still signed in
    assert audit(casey, "user.email_change") == []
    (kept,) = audit(casey, "oidc.email_kept")
    assert kept.before == {"email": CASEY}
    assert kept.after == {
        "provider_email": "casey.moved@example.test",
        "reason": "unverified",
        "issuer": single_sign_on.issuer,
    }


def test_an_address_another_account_holds_is_not_taken_over(
    single_sign_on: Provider, browser: Browser, casey: User, requester: User
) -> None:
    single_sign_on.set_email("casey", requester.email)

    browser.sign_in("casey")

    casey.refresh_from_db()
    requester.refresh_from_db()
    assert casey.email == CASEY and requester.email == "requester@example.test"
    assert browser.hashdesk.session["_auth_user_id"] == str(casey.pk)
    assert audit(casey, "user.email_change") == []
    (kept,) = audit(casey, "oidc.email_kept")
    assert kept.after == {
        "provider_email": "requester@example.test",
        "reason": "taken",
        "issuer": single_sign_on.issuer,
    }


def test_an_unchanged_address_writes_nothing_more(
    single_sign_on: Provider, browser: Browser, casey: User
) -> None:
    browser.sign_in("casey")

    assert audit(casey, "user.email_change") == []
    assert audit(casey, "oidc.email_kept") == []
