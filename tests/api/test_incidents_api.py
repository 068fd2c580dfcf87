"""The incidents API: list, detail, report, change, lifecycle, assignment, timeline, people."""

from __future__ import annotations

import json

import pytest

from hashdesk.catalog.choices import Visibility
from hashdesk.incidents import actions
from hashdesk.incidents.models import AffectedUser, Incident, IncidentFollower, TimelineEntry
from tests.api.support import assert_problem

pytestmark = pytest.mark.django_db


def body(response):
    return json.loads(response.content)


@pytest.fixture
def agent_api(as_token, vpn_agent):
    return as_token(vpn_agent)


@pytest.fixture
def requester_api(as_token, requester):
    return as_token(requester)


@pytest.fixture
def vpn_incident(requester, vpn_service) -> Incident:
    return actions.do_create_incident(
        requester,
        title="VPN drops every ten minutes",
        description="Since this morning the **VPN** disconnects.",
        service=vpn_service,
        category="network",
    )


def report(person, service, title="Printer jammed", **fields) -> Incident:
    return actions.do_create_incident(
        person, title=title, description="", service=service, **fields
    )


def path(incident: Incident, suffix: str = "") -> str:
    return f"/api/v1/incidents/{incident.number}{suffix}"


# --- Reading ------------------------------------------------------------------------------------


def test_list_is_newest_first_with_refs_and_counts(agent_api, vpn_incident, other_requester):
    actions.do_add_affected_user(None, vpn_incident, other_requester)
    newer = report(other_requester, vpn_incident.service, title="Newer")

    items = body(agent_api.get("/api/v1/incidents"))["items"]

    assert [i["number"] for i in items] == [newer.number, vpn_incident.number]
    first = items[1]
    assert first["service"]["slug"] == "vpn"
    assert first["reporter"]["display_name"] == "Requester"
    assert "email" not in first["reporter"]
    assert first["affected_count"] == 2
    vpn_incident.refresh_from_db()
    assert first["state"] == "new" and first["version"] == vpn_incident.version


def test_list_filters(
    agent_api, vpn_agent, network_team, vpn_incident, other_requester, sso_service
):
    sso = report(other_requester, sso_service, title="SSO loops")
    actions.do_assign(vpn_agent, sso, expected_version=sso.version, assignee=vpn_agent)

    def numbers(query):
        response = agent_api.get(f"/api/v1/incidents?{query}")
        assert response.status_code == 200, response.content
        return [i["number"] for i in body(response)["items"]]

    assert numbers("state=assigned") == [sso.number]
    assert numbers("state=new,assigned") == [sso.number, vpn_incident.number]
    assert numbers("state=new&state=closed") == [vpn_incident.number]
    assert numbers("service=vpn") == [vpn_incident.number]
    assert numbers("assignee=me") == [sso.number]
    assert numbers(f"assignee={vpn_agent.pk}") == [sso.number]
    assert numbers("q=loops") == [sso.number]
    assert numbers(f"q={vpn_incident.number.lower()}") == [vpn_incident.number]
    assert numbers("is_major=true") == []
    assert numbers("priority=5") == [sso.number, vpn_incident.number]


def test_list_filters_of_mine(requester_api, requester, vpn_incident, other_requester):
    theirs = report(other_requester, vpn_incident.service, title="Theirs")
    actions.do_add_affected_user(None, theirs, requester)

    def numbers(query):
        return [i["number"] for i in body(requester_api.get(f"/api/v1/incidents?{query}"))["items"]]

    assert numbers("reporter=me") == [vpn_incident.number]
    assert numbers("affected=me") == [theirs.number, vpn_incident.number]


def test_list_pages_with_a_cursor(agent_api, requester, vpn_service):
    made = [report(requester, vpn_service, title=f"Incident {n}") for n in range(3)]

    first = body(agent_api.get("/api/v1/incidents?limit=2"))
    second = body(agent_api.get(f"/api/v1/incidents?limit=2&cursor={first['next_cursor']}"))

    assert [i["number"] for i in first["items"] + second["items"]] == [
        m.number for m in reversed(made)
    ]
    assert second["next_cursor"] is None


@pytest.mark.parametrize("query", ["state=open", "state=new,", "assignee=you", "priority=6"])
def test_bad_filters_are_422(agent_api, query):
    assert_problem(agent_api.get(f"/api/v1/incidents?{query}"), 422, "invalid")


def test_list_queries_do_not_grow_with_the_rows(agent_api, requester, vpn_service, query_count):
    def queries_for_list():
        agent_api.get("/api/v1/incidents")  # warm: last_used_at is written at most once a minute
        with query_count() as ctx:
            response = agent_api.get("/api/v1/incidents?limit=100")
        assert response.status_code == 200
        return len(ctx), len(body(response)["items"])

    for n in range(5):
        report(requester, vpn_service, title=f"Incident {n}")
    few, five = queries_for_list()
    for n in range(20):
        report(requester, vpn_service, title=f"More {n}")
    many, twenty_five = queries_for_list()

    assert (five, twenty_five) == (5, 25)
    assert few == many


