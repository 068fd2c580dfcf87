"""Success rates of changes (docs/changes.md, "Success rates")."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from hashdesk.accounts.models import Team, User
from hashdesk.catalog.models import Service
from hashdesk.changes import stats
from hashdesk.changes.choices import AffectedReason, ChangeState
from hashdesk.changes.models import AffectedService, Change
from tests.api.support import ApiCaller, assert_problem, raw_token
from tests.changes.comms_support import scheduled_change

pytestmark = pytest.mark.django_db

S = ChangeState


def ended(owner: User, services: list[Service], state: str, days_ago: int, team: Team) -> Change:
    began = timezone.now() - timedelta(days=days_ago)
    change = scheduled_change(owner, services, began, state=state)
    change.actual_start = began
    change.owner_team = team
    change.save()
    return change


@pytest.fixture
def history(
    vpn_agent: User, vpn_service: Service, sso_service: Service, network_team: Team
) -> dict[str, Any]:
    for state in (S.CLOSED, S.CLOSED, S.REVIEW, S.FAILED, S.CANCELLED, S.IMPLEMENTING):
        ended(vpn_agent, [vpn_service], state, 5, network_team)
    ended(vpn_agent, [sso_service], S.BACKED_OUT, 5, network_team)
    ended(vpn_agent, [vpn_service], S.FAILED, 100, network_team)  # long ago
    return {"vpn": vpn_service, "sso": sso_service, "team": network_team}


def test_rates_per_service_count_ended_changes_in_the_period(
    history: dict[str, Any], sso_service: Service, django_assert_num_queries: Any
) -> None:
    since = timezone.now() - timedelta(days=30)
    # Derived services were only at risk: they do not count.
    AffectedService.objects.create(
        change=Change.objects.filter(state=S.CLOSED).earliest("pk"),
        service=sso_service,
        reason=AffectedReason.DERIVED,
        distance=1,
    )
    with django_assert_num_queries(1):
        rates = stats.by_service(start=since)
    assert [(r.name, r.succeeded, r.failed, r.rate) for r in rates] == [
        ("Single sign-on", 0, 1, 0.0),
        ("VPN", 3, 1, 0.75),
    ]
    [everything] = stats.by_service(service_id=history["vpn"].pk)
    assert (everything.succeeded, everything.failed) == (3, 2)


def test_rates_per_team(history: dict[str, Any], django_assert_num_queries: Any) -> None:
    since = timezone.now() - timedelta(days=30)
    with django_assert_num_queries(1):
        [team] = stats.by_team(start=since, end=timezone.now())
    assert (team.name, team.succeeded, team.failed, team.rate) == (
        history["team"].name,
        3,
        2,
        0.6,
    )
    assert stats.by_team(start=since, team_id=history["team"].pk + 1000) == []


def test_stats_through_the_api(history: dict[str, Any], vpn_agent: User, requester: User) -> None:
    staff = ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(vpn_agent)}"})

    found = staff.get("/api/v1/changes/stats", data={"service": "vpn"})

    assert found.status_code == 200, found.content
    body = json.loads(found.content)
    assert body["teams"] == []
    assert [(r["name"], r["succeeded"], r["failed"]) for r in body["services"]] == [("VPN", 3, 2)]
    by_team = json.loads(
        staff.get("/api/v1/changes/stats", data={"team": history["team"].slug}).content
    )
    assert by_team["services"] == [] and by_team["teams"][0]["rate"] == 0.5  # all time
    assert_problem(staff.get("/api/v1/changes/stats", data={"service": "nope"}), 404)
    backwards = {"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}
    assert_problem(staff.get("/api/v1/changes/stats", data=backwards), 422)
    outsider = ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(requester)}"})
    assert_problem(outsider.get("/api/v1/changes/stats"), 403)
