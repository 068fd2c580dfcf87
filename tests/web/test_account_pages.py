"""Sign-in, sign-out, password reset, profile and API token pages."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from hashdesk.accounts.models import ApiToken, User
from hashdesk.accounts.tokens import authenticate_token
from hashdesk.audit.models import AuditEntry
from hashdesk.core.models import OutboxMessage
from tests.conftest import PASSWORD
from tests.web.conftest import assert_shell_rules

pytestmark = pytest.mark.django_db

SIGN_IN = "/accounts/sign-in/"
GENERIC_FAILURE = "That email address and password do not match."


def sign_in(client: Client, email: str, password: str, **extra: Any) -> Any:
    return client.post(SIGN_IN, {"email": email, "password": password, **extra})


# --- Sign-in ------------------------------------------------------------------------------------


def test_signing_in_opens_a_fresh_session_and_goes_home(requester: User) -> None:
    client = Client()
    client.get(SIGN_IN)
    before = client.session.session_key
    response = sign_in(client, "Requester@Example.test ", PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")
    assert client.session.session_key != before  # the session key is cycled
    assert int(client.session["_auth_user_id"]) == requester.pk
    assert AuditEntry.objects.filter(action="user.sign_in", object_id=str(requester.pk)).exists()


def test_sign_in_follows_next_only_within_the_site(requester: User) -> None:
    response = sign_in(Client(), requester.email, PASSWORD, next="/catalogue/")
    assert response["Location"] == "/catalogue/"
    response = sign_in(Client(), requester.email, PASSWORD, next="https://evil.example/")
    assert response["Location"] == reverse("web:home")


def test_a_wrong_password_reads_the_same_as_an_unknown_address(requester: User) -> None:
    wrong = sign_in(Client(), requester.email, "not-the-password")
    unknown = sign_in(Client(), "nobody@example.test", "not-the-password")
    for response in (wrong, unknown):
        assert response.status_code == 400
        html = response.content.decode()
        assert GENERIC_FAILURE in html
        assert "_auth_user_id" not in response.wsgi_request.session
        assert_shell_rules(html)
        # The error summary links nowhere in particular and the fields are marked.
        assert 'role="alert"' in html
    requester.refresh_from_db()
    assert requester.failed_sign_ins == 1


def test_invalid_form_input_marks_the_fields() -> None:
    response = Client().post(SIGN_IN, {"email": "not-an-address", "password": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_email_error"' in html
    assert 'id="id_email_error"' in html
    assert '<a href="#id_email">' in html  # the summary links to the field


@override_settings(SIGN_IN_MAX_FAILURES=3, SIGN_IN_LOCKOUT_MINUTES=15)
def test_repeated_failures_lock_the_account_and_say_for_how_long(requester: User) -> None:
    client = Client()
    for _ in range(2):
        assert GENERIC_FAILURE in sign_in(client, requester.email, "wrong").content.decode()
    third = sign_in(client, requester.email, "wrong").content.decode()
    assert "Too many failed sign-ins for this account. Try again in 15 minutes" in third
    # While locked, even the right password does not get in.
    locked = sign_in(client, requester.email, PASSWORD)
    assert locked.status_code == 400
    assert "Try again in 15 minutes" in locked.content.decode()
    requester.refresh_from_db()
    assert requester.is_locked()


@override_settings(SIGN_IN_MAX_FAILURES=3, SIGN_IN_LOCKOUT_MINUTES=15)
def test_addresses_without_an_account_lock_the_same_way(db: Any) -> None:
    """The lock message must not tell an attacker which addresses have accounts."""
    client = Client()
    messages = [sign_in(client, "ghost@example.test", "wrong").content.decode() for _ in range(4)]
    assert GENERIC_FAILURE in messages[0] and GENERIC_FAILURE in messages[1]
    assert "Try again in 15 minutes" in messages[2]
    assert "Try again in 15 minutes" in messages[3]


@override_settings(RATE_LIMITS={"sign-in": (2, 60)}, RATE_LIMITS_ENABLED=True)
def test_sign_in_is_rate_limited_per_network_address(requester: User) -> None:
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(2):
        assert sign_in(client, requester.email, "wrong").status_code == 400
    refused = sign_in(client, requester.email, PASSWORD)
    assert refused.status_code == 429
    assert "Too many sign-in attempts from your network" in refused.content.decode()
    assert "_auth_user_id" not in refused.wsgi_request.session
    # Another address is not affected.
    other = Client(REMOTE_ADDR="203.0.113.10")
    assert sign_in(other, requester.email, PASSWORD).status_code == 302


def test_signing_out_takes_a_post(browser_for: Any, requester: User) -> None:
    client = browser_for(requester)
    assert client.get("/accounts/sign-out/").status_code == 405
    assert client.get("/").status_code == 200
    response = client.post("/accounts/sign-out/")
    assert response["Location"] == reverse("accounts:sign-in")
    assert client.get("/").status_code == 302
    assert "You are signed out." in client.get(SIGN_IN).content.decode()


# --- Password reset ---------------------------------------------------------------------------


def _reset_path(message: OutboxMessage) -> str:
    match = re.search(
        r"https?://[^/\s]+(/accounts/password-reset/[^\s]+/)", message.payload["text"]
    )
    assert match, message.payload["text"]
    return match.group(1)


def test_password_reset_end_to_end(requester: User) -> None:
    client = Client()
    response = client.post("/accounts/password-reset/", {"email": requester.email})
    assert response["Location"] == reverse("accounts:password-reset-sent")
    message = OutboxMessage.objects.get(channel="email")
    assert message.payload["to"] == [requester.email]
    link = _reset_path(message)

    # The token leaves the address bar at once (kept in the session instead).
    opened = client.get(link)
    assert opened.status_code == 302
    assert opened["Location"].endswith("/set-password/")
    form_url = opened["Location"]
    assert "Choose a new password" in client.get(form_url).content.decode()

    mismatch = client.post(
        form_url, {"new_password": "a-new-long-secret", "new_password_again": "different-one"}
    )
    assert "The two passwords are not the same." in mismatch.content.decode()
    too_weak = client.post(form_url, {"new_password": "12345", "new_password_again": "12345"})
    assert too_weak.status_code == 400
    assert 'id="id_new_password_error"' in too_weak.content.decode()

    done = client.post(
        form_url, {"new_password": "a-new-long-secret", "new_password_again": "a-new-long-secret"}
    )
    assert done["Location"] == reverse("accounts:sign-in")
    assert sign_in(Client(), requester.email, "a-new-long-secret").status_code == 302
    # The link works once.
    again = Client().get(link)
    assert again.status_code == 400
    assert "This link no longer works" in again.content.decode()


def test_password_reset_answers_the_same_for_unknown_addresses(db: Any) -> None:
    response = Client().post("/accounts/password-reset/", {"email": "nobody@example.test"})
    assert response["Location"] == reverse("accounts:password-reset-sent")
    assert not OutboxMessage.objects.exists()


def test_a_forged_reset_link_is_refused(requester: User) -> None:
    response = Client().get("/accounts/password-reset/MQ/forged-token/")
    assert response.status_code == 400
    response = Client().get("/accounts/password-reset/not-base64!/set-password/")
    assert response.status_code == 400


@override_settings(RATE_LIMITS={"password-reset": (1, 3600)}, RATE_LIMITS_ENABLED=True)
def test_password_reset_requests_are_rate_limited(requester: User) -> None:
    client = Client()
    client.post("/accounts/password-reset/", {"email": requester.email})
    refused = client.post("/accounts/password-reset/", {"email": requester.email})
    assert refused.status_code == 429
    assert OutboxMessage.objects.count() == 1


# --- Profile and password -------------------------------------------------------------------


def test_people_edit_their_own_profile(browser_for: Any, requester: User) -> None:
    client = browser_for(requester)
    page = client.get("/accounts/profile/")
    assert page.status_code == 200
    assert 'value="Europe/Berlin"' in page.content.decode()
    response = client.post(
        "/accounts/profile/",
        {
            "profile-display_name": "Rita Requester",
            "profile-department": "Finance",
            "profile-site": "Building B",
            "profile-time_zone": "Europe/Berlin",
        },
    )
    assert response.status_code == 302
    requester.refresh_from_db()
    assert (requester.display_name, requester.site, requester.time_zone) == (
        "Rita Requester",
        "Building B",
        "Europe/Berlin",
    )
    entry = AuditEntry.objects.filter(action="user.update").latest("sequence")
    assert entry.after is not None and entry.after["site"] == "Building B"


def test_bad_profile_input_changes_nothing(browser_for: Any, requester: User) -> None:
    response = browser_for(requester).post(
        "/accounts/profile/",
        {
            "profile-display_name": "",
            "profile-time_zone": "Mars/Olympus_Mons",
            "profile-site": "x" * 101,
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "There are 3 problems" in html
    requester.refresh_from_db()
    assert requester.display_name == "Requester" and requester.time_zone == "UTC"


def test_changing_the_password_needs_the_current_one(browser_for: Any, requester: User) -> None:
    client = browser_for(requester)
    wrong = client.post(
        "/accounts/profile/password/",
        {
            "password-current_password": "not-it",
            "password-new_password": "another-long-secret",
            "password-new_password_again": "another-long-secret",
        },
    )
    assert wrong.status_code == 400
    assert "The current password is not correct." in wrong.content.decode()
    done = client.post(
        "/accounts/profile/password/",
        {
            "password-current_password": PASSWORD,
            "password-new_password": "another-long-secret",
            "password-new_password_again": "another-long-secret",
        },
    )
    assert done.status_code == 302
    # This session stays signed in; the new password works.
    assert client.get("/").status_code == 200
    requester.refresh_from_db()
    assert requester.check_password("another-long-secret")


# --- API tokens ---------------------------------------------------------------------------------


def test_a_new_token_is_shown_once_and_works(browser_for: Any, requester: User) -> None:
    client = browser_for(requester)
    response = client.post(
        "/accounts/tokens/",
        {"token-name": "monitoring script", "token-scope": "read", "token-expires_in_days": "30"},
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    raw = re.search(r'id="new-token-value">(hd_[^<]+)<', html)
    assert raw, html
    token = authenticate_token(raw.group(1))
    assert token is not None and token.user == requester and token.name == "monitoring script"
    assert raw.group(1) not in token.secret_hash
    assert_shell_rules(html)
    # Never again: the list shows only the public prefix.
    later = client.get("/accounts/tokens/").content.decode()
    assert raw.group(1) not in later
    assert f"hd_{token.prefix}_" in later
    assert "monitoring script" in later


def test_bad_token_input_creates_nothing(browser_for: Any, requester: User) -> None:
    response = browser_for(requester).post(
        "/accounts/tokens/",
        {"token-name": " ", "token-scope": "admin", "token-expires_in_days": "9999"},
    )
    assert response.status_code == 400
    assert "There are 3 problems" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_a_token_asks_first_and_then_ends_it(browser_for: Any, requester: User) -> None:
    from hashdesk.accounts.actions import do_create_api_token

    token, raw = do_create_api_token(requester, name="old laptop")
    client = browser_for(requester)
    confirm = client.get(f"/accounts/tokens/{token.pk}/revoke/")
    assert "stop working at once" in confirm.content.decode()
    assert authenticate_token(raw) is not None  # asking changed nothing
    response = client.post(f"/accounts/tokens/{token.pk}/revoke/")
    assert response["Location"] == reverse("accounts:tokens")
    assert authenticate_token(raw) is None
    page = client.get("/accounts/tokens/").content.decode()
    assert "Revoked" in page and "is revoked; it no longer works" in page
    # Revoking twice explains itself instead of failing.
    again = client.post(f"/accounts/tokens/{token.pk}/revoke/", follow=True)
    assert "This token is already revoked." in again.content.decode()


def test_other_peoples_tokens_are_out_of_reach(
    browser_for: Any, requester: User, administrator: User
) -> None:
    from hashdesk.accounts.actions import do_create_api_token

    token, raw = do_create_api_token(requester, name="mine")
    client = browser_for(administrator)
    assert client.get(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    assert "mine" not in client.get("/accounts/tokens/").content.decode()
    assert authenticate_token(raw) is not None