def test_detail_has_record_relation_and_timeline(agent_api, vpn_agent, vpn_incident):
    actions.do_add_update(vpn_agent, vpn_incident, body="Looking at the *gateway*", public=True)
    actions.do_add_update(vpn_agent, vpn_incident, body="Gateway log is full", public=False)

    detail = body(agent_api.get(path(vpn_incident)))

    assert (
        detail["description_html"]
        == "<p>Since this morning the <strong>VPN</strong> disconnects.</p>\n"
    )
    assert detail["visibility"] == "internal" and detail["source"] == "web"
    assert detail["is_affected"] is False and detail["is_following"] is False
    assert detail["affected_count"] == 1
    kinds = [e["kind"] for e in detail["timeline"]]
    assert kinds == ["public_update", "work_note"]
    assert detail["timeline"][0]["body_html"] == "<p>Looking at the <em>gateway</em></p>\n"
    assert detail["timeline"][1]["author"]["id"] == vpn_agent.pk


def test_detail_accepts_the_number_in_any_case(agent_api, vpn_incident):
    assert agent_api.get(path(vpn_incident).lower()).status_code == 200


def test_detail_queries_do_not_grow_with_the_timeline(
    agent_api, vpn_agent, vpn_incident, query_count
):
    def queries():
        agent_api.get(path(vpn_incident))
        with query_count() as ctx:
            assert agent_api.get(path(vpn_incident)).status_code == 200
        return len(ctx)

    few = queries()
    for n in range(5):
        actions.do_add_update(vpn_agent, vpn_incident, body=f"Note {n}", public=bool(n % 2))
    assert queries() == few


# --- Permission matrix --------------------------------------------------------------------------


def test_requester_sees_own_affected_and_public_but_never_confidential(
    requester_api, requester, other_requester, vpn_service, vpn_incident
):
    hidden = report(other_requester, vpn_service, title="Someone else's")
    affected = report(other_requester, vpn_service, title="Me too")
    actions.do_add_affected_user(None, affected, requester)
    public = report(other_requester, vpn_service, title="Public outage")
    actions.do_update_incident(
        None, public, expected_version=public.version, visibility=Visibility.PUBLIC
    )
    secret = report(other_requester, vpn_service, title="Confidential")
    actions.do_add_affected_user(None, secret, requester)
    secret.refresh_from_db()
    actions.do_update_incident(
        None, secret, expected_version=secret.version, visibility=Visibility.CONFIDENTIAL
    )

    listed = {i["number"] for i in body(requester_api.get("/api/v1/incidents"))["items"]}

    assert listed == {vpn_incident.number, affected.number, public.number}
    for invisible in (hidden, secret):
        assert_problem(requester_api.get(path(invisible)), 404, "not_found")
        assert_problem(
            requester_api.post(path(invisible, "/updates"), {"body": "hi", "public": True}), 404
        )


def test_requester_never_sees_work_notes(requester_api, vpn_agent, vpn_incident):
    actions.do_add_update(vpn_agent, vpn_incident, body="Public answer", public=True)
    actions.do_add_update(vpn_agent, vpn_incident, body="Secret note", public=False)

    detail = body(requester_api.get(path(vpn_incident)))

    assert detail["is_affected"] is True and detail["is_following"] is True
    assert [e["body"] for e in detail["timeline"]] == ["Public answer"]
    assert "Secret note" not in json.dumps(detail)


def test_requester_cannot_write_work_notes_or_assign(
    requester_api, vpn_agent, vpn_incident, nothing_changes
):
    with nothing_changes():
        assert_problem(
            requester_api.post(path(vpn_incident, "/updates"), {"body": "x", "public": False}), 403
        )
        assert_problem(
            requester_api.post(
                path(vpn_incident, "/assign"), {"version": 1, "assignee": vpn_agent.pk}
            ),
            403,
        )
        assert_problem(requester_api.patch(path(vpn_incident), {"version": 1, "urgency": 1}), 403)


def test_anonymous_gets_401(anonymous, vpn_incident):
    assert_problem(anonymous.get("/api/v1/incidents"), 401)
    assert_problem(anonymous.get(path(vpn_incident)), 401)


# --- Writing ------------------------------------------------------------------------------------


def test_requester_reports_an_incident(requester_api, requester, vpn_service, capture_events):
    with capture_events() as events:
        response = requester_api.post(
            "/api/v1/incidents",
            {"title": "Wi-Fi is down", "description": "On floor 3", "service": "vpn", "urgency": 2},
        )

    assert response.status_code == 201, response.content
    created = body(response)
    incident = Incident.objects.get(number=created["number"])
    assert incident.reporter == requester and incident.source == "api"
    assert created["urgency"] == 2 and created["is_affected"] is True
    assert [(e.type, e.op) for e in events] == [("incident", "create")]


