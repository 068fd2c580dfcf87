"""Who sees, hears and may write in which room: every kind of room against every kind of
person, member or not (docs/chat.md, "Visibility"). One table; each row is checked through
``visible_to`` (rooms and their messages), ``can_subscribe`` (the live stream), sending (the
action) and the API (404 for what one may not see, 403 for what one sees but may not do)."""

from __future__ import annotations

import pytest
from django.test import Client

from hashdesk.accounts.choices import Role
from hashdesk.catalog.choices import Visibility
from hashdesk.chat import actions
from hashdesk.chat.choices import Lane, RoomKind
from hashdesk.chat.models import Conversation, Message, Room
from hashdesk.chat.visibility import member_sees
from hashdesk.core import streams
from hashdesk.core.errors import Forbidden, NotFound
from hashdesk.core.visibility import can_subscribe, visible_to
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.models import Incident
from tests.api.support import ApiCaller, raw_token

PEOPLE = ("requester", "other_requester", "agent", "other_agent")

# room: which of PEOPLE see it, and which are its members (S: sees, M: member too, -: neither;
# "m": a member who must still not see it, by a mistaken membership).
MATRIX = {
    "service room, public service": "M S M S",
    "service room, confidential service": "- - M S",
    "war room, responders lane": "- m M S",
    "war room, read-and-ask lane": "M - M S",
    "confidential war room, responders lane": "- - M -",
    "confidential war room, read-and-ask lane": "M - M -",
    "help room": "M - M S",
}


@pytest.fixture
def people(requester, other_requester, vpn_agent, make_person):
    other_agent = make_person("other.agent@example.test", roles=[Role.AGENT])
    return dict(zip(PEOPLE, (requester, other_requester, vpn_agent, other_agent), strict=True))


def _war_rooms(incident: Incident) -> tuple[Room, Room]:
    return tuple(  # type: ignore[return-value]
        Room.objects.create(
            kind=RoomKind.WAR_ROOM, incident=incident, lane=lane, name=f"{incident.number} {lane}"
        )
        for lane in (Lane.RESPONDERS, Lane.PUBLIC)
    )


@pytest.fixture
def rooms(people, vpn_room, confidential_room, vpn_service):
    incident = incident_actions.do_create_incident(
        people["requester"], title="VPN down", description="", service=vpn_service
    )
    responders, public = _war_rooms(incident)
    secret = incident_actions.do_create_incident(
        people["requester"], title="Breach", description="", service=vpn_service
    )
    Incident.objects.filter(pk=secret.pk).update(visibility=Visibility.CONFIDENTIAL)
    secret_responders, secret_public = _war_rooms(Incident.objects.get(pk=secret.pk))
    help_room = Room.objects.create(kind=RoomKind.HELP, name="Help: VPN")
    Conversation.objects.create(room=help_room, requester=people["requester"], topic="VPN")
    return dict(
        zip(
            MATRIX,
            (
                vpn_room,
                confidential_room,
                responders,
                public,
                secret_responders,
                secret_public,
                help_room,
            ),
            strict=True,
        )
    )


@pytest.fixture
def matrix(people, rooms):
    """(room name, room, person name, person, sees, member) for every cell, members added."""
    cells = []
    for name, row in MATRIX.items():
        room = rooms[name]
        for (who, person), mark in zip(people.items(), row.split(), strict=True):
            if mark in {"M", "m"}:
                actions.add_member(room, person)
            cells.append((name, room, who, person, mark in {"M", "S"}, mark in {"M", "m"}))
        # One message in each room, by no one in particular.
        Message.objects.create(room=room, body=f"in the {name}")
    return cells


def test_rooms_and_their_messages_are_seen_as_the_table_says(matrix):
    for name, room, who, person, sees, _member in matrix:
        seen = visible_to(person, Room.objects.filter(pk=room.pk)).exists()
        assert seen == sees, f"{who} / {name}"
        heard = visible_to(person, Message.objects.filter(room=room)).exists()
        assert heard == sees, f"{who} / {name} (messages)"


def test_only_members_who_see_the_room_hear_it_live(matrix):
    for name, room, who, person, sees, member in matrix:
        expected = sees and member
        assert can_subscribe(person, streams.room(room.pk)) == expected, f"{who} / {name}"


def test_the_quick_answer_for_members_agrees_with_the_rule(matrix):
    """Sending asks ``member_sees`` instead of the whole rule: for members they must agree."""
    for name, room, who, person, sees, member in matrix:
        if member:
            assert member_sees(person, room) == sees, f"{who} / {name}"


def test_only_members_who_see_the_room_send(matrix):
    for name, room, who, person, sees, member in matrix:
        if sees and member:
            assert actions.do_send_message(person, room, body="hello").created
            continue
        with pytest.raises(NotFound if not sees else Forbidden):
            actions.do_send_message(person, room, body="hello")
        assert not Message.objects.filter(room=room, author=person).exists(), f"{who} / {name}"


def test_the_api_answers_404_for_unseen_and_403_for_not_allowed(matrix):
    callers = {}
    for name, room, who, person, sees, member in matrix:
        if who not in callers:
            callers[who] = ApiCaller(
                Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person)}"}
            )
        api = callers[who]
        message = Message.objects.filter(room=room, author__isnull=True).get()
        expected_read = 200 if sees else 404
        assert api.get(f"/api/v1/chat/rooms/{room.pk}").status_code == expected_read, who
        history = api.get(f"/api/v1/chat/rooms/{room.pk}/messages")
        assert history.status_code == expected_read, f"{who} / {name}"
        thread = api.get(f"/api/v1/chat/messages/{message.pk}/thread")
        assert thread.status_code == expected_read, f"{who} / {name}"
        sent = api.post(f"/api/v1/chat/rooms/{room.pk}/messages", {"body": "hi"})
        expected_send = 201 if sees and member else 403 if sees else 404
        assert sent.status_code == expected_send, f"{who} / {name}: {sent.content!r}"
        react = api.post(f"/api/v1/chat/messages/{message.pk}/reactions", {"emoji": "+1"})
        assert react.status_code == (200 if sees and member else 403 if sees else 404)
        listed = {r["id"] for r in api.get("/api/v1/chat/rooms").json()["items"]}
        assert (room.pk in listed) == (sees and member), f"{who} / {name} (my rooms)"
