"""My profile, my tokens and teams through the API."""

from __future__ import annotations

import json

import pytest

from hashdesk.accounts import actions as account_actions
from hashdesk.accounts.models import ApiToken
from hashdesk.audit.models import AuditEntry
from tests.api.support import assert_problem, raw_token

pytestmark = pytest.mark.django_db


def body(response):
    return json.loads(response.content)


def test_me_shows_profile_roles_and_teams(as_token, vpn_agent, network_team):
    me = body(as_token(vpn_agent, "read").get("/api/v1/me"))
    assert me["email"] == "vpn.agent@example.test"
    assert me["roles"] == ["agent"]
    assert me["teams"] == [{"slug": "network", "name": "Network", "role": "member"}]
    assert "password" not in me and "failed_sign_ins" not in me


def test_patch_me_changes_my_profile_through_the_action(as_token, requester):
    response = as_token(requester).patch(
        "/api/v1/me", {"display_name": "Rita Requester", "time_zone": "Europe/Berlin"}
    )
    assert response.status_code == 200
    assert body(response)["time_zone"] == "Europe/Berlin"
    requester.refresh_from_db()
    assert requester.display_name == "Rita Requester"
    assert AuditEntry.objects.filter(action="user.update", object_id=str(requester.pk)).exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"is_vip": True},
        {"email": "boss@example.test"},
        {"time_zone": "Mars/Olympus"},
        {"display_name": ""},
        {"display_name": "x" * 151},
        {"department": ["Finance"]},
        {},
    ],
)
def test_patch_me_refuses_what_i_may_not_or_cannot_set(
    as_token, requester, changes, nothing_changes
):
    caller = as_token(requester)
    with nothing_changes():
        response = caller.patch("/api/v1/me", changes)
    assert_problem(response, 422)
    requester.refresh_from_db()
    assert requester.is_vip is False and requester.email == "requester@example.test"
    assert requester.time_zone == "UTC" and requester.department == "Finance"


def test_my_tokens_are_listed_newest_first_and_only_mine(as_token, requester, other_requester):
    raw_token(other_requester)
    raw_token(requester, "read")
    caller = as_token(requester, "write")
    page = body(caller.get("/api/v1/me/tokens?limit=1"))
    assert [t["name"] for t in page["items"]] == ["write token"]
    rest = body(caller.get(f"/api/v1/me/tokens?cursor={page['next_cursor']}"))
    assert [t["name"] for t in rest["items"]] == ["read token"]
    assert rest["next_cursor"] is None
    assert {t["prefix"] for t in page["items"] + rest["items"]} == set(
        ApiToken.objects.filter(user=requester).values_list("prefix", flat=True)
    )


def test_teams_list_and_detail(as_token, requester, network_team, vpn_agent):
    caller = as_token(requester, "read")
    teams = body(caller.get("/api/v1/teams"))
    assert teams["items"] == [
        {"slug": "network", "name": "Network", "description": "", "email": "", "member_count": 1}
    ]
    detail = body(caller.get("/api/v1/teams/network"))
    assert [m["person"]["email"] for m in detail["members"]] == ["vpn.agent@example.test"]
    assert detail["members"][0]["role"] == "member"
    assert_problem(caller.get("/api/v1/teams/nope"), 404)


def test_deactivated_members_are_hidden_from_colleagues_but_not_administrators(
    as_token, requester, administrator, network_team, vpn_agent, make_person
):
    leaver = make_person("leaver@example.test", roles=["agent"])
    account_actions.do_add_team_member(None, network_team, leaver)
    account_actions.do_set_active(administrator, leaver, active=False)

    def members(caller):
        return [m["person"]["email"] for m in body(caller.get("/api/v1/teams/network"))["members"]]

    assert members(as_token(requester)) == ["vpn.agent@example.test"]
    assert sorted(members(as_token(administrator))) == [
        "leaver@example.test",
        "vpn.agent@example.test",
    ]


def test_token_path_ids_must_be_numbers(as_token, requester):
    assert_problem(as_token(requester).delete("/api/v1/me/tokens/abc"), 404)