def test_staff_reports_for_someone_else_with_a_configuration_item(
    agent_api, requester, vpn_service
):
    from hashdesk.catalog import actions as catalog_actions

    item = catalog_actions.do_create_configuration_item(None, service=vpn_service, name="vpn-gw")
    response = agent_api.post(
        "/api/v1/incidents",
        {
            "title": "Gateway down",
            "service": "vpn",
            "configuration_item": item.pk,
            "reporter": requester.pk,
            "source": "email",
        },
    )

    assert response.status_code == 201, response.content
    assert body(response)["reporter"]["id"] == requester.pk
    assert body(response)["configuration_item"]["name"] == "vpn-gw"
    # The answer is built from the new record, not read back; it must say what a read says.
    assert body(response) == body(agent_api.get(f"/api/v1/incidents/{body(response)['number']}"))
    assert body(response)["is_affected"] is False and body(response)["is_following"] is False


@pytest.mark.parametrize(
    "payload",
    [
        {"title": "x", "service": "vpn", "colour": "red"},
        {"title": "x", "service": "vpn", "urgency": "1"},
        {"title": "x", "service": "vpn", "urgency": 4},
        {"title": "x" * 201, "service": "vpn"},
        {"title": "   ", "service": "vpn"},
        {"title": "x", "service": "no-such-service"},
        {"title": "x"},
    ],
)
def test_bad_reports_are_422_and_change_nothing(
    requester_api, vpn_service, nothing_changes, payload
):
    with nothing_changes():
        assert_problem(requester_api.post("/api/v1/incidents", payload), 422, "invalid")
    assert not Incident.objects.exists()


def test_requester_cannot_report_on_a_confidential_service(requester_api, security_service):
    response = requester_api.post("/api/v1/incidents", {"title": "x", "service": "secops"})
    assert_problem(response, 422, "invalid")


def test_patch_changes_fields_and_bumps_the_version(agent_api, vpn_incident):
    response = agent_api.patch(path(vpn_incident), {"version": 1, "urgency": 1, "title": "Down"})

    assert response.status_code == 200, response.content
    changed = body(response)
    assert changed["title"] == "Down" and changed["urgency"] == 1
    assert changed["version"] == 2
    assert {e["kind"] for e in changed["timeline"]} >= {"field_change", "priority_change"}


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"version": 7, "title": "Stale"}, 409),
        ({"version": 1}, 422),
        ({"title": "No version"}, 422),
        ({"version": 1, "reporter": 1}, 422),
        ({"version": 1, "is_major": "yes"}, 422),
        ({"version": 1, "title": None}, 422),
    ],
)
def test_bad_patches_change_nothing(agent_api, vpn_incident, nothing_changes, payload, status):
    with nothing_changes():
        assert_problem(agent_api.patch(path(vpn_incident), payload), status)
    vpn_incident.refresh_from_db()
    assert vpn_incident.version == 1 and vpn_incident.title == "VPN drops every ten minutes"


def test_assign_then_transition_through_the_lifecycle(
    agent_api, vpn_agent, network_team, vpn_incident
):
    assigned = body(
        agent_api.post(
            path(vpn_incident, "/assign"),
            {"version": 1, "group": "network", "assignee": vpn_agent.pk},
        )
    )
    assert assigned["state"] == "assigned"
    assert assigned["assignment_group"] == {"slug": "network", "name": "Network"}
    assert assigned["assignee"]["id"] == vpn_agent.pk

    held = agent_api.post(
        path(vpn_incident, "/transition"),
        {"to": "on_hold", "version": assigned["version"], "hold_reason": "awaiting_user"},
    )
    assert held.status_code == 200, held.content
    assert body(held)["hold_reason"] == "awaiting_user"

    resolved = body(
        agent_api.post(
            path(vpn_incident, "/transition"),
            {
                "to": "resolved",
                "version": body(held)["version"],
                "resolution_code": "solved",
                "resolution_notes": "Gateway restarted",
            },
        )
    )
    assert resolved["state"] == "resolved" and resolved["resolution_code"] == "solved"


def test_illegal_and_stale_transitions_change_nothing(agent_api, vpn_incident, nothing_changes):
    with nothing_changes():
        illegal = assert_problem(
            agent_api.post(path(vpn_incident, "/transition"), {"to": "closed", "version": 1}), 422
        )
        assert "resolved" in illegal["allowed"]
        assert_problem(
            agent_api.post(path(vpn_incident, "/transition"), {"to": "in_progress", "version": 2}),
            409,
            "conflict",
        )
        assert_problem(
            agent_api.post(path(vpn_incident, "/transition"), {"to": "gone", "version": 1}), 422
        )
    vpn_incident.refresh_from_db()
    assert vpn_incident.state == "new"


