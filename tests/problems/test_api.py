"""The problems API: create, list with filters, read, patch with version, move, link, publish."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from django.http import HttpResponse
from django.test import Client

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.incidents.models import Incident
from hashdesk.problems import schemas
from hashdesk.problems.choices import ProblemState, RecurrenceKind
from hashdesk.problems.models import Problem
from tests.api.support import ApiCaller, assert_problem, raw_token

pytestmark = pytest.mark.django_db


def api(person: User) -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person, 'write')}"})


def body(response: HttpResponse) -> Any:
    return json.loads(response.content)


def test_vocabularies_are_the_models() -> None:
    assert set(get_args(schemas.ProblemStateName)) == set(ProblemState.values)
    assert set(get_args(schemas.RecurrenceKindName)) == set(RecurrenceKind.values)


def test_create_read_list_and_filter(
    problem_manager: User, vpn_service: Service, vpn_incidents: list[Incident]
) -> None:
    caller = api(problem_manager)
    created = caller.post(
        "/api/v1/problems",
        {"title": "VPN drops", "incidents": [i.number for i in vpn_incidents]},
    )
    assert created.status_code == 201, created.content
    data = body(created)
    assert data["number"].startswith("PRB-") and data["state"] == "new"
    assert [s["slug"] for s in data["services"]] == ["vpn"]
    assert len(data["incidents"]) == 3
    number = data["number"]
    assert body(caller.get(f"/api/v1/problems/{number.lower()}"))["id"] == data["id"]
    listed = body(caller.get("/api/v1/problems?state=new&service=vpn"))
    assert [p["number"] for p in listed["items"]] == [number]
    assert body(caller.get("/api/v1/problems?state=closed"))["items"] == []
    assert body(caller.get("/api/v1/problems?known_error=true"))["items"] == []


def test_requesters_get_404_and_an_empty_list(requester: User, vpn_problem: Problem) -> None:
    caller = api(requester)
    assert_problem(caller.get(f"/api/v1/problems/{vpn_problem.number}"), 404)
    assert body(caller.get("/api/v1/problems"))["items"] == []
    assert_problem(caller.post("/api/v1/problems", {"title": "x"}), 403)


def test_patch_version_transition_and_publish(problem_manager: User, vpn_problem: Problem) -> None:
    caller = api(problem_manager)
    url = f"/api/v1/problems/{vpn_problem.number}"
    patched = caller.patch(
        url,
        {
            "version": vpn_problem.version,
            "root_cause": "Idle timeout on the controller.",
            "workaround": "Use the wired network.",
        },
    )
    assert patched.status_code == 200, patched.content
    stale = caller.patch(url, {"version": vpn_problem.version, "title": "Other"})
    assert_problem(stale, 409)
    refused = caller.post(f"{url}/transition", {"to": "closed", "version": 999})
    assert_problem(refused, 409)
    published = caller.post(f"{url}/known-error", {})
    assert published.status_code == 200, published.content
    data = body(published)
    assert data["state"] == "known_error"
    assert data["known_error_article"]["number"].startswith("KB-")
    moved = caller.post(f"{url}/transition", {"to": "known_error", "version": data["version"]})
    assert_problem(moved, 409)


def test_link_and_unlink_by_number(
    problem_manager: User, vpn_problem: Problem, vpn_incidents: list[Incident]
) -> None:
    caller = api(problem_manager)
    url = f"/api/v1/problems/{vpn_problem.number}"
    first = vpn_incidents[0].number
    assert len(body(caller.delete(f"{url}/incidents/{first}"))["incidents"]) == 2
    assert len(body(caller.post(f"{url}/incidents", {"incidents": [first]}))["incidents"]) == 3
    assert_problem(caller.post(f"{url}/incidents", {"incidents": ["INC-999999"]}), 404)
    assert_problem(caller.post(f"{url}/incidents", {"incidents": []}), 422)
