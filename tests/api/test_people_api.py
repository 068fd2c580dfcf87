"""People and team administration through the API: who may, bad input, audit rows."""

from __future__ import annotations

import json

import pytest

from hashdesk.accounts import actions
from hashdesk.accounts.models import Team, TeamMembership, User
from hashdesk.audit.models import AuditEntry
from hashdesk.core.models import OutboxMessage
from tests.api.support import assert_problem

pytestmark = pytest.mark.django_db


def body(response):
    return json.loads(response.content)


# --- Reading people ---------------------------------------------------------------------------


def test_people_list_is_cursor_paged_and_searchable(as_token, administrator, requester, vpn_agent):
    caller = as_token(administrator, "read")
    first = body(caller.get("/api/v1/people?limit=2"))
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = body(caller.get(f"/api/v1/people?limit=2&cursor={first['next_cursor']}"))
    emails = [p["email"] for p in first["items"] + rest["items"]]
    assert sorted(emails) == sorted(
        ["admin@example.test", "requester@example.test", "vpn.agent@example.test"]
    )
    found = body(caller.get("/api/v1/people?q=finance"))["items"]
    assert [p["email"] for p in found] == ["requester@example.test"]
    assert found[0]["roles"] == ["requester"]


def test_people_list_query_count_is_constant(as_token, administrator, query_count):
    caller = as_token(administrator, "read")
    caller.get("/api/v1/people")  # the first call marks the token used; not part of the list
    for number in range(3):
        actions.do_create_user(None, email=f"p{number}@example.test", display_name=f"P {number}")
    with query_count() as few:
        caller.get("/api/v1/people")
    for number in range(3, 20):
        actions.do_create_user(None, email=f"p{number}@example.test", display_name=f"P {number}")
    with query_count() as many:
        caller.get("/api/v1/people")
    assert len(many) == len(few)


def test_requesters_see_only_active_people(as_token, administrator, requester, vpn_agent):
    actions.do_set_active(administrator, vpn_agent, active=False)
    caller = as_token(requester, "read")
    emails = [p["email"] for p in body(caller.get("/api/v1/people"))["items"]]
    assert "vpn.agent@example.test" not in emails
    assert_problem(caller.get(f"/api/v1/people/{vpn_agent.pk}"), 404)
    admin_view = as_token(administrator, "read").get(f"/api/v1/people/{vpn_agent.pk}")
    assert body(admin_view)["is_active"] is False


def test_person_detail_shows_teams(as_token, requester, vpn_agent, network_team):
    person = body(as_token(requester, "read").get(f"/api/v1/people/{vpn_agent.pk}"))
    assert person["teams"] == [{"slug": "network", "name": "Network", "role": "member"}]
    assert person["roles"] == ["agent"]


# --- Creating and changing people ---------------------------------------------------------------


def test_administrator_creates_a_person_who_gets_a_password_mail(as_token, administrator):
    response = as_token(administrator).post(
        "/api/v1/people",
        {"email": "New.Hire@example.test", "display_name": "New Hire", "roles": ["agent"]},
    )
    assert response.status_code == 201
    created = body(response)
    assert created["email"] == "new.hire@example.test" and created["roles"] == ["agent"]
    person = User.objects.get(pk=created["id"])
    assert AuditEntry.objects.filter(action="user.create", object_id=str(person.pk)).exists()
    # The caller's own token mail (account notices are emailed) is not the new person's.
    (invitation,) = OutboxMessage.objects.exclude(kind="account.token_created")
    assert invitation.payload["to"] == ["new.hire@example.test"]


@pytest.mark.parametrize("role", ["requester_", "vpn_agent", "change_manager"])
def test_only_administrators_create_people(
    as_token, role, nothing_changes, requester, vpn_agent, change_manager
):
    person = {"requester_": requester, "vpn_agent": vpn_agent, "change_manager": change_manager}[
        role
    ]
    caller = as_token(person)
    with nothing_changes():
        response = caller.post("/api/v1/people", {"email": "x@example.test", "display_name": "X"})
    assert_problem(response, 403)
    assert not User.objects.filter(email="x@example.test").exists()


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"email": "requester@example.test", "display_name": "Twin"}, 409),
        ({"email": "x@example.test", "display_name": "X", "roles": ["wizard"]}, 422),
        ({"email": "x@example.test", "display_name": "X", "time_zone": "Mars/Base"}, 422),
        ({"email": "x@example.test", "display_name": "X", "password": "secret"}, 422),
        ({"email": "not an email", "display_name": "X"}, 422),
        ({"email": "x@example.test", "display_name": ""}, 422),
        ({"email": "x@example.test", "display_name": "X", "is_vip": "yes"}, 422),
    ],
)
def test_bad_new_person_changes_nothing(
    as_token, administrator, requester, payload, status, nothing_changes
):
    caller = as_token(administrator)
    people = User.objects.count()
    with nothing_changes():
        response = caller.post("/api/v1/people", payload)
    assert_problem(response, status)
    assert User.objects.count() == people
    assert not OutboxMessage.objects.exclude(kind="account.token_created").exists()


def test_administrator_patches_profile_roles_and_activity(as_token, administrator, requester):
    response = as_token(administrator).patch(
        f"/api/v1/people/{requester.pk}",
        {"is_vip": True, "roles": ["requester", "agent"], "is_active": False},
    )
    assert response.status_code == 200, response.content
    assert body(response)["roles"] == ["agent", "requester"]
    requester.refresh_from_db()
    assert requester.is_vip and not requester.is_active
    actions_written = set(
        AuditEntry.objects.filter(object_id=str(requester.pk)).values_list("action", flat=True)
    )
    assert {"user.update", "user.roles", "user.deactivate"} <= actions_written