def test_reporter_cancels_own_new_incident(requester_api, vpn_incident):
    response = requester_api.post(
        path(vpn_incident, "/transition"),
        {"to": "cancelled", "version": 1, "resolution_notes": "Works again"},
    )
    assert response.status_code == 200, response.content
    assert body(response)["state"] == "cancelled"


def test_updates_and_work_notes(agent_api, requester_api, vpn_incident):
    response = agent_api.post(path(vpn_incident, "/updates"), {"body": "On it", "public": True})
    assert response.status_code == 201, response.content
    assert body(response)["kind"] == "public_update" and body(response)["is_public"] is True

    note = body(agent_api.post(path(vpn_incident, "/updates"), {"body": "log", "public": False}))
    assert note["kind"] == "work_note" and note["is_public"] is False

    comment = requester_api.post(path(vpn_incident, "/updates"), {"body": "Thanks", "public": True})
    assert comment.status_code == 201


@pytest.mark.parametrize(
    "payload", [{"body": "x"}, {"body": "", "public": True}, {"body": "x", "public": 1}]
)
def test_bad_updates_change_nothing(agent_api, vpn_incident, nothing_changes, payload):
    with nothing_changes():
        assert_problem(agent_api.post(path(vpn_incident, "/updates"), payload), 422)
    assert not TimelineEntry.objects.filter(kind__in=["public_update", "work_note"]).exists()


# --- People -------------------------------------------------------------------------------------


def test_me_too_and_back(as_token, other_requester, vpn_incident):
    actions.do_update_incident(None, vpn_incident, expected_version=1, visibility=Visibility.PUBLIC)
    colleague = as_token(other_requester)

    added = colleague.post(path(vpn_incident, "/affected"))
    assert added.status_code == 201, added.content
    assert body(added)["channel"] == "api"
    assert body(added)["user"]["id"] == other_requester.pk
    assert_problem(colleague.post(path(vpn_incident, "/affected")), 409, "conflict")

    assert colleague.delete(path(vpn_incident, "/affected")).status_code == 204
    assert not AffectedUser.objects.filter(incident=vpn_incident, user=other_requester).exists()
    assert_problem(colleague.delete(path(vpn_incident, "/affected")), 404)


def test_staff_adds_and_removes_an_affected_person(agent_api, other_requester, vpn_incident):
    added = agent_api.post(path(vpn_incident, "/affected-users"), {"user": other_requester.pk})
    assert added.status_code == 201, added.content
    assert AffectedUser.objects.filter(incident=vpn_incident, user=other_requester).exists()

    removed = agent_api.delete(path(vpn_incident, f"/affected-users/{other_requester.pk}"))
    assert removed.status_code == 204


def test_requester_cannot_add_someone_else(
    requester_api, other_requester, vpn_incident, nothing_changes
):
    with nothing_changes():
        response = requester_api.post(
            path(vpn_incident, "/affected-users"), {"user": other_requester.pk}
        )
        assert_problem(response, 403)


def test_follow_and_unfollow(agent_api, vpn_agent, vpn_incident):
    assert agent_api.post(path(vpn_incident, "/follow")).status_code == 204
    assert IncidentFollower.objects.filter(incident=vpn_incident, user=vpn_agent).exists()
    assert body(agent_api.get(path(vpn_incident)))["is_following"] is True
    assert_problem(agent_api.post(path(vpn_incident, "/follow")), 409)

    assert agent_api.delete(path(vpn_incident, "/follow")).status_code == 204
    assert_problem(agent_api.delete(path(vpn_incident, "/follow")), 404)


def test_lists_and_details_show_sla_state_and_breaches_to_staff(as_token, vpn_agent, vpn_service):
    from datetime import timedelta

    from django.utils import timezone

    from hashdesk.incidents import actions as incident_actions
    from hashdesk.incidents.sla import refresh_sla_clocks

    incident = incident_actions.do_create_incident(
        vpn_agent,
        title="VPN down",
        description="",
        service=vpn_service,
        category="network",
        impact=1,
        urgency=1,
    )
    listed = as_token(vpn_agent, "read").get("/api/v1/incidents").json()["items"][0]
    assert listed["sla_state"] == "running" and listed["sla_due_at"] is not None
    refresh_sla_clocks(timezone.now() + timedelta(days=30))
    detail = as_token(vpn_agent, "read").get(f"/api/v1/incidents/{incident.number}")
    assert detail.status_code == 200
    body = detail.json()
    assert body["sla_state"] == "breached"
    assert "sla_breach" in {entry["kind"] for entry in body["timeline"]}
