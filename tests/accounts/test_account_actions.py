"""Account actions: people, roles, lock-out and API tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from tests.conftest import PASSWORD

from hashdesk.accounts import actions
from hashdesk.accounts.backends import EmailBackend
from hashdesk.accounts.models import ApiToken, User
from hashdesk.accounts.tokens import authenticate_token
from hashdesk.audit.models import AuditEntry
from hashdesk.core.errors import Conflict, Forbidden, ValidationFailed
from hashdesk.notify.models import Notification


@pytest.mark.django_db
def test_people_have_roles_and_staff_status(requester, vpn_agent, administrator):
    assert requester.roles == {"requester"} and not requester.is_service_desk_staff
    assert vpn_agent.is_service_desk_staff
    assert administrator.has_perm("catalog.change_service")
    assert not vpn_agent.has_perm("catalog.change_service")


@pytest.mark.django_db
def test_duplicate_email_and_unknown_role_are_refused(make_person, requester):
    with pytest.raises(Conflict):
        make_person("REQUESTER@example.test")
    with pytest.raises(ValidationFailed):
        make_person("new@example.test", roles=["wizard"])
    assert User.objects.count() == 1


@pytest.mark.django_db
def test_weak_passwords_are_refused(make_person):
    with pytest.raises(ValidationFailed) as caught:
        make_person("weak@example.test", password="password")
    assert caught.value.field == "password"


@pytest.mark.django_db
def test_people_edit_their_profile_but_not_their_vip_flag(requester, administrator):
    actions.do_update_profile(requester, requester, display_name="Robin Requester")
    with pytest.raises(Forbidden):
        actions.do_update_profile(requester, requester, is_vip=True)
    actions.do_update_profile(administrator, requester, is_vip=True)
    requester.refresh_from_db()
    assert requester.display_name == "Robin Requester" and requester.is_vip
    with pytest.raises(ValidationFailed):
        actions.do_update_profile(requester, requester, time_zone="Mars/Olympus")


@pytest.mark.django_db
@override_settings(SIGN_IN_MAX_FAILURES=3, SIGN_IN_LOCKOUT_MINUTES=15)
def test_repeated_failures_lock_the_account(requester):
    backend = EmailBackend()
    for _ in range(3):
        assert backend.authenticate(None, username=requester.email, password="nope") is None
        actions.record_sign_in_failure(requester.email)
    requester.refresh_from_db()
    assert requester.is_locked()
    # Even the right password is refused while locked.
    assert backend.authenticate(None, username=requester.email, password=PASSWORD) is None
    assert AuditEntry.objects.filter(action="user.locked").count() == 1
    User.objects.filter(pk=requester.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert backend.authenticate(None, username=requester.email, password=PASSWORD) == requester


@pytest.mark.django_db
def test_token_is_shown_once_stored_hashed_and_authenticates(requester, capture_events):
    with capture_events() as events:
        token, raw = actions.do_create_api_token(requester, name="laptop script", scope="write")
    assert raw.startswith("hd_") and raw.split("_", 2)[2] not in token.secret_hash
    assert authenticate_token(raw) == token
    assert authenticate_token(raw + "x") is None
    assert authenticate_token("garbage") is None
    assert {e.type for e in events} == {"api_token", "notification"}
    assert Notification.objects.filter(recipient=requester, kind="account.token_created").exists()


@pytest.mark.django_db
def test_revoked_and_expired_tokens_do_not_authenticate(requester, other_requester):
    token, raw = actions.do_create_api_token(requester, name="ci")
    with pytest.raises(Exception, match="No such token"):
        actions.do_revoke_api_token(other_requester, token.pk)
    actions.do_revoke_api_token(requester, token.pk)
    assert authenticate_token(raw) is None
    with pytest.raises(Conflict):
        actions.do_revoke_api_token(requester, token.pk)
    token2, raw2 = actions.do_create_api_token(requester, name="old", expires_in_days=1)
    ApiToken.objects.filter(pk=token2.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert authenticate_token(raw2) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "scope", "days"),
    [
        ("", "read", 30),
        ("x" * 101, "read", 30),
        ("ok", "admin", 30),
        ("ok", "read", 0),
        ("ok", "read", 10_000),
    ],
)
def test_bad_token_requests_change_nothing(requester, name, scope, days):
    with pytest.raises(ValidationFailed):
        actions.do_create_api_token(requester, name=name, scope=scope, expires_in_days=days)
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_deactivating_a_person_revokes_their_tokens(requester, administrator):
    _, raw = actions.do_create_api_token(requester, name="ci")
    actions.do_set_active(administrator, requester, active=False)
    assert authenticate_token(raw) is None
    with pytest.raises(ValidationFailed):
        actions.do_set_active(administrator, administrator, active=False)


def test_passwords_are_hashed_with_argon2():
    from hashdesk import settings as product_settings

    assert product_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
