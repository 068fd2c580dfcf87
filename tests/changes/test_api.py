"""The changes API: request, list with filters, read, update, lifecycle, approvals, templates."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, get_args

import pytest
from django.http import HttpResponse
from django.test import Client

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.models import Service
from hashdesk.changes import actions, approvals, risk, schemas
from hashdesk.changes.choices import ApprovalDecision, ChangeState, ChangeType, Risk
from hashdesk.changes.models import Change
from hashdesk.changes.schemas import QuestionKey
from hashdesk.core.models import Event
from tests.api.support import ApiCaller, assert_problem, raw_token
from tests.changes.core_support import ALL_ANSWERS_SAFE, new_change, soon

pytestmark = pytest.mark.django_db


def api(person: User) -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person, 'write')}"})


def body(response: HttpResponse) -> Any:
    return json.loads(response.content)


def payload(**fields: Any) -> dict[str, Any]:
    return {
        "summary": "Upgrade the VPN concentrators",
        "services": ["vpn"],
        "implementation_plan": "Fail over, upgrade, fail back.",
        "backout_plan": "Reinstall the previous image.",
        "planned_start": soon().isoformat(),
        "planned_end": soon(hours=2).isoformat(),
        "time_zone": "Europe/Madrid",
        "risk_answers": ALL_ANSWERS_SAFE,
        **fields,
    }


def test_the_apis_vocabularies_are_the_models() -> None:
    assert set(get_args(QuestionKey)) == risk.QUESTION_KEYS
    assert set(get_args(schemas.ChangeTypeName)) == set(ChangeType.values)
    assert set(get_args(schemas.ChangeStateName)) == set(ChangeState.values)
    assert set(get_args(schemas.RiskName)) == set(Risk.values)
    assert set(get_args(schemas.DecisionName)) == set(ApprovalDecision.values)


def test_request_read_and_list_a_change(vpn_agent: User, vpn_service: Service) -> None:
    caller = api(vpn_agent)
    created = caller.post("/api/v1/changes", payload())
    assert created.status_code == 201, created.content
    change = body(created)
    assert change["number"].startswith("CHG-") and change["state"] == "draft"
    assert change["affected"] == [
        {
            "service": {"slug": "vpn", "name": "VPN", "hashtag": "vpn", "criticality": "high"},
            "reason": "chosen",
            "distance": 0,
        }
    ]
    assert change["time_zone"] == "Europe/Madrid" and change["version"] == 1
    read = body(caller.get(f"/api/v1/changes/{change['number'].lower()}"))
    assert read["id"] == change["id"]
    listed = body(caller.get("/api/v1/changes?state=draft&service=vpn"))
    assert [c["number"] for c in listed["items"]] == [change["number"]]
    assert body(caller.get("/api/v1/changes?state=scheduled"))["items"] == []
    later = soon(days=30).isoformat().replace("+00:00", "Z")
    assert body(caller.get(f"/api/v1/changes?from={later}"))["items"] == []


def test_the_list_pages_with_a_cursor(vpn_agent: User, vpn_service: Service) -> None:
    made = [new_change(vpn_agent, [vpn_service], summary=f"Change {n}") for n in range(3)]
    caller = api(vpn_agent)
    first = body(caller.get("/api/v1/changes?limit=2"))
    second = body(caller.get(f"/api/v1/changes?limit=2&cursor={first['next_cursor']}"))
    numbers = [c["number"] for c in first["items"] + second["items"]]
    assert numbers == [c.number for c in reversed(made)] and second["next_cursor"] is None


@pytest.mark.parametrize(
    ("fields", "status", "field"),
    [
        ({"planned_end": soon(hours=-1).isoformat()}, 422, "planned_end"),
        (
            {"planned_start": soon(days=-2).isoformat(), "planned_end": soon().isoformat()},
            422,
            "planned_start",
        ),
        ({"services": ["nowhere"]}, 404, "services"),
        ({"configuration_items": [424242]}, 404, "configuration_items"),
        ({"template": 424242, "type": "standard"}, 404, "template"),
    ],
)
def test_bad_requests_change_nothing(
    vpn_agent: User, vpn_service: Service, fields: dict[str, Any], status: int, field: str
) -> None:
    caller = api(vpn_agent)
    before = Event.objects.count()
    problem = assert_problem(caller.post("/api/v1/changes", payload(**fields)), status)
    assert problem["errors"][0]["field"] == field
    assert not Change.objects.exists() and Event.objects.count() == before


def test_requesters_cannot_request_and_do_not_see_planned_changes(
    vpn_agent: User, requester: User, vpn_service: Service
) -> None:
    assert_problem(api(requester).post("/api/v1/changes", payload()), 403)
    change = new_change(vpn_agent, [vpn_service])
    assert_problem(api(requester).get(f"/api/v1/changes/{change.number}"), 404)
    assert body(api(requester).get("/api/v1/changes"))["items"] == []


def test_update_and_a_stale_version(vpn_agent: User, vpn_service: Service) -> None:
    change = new_change(vpn_agent, [vpn_service])
    caller = api(vpn_agent)
    url = f"/api/v1/changes/{change.number}"
    updated = caller.patch(url, {"version": 1, "summary": "Upgrade, take two"})
    assert updated.status_code == 200, updated.content
    assert body(updated)["summary"] == "Upgrade, take two" and body(updated)["version"] == 2
    stale = assert_problem(caller.patch(url, {"version": 1, "summary": "Lost"}), 409)
    assert stale["current_version"] == 2


def test_lifecycle_and_approvals_through_the_api(
    vpn_agent: User, make_person: Callable[..., User], vpn_service: Service
) -> None:
    approver = make_person("cab@example.test", roles=[Role.CHANGE_MANAGER])
    approvals.do_create_approver_group(
        None, name="CAB", members=[approver], change_types=["normal"], quorum=1
    )
    change = new_change(vpn_agent, [vpn_service])
    caller, url = api(vpn_agent), f"/api/v1/changes/{change.number}"
    assessed = caller.post(f"{url}/transition", {"to": "assess", "version": 1})
    assert body(assessed)["state"] == "assess", assessed.content
    illegal = assert_problem(caller.post(f"{url}/transition", {"to": "closed", "version": 2}), 409)
    assert illegal["allowed"] == ["authorise", "cancelled"]
    caller.post(f"{url}/transition", {"to": "authorise", "version": 2})
    refused = assert_problem(
        caller.post(f"{url}/transition", {"to": "scheduled", "version": 3}), 409
    )
    assert refused["missing_groups"] == ["CAB"]
    own = assert_problem(caller.post(f"{url}/decision", {"approve": True}), 403)
    assert "own change" in own["detail"]
    listed = body(api(approver).get(f"{url}/approvals"))
    assert [(a["group"], a["decision"]) for a in listed["approvals"]] == [("CAB", "pending")]
    decided = api(approver).post(f"{url}/decision", {"approve": True, "comment": "Go."})
    assert body(decided)["missing_groups"] == [], decided.content
    assert_problem(api(approver).post(f"{url}/decision", {"approve": True}), 409)
    scheduled = caller.post(f"{url}/transition", {"to": "scheduled", "version": 3})
    assert body(scheduled)["state"] == ChangeState.SCHEDULED, scheduled.content
    assert AuditEntry.objects.filter(action="change.approve").count() == 1


def test_templates_for_staff(vpn_agent: User, requester: User) -> None:
    actions.do_create_template(
        None, name="Restart a server", implementation_plan="Restart.", backout_plan="None."
    )
    old = actions.do_create_template(None, name="Old", implementation_plan="x", backout_plan="y")
    actions.do_retire_template(None, old)
    assert [t["name"] for t in body(api(vpn_agent).get("/api/v1/changes/templates"))] == [
        "Restart a server"
    ]
    assert body(api(requester).get("/api/v1/changes/templates")) == []


def test_reading_a_change_costs_few_queries(
    vpn_agent: User, vpn_service: Service, django_assert_max_num_queries: Any
) -> None:
    change = new_change(vpn_agent, [vpn_service])
    caller = api(vpn_agent)
    caller.get("/api/v1/changes")  # warm the token's first use
    with django_assert_max_num_queries(12):
        assert caller.get(f"/api/v1/changes/{change.number}").status_code == 200


def test_the_list_costs_the_same_queries_at_any_size(
    vpn_agent: User, vpn_service: Service, query_count: Any
) -> None:
    caller = api(vpn_agent)
    caller.get("/api/v1/changes")  # the token's first use is recorded once
    counts = []
    for size in (2, 6):
        while Change.objects.count() < size:
            new_change(vpn_agent, [vpn_service])
        with query_count() as ctx:
            assert len(body(caller.get("/api/v1/changes"))["items"]) == size
        counts.append(len(ctx))
    assert counts[0] == counts[1]
