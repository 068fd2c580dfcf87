"""The live-help API: opening, the queue, picking up, transferring, closing, filing and linking
(docs/api.md, "Chat: live help")."""

from __future__ import annotations

import json

import pytest

from hashdesk.accounts.choices import Role
from hashdesk.chat import actions
from hashdesk.chat.models import Conversation, Message
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.models import AffectedUser, Attachment, Incident
from tests.api.support import assert_problem

pytestmark = pytest.mark.django_db

BASE = "/api/v1/chat/conversations"


@pytest.fixture(autouse=True)
def _roomy_message_limit(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "chat_message": (1000, 60)}


def body(response):
    return json.loads(response.content)


@pytest.fixture
def agent_api(as_token, vpn_agent):
    return as_token(vpn_agent)


@pytest.fixture
def requester_api(as_token, requester):
    return as_token(requester)


def open_one(api, topic="VPN keeps dropping", **extra):
    payload = {"topic": topic, "body": "My #vpn drops every ten minutes.", **extra}
    response = api.post(BASE, payload)
    assert response.status_code in (200, 201), response.content
    return response


def test_open_then_the_same_key_again(requester_api, vpn_service):
    first = open_one(requester_api, client_key="k-1")
    again = open_one(requester_api, client_key="k-1")
    assert first.status_code == 201 and again.status_code == 200
    opened = body(first)
    assert body(again)["id"] == opened["id"]
    assert opened["state"] == "waiting" and opened["service"]["slug"] == vpn_service.slug
    assert opened["agent"] is None and opened["agent_read_message_id"] == 0
    assert Conversation.objects.count() == 1


def test_bad_input_is_refused(requester_api, nothing_changes):
    with nothing_changes():
        assert_problem(requester_api.post(BASE, {"topic": "", "body": "x"}), 422)
        assert_problem(requester_api.post(BASE, {"topic": "x", "body": "hi", "extra": 1}), 422)
        assert_problem(requester_api.post(BASE, {"topic": "x", "body": "   "}), 422)
    assert not Conversation.objects.exists()


def test_the_queue_and_my_conversations(requester_api, agent_api, as_token, other_requester):
    mine = body(open_one(requester_api, topic="Older"))
    theirs = body(open_one(as_token(other_requester), topic="Newer"))
    queue = body(agent_api.get(f"{BASE}?state=waiting"))
    assert [c["id"] for c in queue["items"]] == [mine["id"], theirs["id"]]
    assert queue["items"][0]["waiting_seconds"] >= 0
    own = body(requester_api.get(BASE))
    assert [c["id"] for c in own["items"]] == [mine["id"]]
    assert_problem(requester_api.get(f"{BASE}/{theirs['id']}"), 404)


def test_pick_up_race_transfer_and_close(
    requester_api, agent_api, as_token, make_person, network_team
):
    second = make_person("second.agent@example.test", roles=[Role.AGENT])
    second_api = as_token(second)
    conversation = body(open_one(requester_api))
    url = f"{BASE}/{conversation['id']}"

    assert_problem(requester_api.post(f"{url}/pick-up"), 403)
    taken = body(agent_api.post(f"{url}/pick-up"))
    assert taken["state"] == "active" and taken["agent"]["display_name"] == "Vpn Agent"
    assert_problem(second_api.post(f"{url}/pick-up"), 409)

    moved = body(agent_api.post(f"{url}/transfer", {"agent_id": second.pk}))
    assert moved["agent"]["id"] == second.pk
    assert_problem(agent_api.post(f"{url}/transfer", {}), 422)
    back = body(second_api.post(f"{url}/transfer", {"team_id": network_team.pk}))
    assert back["state"] == "waiting" and back["team"]["slug"] == network_team.slug

    closed = body(requester_api.post(f"{url}/close", {"resolved": False}))
    assert closed["state"] == "closed" and closed["closed_at"]
    assert_problem(requester_api.post(f"{url}/close", {"resolved": False}), 409)


def test_read_receipts_on_the_detail(requester_api, agent_api, vpn_agent):
    conversation = body(open_one(requester_api))
    url = f"{BASE}/{conversation['id']}"
    agent_api.post(f"{url}/pick-up")
    room = Conversation.objects.get(pk=conversation["id"]).room
    first = Message.objects.filter(room=room).first()
    actions.do_mark_read(vpn_agent, room, first.pk)
    assert body(requester_api.get(url))["agent_read_message_id"] == first.pk


def test_file_as_incident_and_link(
    requester_api, agent_api, requester, other_requester, vpn_service
):
    conversation = body(open_one(requester_api))
    url = f"{BASE}/{conversation['id']}"
    agent_api.post(f"{url}/pick-up")
    assert_problem(requester_api.post(f"{url}/file-incident", {}), 403)
    filed = agent_api.post(f"{url}/file-incident", {"resolved_on_first_contact": True})
    assert filed.status_code == 201, filed.content
    number = body(filed)["incident"]["number"]
    assert body(filed)["incident"]["state"] == "resolved"
    assert body(filed)["resolved_on_first_contact"]
    incident = Incident.objects.get(number=number)
    assert incident.reporter == requester and incident.source == "chat"
    assert Attachment.objects.filter(incident=incident).count() == 1
    assert_problem(agent_api.post(f"{url}/file-incident", {}), 409)

    other = incident_actions.do_create_incident(
        other_requester, title="VPN down", description="", service=vpn_service
    )
    second = body(open_one(requester_api, topic="Still the VPN"))
    second_url = f"{BASE}/{second['id']}"
    assert_problem(agent_api.post(f"{second_url}/link-incident", {"number": "INC-999999"}), 404)
    linked = body(agent_api.post(f"{second_url}/link-incident", {"number": other.number}))
    assert linked["incident"]["number"] == other.number
    assert AffectedUser.objects.filter(incident=other, user=requester).exists()


def test_filing_without_a_detected_service_names_the_field(requester_api, agent_api, sso_service):
    conversation = body(requester_api.post(BASE, {"topic": "Help", "body": "Something broke"}))
    url = f"{BASE}/{conversation['id']}/file-incident"
    problem = assert_problem(agent_api.post(url, {}), 422)
    assert "service" in json.dumps(problem)
    assert_problem(agent_api.post(url, {"service": "no-such-service"}), 422)
    filed = agent_api.post(url, {"service": sso_service.slug, "title": "SSO broken"})
    assert filed.status_code == 201