def test_failed_patch_rolls_back_every_part(as_token, administrator, nothing_changes):
    caller = as_token(administrator)
    with nothing_changes():
        response = caller.patch(
            f"/api/v1/people/{administrator.pk}", {"display_name": "Renamed", "roles": ["agent"]}
        )
    assert_problem(response, 422)
    administrator.refresh_from_db()
    assert administrator.display_name != "Renamed" and administrator.has_role("administrator")


@pytest.mark.parametrize(
    "payload",
    [{}, {"email": "new@example.test"}, {"is_active": None}, {"roles": "agent"}, {"site": 3}],
)
def test_bad_patch_is_refused(as_token, administrator, requester, payload, nothing_changes):
    caller = as_token(administrator)
    with nothing_changes():
        response = caller.patch(f"/api/v1/people/{requester.pk}", payload)
    assert_problem(response, 422)


def test_non_administrators_cannot_patch_people(as_token, vpn_agent, requester, nothing_changes):
    caller = as_token(vpn_agent)
    with nothing_changes():
        response = caller.patch(f"/api/v1/people/{requester.pk}", {"is_vip": True})
    assert_problem(response, 403)


def test_read_token_cannot_write(as_token, administrator, requester, nothing_changes):
    caller = as_token(administrator, "read")
    with nothing_changes():
        response = caller.patch(f"/api/v1/people/{requester.pk}", {"is_vip": True})
    assert_problem(response, 403)


# --- Teams ------------------------------------------------------------------------------------


def test_administrator_creates_a_team(as_token, administrator):
    response = as_token(administrator).post(
        "/api/v1/teams", {"name": "Service desk", "email": "desk@example.test"}
    )
    assert response.status_code == 201
    assert body(response)["slug"] == "service-desk" and body(response)["members"] == []
    team = Team.objects.get(slug="service-desk")
    assert AuditEntry.objects.filter(action="team.create", object_id=str(team.pk)).exists()


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"name": "network"}, 409),
        ({"name": ""}, 422),
        ({"name": "Desk", "slug": "Not A Slug"}, 422),
        ({"name": "Desk", "lead": "someone"}, 422),
    ],
)
def test_bad_team_changes_nothing(
    as_token, administrator, network_team, payload, status, nothing_changes
):
    caller = as_token(administrator)
    with nothing_changes():
        response = caller.post("/api/v1/teams", payload)
    assert_problem(response, status)
    assert Team.objects.count() == 1


def test_requester_cannot_create_teams(as_token, requester, nothing_changes):
    caller = as_token(requester)
    with nothing_changes():
        assert_problem(caller.post("/api/v1/teams", {"name": "Mine"}), 403)


def test_administrator_adds_and_removes_a_member(as_token, administrator, requester, network_team):
    caller = as_token(administrator)
    response = caller.post(
        "/api/v1/teams/network/members", {"email": "Requester@example.test", "role": "lead"}
    )
    assert response.status_code == 201
    assert body(response)["person"]["id"] == requester.pk and body(response)["role"] == "lead"
    assert AuditEntry.objects.filter(action="team.member_add").count() == 2  # fixture + this
    removed = caller.delete(f"/api/v1/teams/network/members/{requester.pk}")
    assert removed.status_code == 204
    assert not TeamMembership.objects.filter(team=network_team, user=requester).exists()
    assert AuditEntry.objects.filter(action="team.member_remove").count() == 1


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"email": "vpn.agent@example.test"}, 409),
        ({"email": "nobody@example.test"}, 422),
        ({"email": "requester@example.test", "role": "boss"}, 422),
        ({"user_id": 1}, 422),
    ],
)
def test_bad_member_changes_nothing(
    as_token, administrator, requester, vpn_agent, network_team, payload, status, nothing_changes
):
    caller = as_token(administrator)
    with nothing_changes():
        response = caller.post("/api/v1/teams/network/members", payload)
    assert_problem(response, status)


def test_member_changes_need_an_administrator(
    as_token, vpn_agent, requester, network_team, nothing_changes
):
    caller = as_token(vpn_agent)
    with nothing_changes():
        assert_problem(
            caller.post("/api/v1/teams/network/members", {"email": requester.email}), 403
        )
        assert_problem(caller.delete(f"/api/v1/teams/network/members/{vpn_agent.pk}"), 403)


def test_unknown_team_or_member_is_404(as_token, administrator, requester, network_team):
    caller = as_token(administrator)
    assert_problem(caller.post("/api/v1/teams/nope/members", {"email": requester.email}), 404)
    assert_problem(caller.delete(f"/api/v1/teams/network/members/{requester.pk}"), 404)


def test_malformed_member_id_is_a_422_problem(as_token, administrator, network_team):
    assert_problem(as_token(administrator).delete("/api/v1/teams/network/members/-1"), 422)


@pytest.mark.django_db
def test_vip_status_is_shown_to_staff_and_to_the_person_only(
    as_token, make_person, requester, vpn_agent
):
    vip = make_person("ceo@example.test", is_vip=True)
    for viewer, shown in [(requester, None), (vpn_agent, True), (vip, True)]:
        body = as_token(viewer, "read").get(f"/api/v1/people/{vip.pk}").json()
        assert body["is_vip"] is shown, viewer.email
        listed = as_token(viewer, "read").get("/api/v1/people?q=ceo").json()["items"]
        assert [p["is_vip"] for p in listed] == [shown], viewer.email
