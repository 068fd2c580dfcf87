"""Who may call the API: tokens (scopes, expiry, revocation), sessions with CSRF, rate limits."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from hashdesk.accounts import actions as account_actions
from hashdesk.accounts.models import ApiToken
from hashdesk.catalog.models import Service
from tests.api.support import ApiCaller, assert_problem, raw_token

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw}"})


def test_a_valid_token_reads_and_records_its_use(requester):
    raw = raw_token(requester, "read")
    response = bearer(raw).get("/api/v1/me")
    assert response.status_code == 200
    assert json.loads(response.content)["email"] == requester.email
    assert ApiToken.objects.get(user=requester).last_used_at is not None


def test_no_credentials_is_401_with_www_authenticate(anonymous):
    response = anonymous.get("/api/v1/services")
    assert_problem(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer hd_nonsense",
        "Bearer hd_0123456789ab_wrongsecret",
        "Basic dXNlcjpwdw==",
        "hd_x",
    ],
)
def test_malformed_or_unknown_tokens_are_401(header, requester):
    raw_token(requester)  # a real token exists; these are not it
    response = ApiCaller(Client(), {"HTTP_AUTHORIZATION": header}).get("/api/v1/me")
    assert_problem(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_401(requester):
    raw = raw_token(requester)
    ApiToken.objects.filter(user=requester).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_problem(bearer(raw).get("/api/v1/me"), 401, "unauthenticated")


def test_a_revoked_token_is_401_and_revoking_goes_through_the_api(requester):
    raw = raw_token(requester)
    caller = bearer(raw)
    token = ApiToken.objects.get(user=requester)
    assert caller.delete(f"/api/v1/me/tokens/{token.pk}").status_code == 204
    assert_problem(caller.get("/api/v1/me"), 401, "unauthenticated")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_a_deactivated_persons_token_stops_working(administrator, requester):
    raw = raw_token(requester)
    account_actions.do_set_active(administrator, requester, active=False)
    assert_problem(bearer(raw).get("/api/v1/me"), 401)


def test_a_bad_token_does_not_fall_back_to_the_session(as_session, requester):
    caller = as_session(requester)
    response = caller.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer hd_0123456789ab_nope")
    assert_problem(response, 401)


def test_a_read_token_cannot_write_and_nothing_changes(administrator, nothing_changes):
    caller = bearer(raw_token(administrator, "read"))
    with nothing_changes():
        response = caller.post("/api/v1/services", {"name": "Printing", "hashtag": "print"})
    problem = assert_problem(response, 403, "forbidden")
    assert "read-only" in problem["detail"]
    assert not Service.objects.exists()


def test_session_reads_need_no_csrf_token(as_session, requester):
    response = as_session(requester, csrf=False).get("/api/v1/me")
    assert response.status_code == 200


def test_session_write_without_csrf_is_403_and_changes_nothing(
    as_session, requester, nothing_changes
):
    caller = as_session(requester, csrf=False)
    with nothing_changes():
        response = caller.patch("/api/v1/me", {"display_name": "Changed"})
    assert_problem(response, 403, "csrf_failed")
    requester.refresh_from_db()
    assert requester.display_name != "Changed"


def test_session_write_with_csrf_token_succeeds(as_session, requester):
    response = as_session(requester).patch("/api/v1/me", {"display_name": "Renamed Person"})
    assert response.status_code == 200
    requester.refresh_from_db()
    assert requester.display_name == "Renamed Person"


def test_a_session_creates_a_token_whose_secret_is_shown_once(as_session, requester):
    caller = as_session(requester)
    response = caller.post("/api/v1/me/tokens", {"name": "CI", "scope": "read"})
    assert response.status_code == 201
    created = json.loads(response.content)
    assert created["secret"].startswith(f"hd_{created['token']['prefix']}_")
    assert created["token"]["scope"] == "read" and created["token"]["revoked"] is False
    # The new token works, and nothing ever shows its secret again.
    assert bearer(created["secret"]).get("/api/v1/me").status_code == 200
    listing = caller.get("/api/v1/me/tokens").content.decode()
    assert created["secret"] not in listing
    assert created["secret"].split("_", 2)[2] not in listing


def test_a_token_cannot_mint_tokens(requester, nothing_changes):
    caller = bearer(raw_token(requester, "write"))
    with nothing_changes():
        response = caller.post("/api/v1/me/tokens", {"name": "More"})
    assert_problem(response, 403, "forbidden")
    assert ApiToken.objects.filter(user=requester).count() == 1


def test_token_creation_validates_its_input(as_session, requester, nothing_changes):
    caller = as_session(requester)
    with nothing_changes():
        for body in (
            {"name": ""},
            {"name": "x", "scope": "admin"},
            {"name": "x", "expires_in_days": 0},
            {"name": "x", "expires_in_days": 10_000},
            {"name": "x", "expires_in_days": "30"},
            {"name": "x", "scope": None},
            {"name": "x", "owner": 3},
        ):
            assert_problem(caller.post("/api/v1/me/tokens", body), 422, "invalid")
        # Longer than the installation allows (HASHDESK_API_TOKEN_MAX_DAYS, 365 by default).
        problem = assert_problem(
            caller.post("/api/v1/me/tokens", {"name": "x", "expires_in_days": 400}), 422
        )
        assert problem["errors"][0]["field"] == "expires_in_days"
    assert not ApiToken.objects.exists()


def test_revoking_someone_elses_token_is_404(requester, other_requester):
    raw_token(other_requester)
    theirs = ApiToken.objects.get(user=other_requester)
    caller = bearer(raw_token(requester))
    assert_problem(caller.delete(f"/api/v1/me/tokens/{theirs.pk}"), 404)
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_revoking_twice_is_a_conflict(requester, as_session):
    raw_token(requester)
    token = ApiToken.objects.get(user=requester)
    caller = as_session(requester)
    assert caller.delete(f"/api/v1/me/tokens/{token.pk}").status_code == 204
    assert_problem(caller.delete(f"/api/v1/me/tokens/{token.pk}"), 409, "conflict")


@override_settings(RATE_LIMITS={"api-read": (3, 60), "api-write": (1, 60)})
def test_reads_over_the_limit_are_429_with_retry_after(requester, other_requester):
    caller = bearer(raw_token(requester, "read"))
    for _ in range(3):
        assert caller.get("/api/v1/me").status_code == 200
    response = caller.get("/api/v1/me")
    assert_problem(response, 429, "rate_limited")
    assert 1 <= int(response["Retry-After"]) <= 60
    # The limit is per client: someone else is not affected.
    assert bearer(raw_token(other_requester, "read")).get("/api/v1/me").status_code == 200


@override_settings(RATE_LIMITS={"api-read": (100, 60), "api-write": (1, 60)})
def test_writes_have_their_own_limit_and_a_limited_write_changes_nothing(
    requester, nothing_changes
):
    caller = bearer(raw_token(requester, "write"))
    assert caller.patch("/api/v1/me", {"department": "Legal"}).status_code == 200
    with nothing_changes():
        response = caller.patch("/api/v1/me", {"department": "Sales"})
    assert_problem(response, 429, "rate_limited")
    assert response["Retry-After"]
    requester.refresh_from_db()
    assert requester.department == "Legal"
    assert caller.get("/api/v1/me").status_code == 200


@override_settings(RATE_LIMITS={"api-read": (2, 60), "api-write": (2, 60)})
def test_failed_authentication_is_rate_limited_per_address(anonymous):
    for _ in range(2):
        assert_problem(anonymous.get("/api/v1/me"), 401)
    assert_problem(anonymous.get("/api/v1/me"), 429)
