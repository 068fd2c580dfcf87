"""The chat pages with the Django test client: every form works without JavaScript through the
same actions as the API and the WebSocket; bad input re-renders with a message (400) and changes
nothing; rooms and conversations one may not see answer 404; the room page's queries do not grow
with its messages."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.chat import actions, war_rooms
from hashdesk.chat import help as live_help
from hashdesk.chat import messages as message_actions
from hashdesk.chat.choices import ConversationState, Lane
from hashdesk.chat.models import Conversation, Membership, Message, Room
from hashdesk.incidents import major
from hashdesk.incidents.actions import do_create_incident
from hashdesk.incidents.choices import State

pytestmark = pytest.mark.django_db


def _member(room: Room, *people: User) -> Room:
    for person in people:
        actions.add_member(room, person)
    return room


def _say(person: User, room: Room, body: str, **options: Any) -> Message:
    return actions.do_send_message(person, room, body=body, **options).message


# --- My rooms ------------------------------------------------------------------------------------


def test_signed_out_people_are_sent_to_sign_in(client: Any) -> None:
    response = client.get("/chat/")
    assert response.status_code == 302
    assert "/accounts/sign-in/" in response["Location"]


def test_my_rooms_show_unread_counts_and_rooms_to_join(
    client: Any, requester: User, vpn_agent: User, vpn_room: Room, sso_service: Any
) -> None:
    sso_room = actions.service_room(sso_service)
    _member(vpn_room, requester, vpn_agent)
    _say(vpn_agent, vpn_room, "Maintenance tonight at 22:00")
    _say(vpn_agent, vpn_room, "Expect a short drop")
    client.force_login(requester)
    response = client.get("/chat/")
    assert response.status_code == 200
    page = response.content.decode()
    assert f'href="/chat/rooms/{vpn_room.pk}/"' in page
    assert '2<span class="visually-hidden"> unread</span>' in page
    assert f'action="/chat/rooms/{sso_room.pk}/join/"' in page
    # The page follows my rooms live.
    assert f'data-live-streams="room:{vpn_room.pk}"' in page
    # Requesters get no queue link; staff do.
    assert "/chat/queue/" not in page
    client.force_login(vpn_agent)
    assert "/chat/queue/" in client.get("/chat/").content.decode()


def test_the_chat_entry_is_in_the_navigation_and_live_help_on_every_page(
    client: Any, requester: User
) -> None:
    client.force_login(requester)
    page = client.get("/").content.decode()
    assert 'href="/chat/"' in page
    assert 'href="/chat/help/"' in page


def test_joining_and_leaving_a_room(client: Any, requester: User, vpn_room: Room) -> None:
    client.force_login(requester)
    response = client.post(f"/chat/rooms/{vpn_room.pk}/join/")
    assert response.status_code == 302
    assert response["Location"] == f"/chat/rooms/{vpn_room.pk}/"
    assert Membership.objects.filter(room=vpn_room, user=requester).exists()
    assert AuditEntry.objects.filter(action="chat.join").count() == 1
    response = client.post(f"/chat/rooms/{vpn_room.pk}/leave/")
    assert response.status_code == 302
    assert not Membership.objects.filter(room=vpn_room, user=requester).exists()


def test_rooms_one_may_not_see_are_404(
    client: Any, requester: User, confidential_room: Room
) -> None:
    client.force_login(requester)
    assert client.get(f"/chat/rooms/{confidential_room.pk}/").status_code == 404
    assert client.post(f"/chat/rooms/{confidential_room.pk}/join/").status_code == 404
    assert client.get("/chat/rooms/999999/").status_code == 404
    response = client.post(
        f"/chat/rooms/{confidential_room.pk}/messages/", {"body": "hello", "client_key": "k"}
    )
    assert response.status_code == 404
    assert not Message.objects.exists()


# --- A room ---------------------------------------------------------------------------------------


def test_a_room_shows_its_messages_members_and_composer(
    client: Any, requester: User, vpn_agent: User, vpn_room: Room
) -> None:
    _member(vpn_room, requester, vpn_agent)
    _say(vpn_agent, vpn_room, "Is the **VPN** fine for everyone?")
    client.force_login(requester)
    response = client.get(f"/chat/rooms/{vpn_room.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<strong>VPN</strong>" in page
    assert "data-chat-composer" in page
    assert f'data-live-streams="room:{vpn_room.pk}"' in page
    assert f'class="chat-member" data-user-id="{vpn_agent.pk}"' in page
    assert page.count("<h1>") == 1


def test_a_visitor_reads_but_joins_before_writing(
    client: Any, requester: User, vpn_agent: User, vpn_room: Room
) -> None:
    _member(vpn_room, vpn_agent)
    _say(vpn_agent, vpn_room, "Welcome to the VPN room")
    client.force_login(requester)
    page = client.get(f"/chat/rooms/{vpn_room.pk}/").content.decode()
    assert "Welcome to the VPN room" in page
    assert "Join the room" in page
    assert "data-chat-composer" not in page
    # Not a member: no live stream (the event server would refuse it anyway).
    assert "data-live-streams=" not in page
    response = client.post(f"/chat/rooms/{vpn_room.pk}/messages/", {"body": "hi"})
    assert response.status_code == 403
    assert Message.objects.count() == 1


def test_the_room_page_reads_in_constant_queries(
    client: Any, requester: User, vpn_agent: User, vpn_room: Room, query_count: Any
) -> None:
    """3 messages or 30, with reactions, replies and edits: the same queries."""
    _member(vpn_room, requester, vpn_agent)
    client.force_login(requester)

    def add(count: int) -> None:
        for n in range(count):
            message = _say(vpn_agent if n % 2 else requester, vpn_room, f"Message {n}")
            message_actions.do_react(requester, message, "+1")
            _say(vpn_agent, vpn_room, "A reply", thread_root=message)

    def measure() -> int:
        client.get(f"/chat/rooms/{vpn_room.pk}/")
        with query_count() as queries:
            response = client.get(f"/chat/rooms/{vpn_room.pk}/")
        assert response.status_code == 200
        return len(queries)

    add(3)
    few = measure()
    add(12)
    assert measure() == few


def test_earlier_messages_page_back_without_javascript(
    client: Any, requester: User, vpn_room: Room
) -> None:
    from hashdesk.chat.views import PAGE_SIZE

    _member(vpn_room, requester)
    sent = [_say(requester, vpn_room, f"Line {n}") for n in range(PAGE_SIZE + 5)]
    client.force_login(requester)
    page = client.get(f"/chat/rooms/{vpn_room.pk}/").content.decode()
    assert f'id="message-{sent[4].pk}"' not in page
    assert f'id="message-{sent[5].pk}"' in page
    assert f'href="/chat/rooms/{vpn_room.pk}/?before={sent[5].pk}"' in page
    earlier = client.get(f"/chat/rooms/{vpn_room.pk}/?before={sent[5].pk}").content.decode()
    assert earlier.count("data-message-id=") == 5
    assert "Earlier messages" not in earlier
    assert client.get(f"/chat/rooms/{vpn_room.pk}/?before=x").status_code == 404


def test_sending_from_the_form_is_idempotent_and_live(
    client: Any, requester: User, vpn_room: Room, capture_events: Any
) -> None:
    _member(vpn_room, requester)
    client.force_login(requester)
    form = {"body": "The VPN asks for a new token", "client_key": "form-abc"}
    with capture_events() as events:
        response = client.post(f"/chat/rooms/{vpn_room.pk}/messages/", form)
    message = Message.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/chat/rooms/{vpn_room.pk}/#message-{message.pk}"
    assert [(event.type, event.op) for event in events] == [("chat_message", "create")]
    assert events[0].streams == [f"room:{vpn_room.pk}"]
    # The same rendered form submitted again: the same message, nothing new.
    again = client.post(f"/chat/rooms/{vpn_room.pk}/messages/", form)
    assert again.status_code == 302
    assert Message.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "error"),
    [("   ", "Write a message."), ("x" * 4001, "at most 4,000 characters")],
)
def test_a_refused_message_rerenders_and_stores_nothing(
    client: Any, requester: User, vpn_room: Room, body: str, error: str
) -> None:
    _member(vpn_room, requester)
    client.force_login(requester)
    response = client.post(f"/chat/rooms/{vpn_room.pk}/messages/", {"body": body})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Message.objects.exists()


def test_threads_edits_deletes_and_reactions_from_the_page(
    client: Any, requester: User, vpn_agent: User, vpn_room: Room
) -> None:
    _member(vpn_room, requester, vpn_agent)
    question = _say(vpn_agent, vpn_room, "Who still sees drops?")
    client.force_login(requester)
    response = client.post(
        f"/chat/rooms/{vpn_room.pk}/messages/",
        {"body": "Me, every hour", "thread_root": question.pk, "client_key": "t1"},
    )
    reply = Message.objects.get(client_key="t1")
    assert reply.thread_root_id == question.pk
    assert response["Location"] == f"/chat/messages/{question.pk}/thread/#message-{reply.pk}"
    thread = client.get(f"/chat/messages/{reply.pk}/thread/").content.decode()
    assert "Who still sees drops?" in thread and "Me, every hour" in thread
    room_page = client.get(f"/chat/rooms/{vpn_room.pk}/").content.decode()
    assert "1 reply" in room_page

    # Edit my own; someone else's is not mine to edit.
    assert client.get(f"/chat/messages/{question.pk}/edit/").status_code == 403
    response = client.post(f"/chat/messages/{reply.pk}/edit/", {"body": "Me, every 30 min"})
    assert response.status_code == 302
    reply.refresh_from_db()
    assert reply.body == "Me, every 30 min" and reply.edited_at is not None
    assert client.post(f"/chat/messages/{reply.pk}/edit/", {"body": " "}).status_code == 400

    # React and take it back.
    client.post(f"/chat/messages/{question.pk}/react/", {"emoji": "+1", "on": "yes"})
    question.refresh_from_db()
    assert question.reaction_counts == {"+1": 1}
    client.post(f"/chat/messages/{question.pk}/react/", {"emoji": "+1", "on": "no"})
    question.refresh_from_db()
    assert not question.reaction_counts.get("+1")

    # Delete mine; not someone else's.
    assert client.post(f"/chat/messages/{question.pk}/delete/").status_code == 403
    client.post(f"/chat/messages/{reply.pk}/delete/")
    reply.refresh_from_db()
    assert reply.deleted_at is not None


# --- Live help ------------------------------------------------------------------------------------


def test_opening_live_help_from_the_page(
    client: Any, requester: User, vpn_service: Any, capture_events: Any
) -> None:
    client.force_login(requester)
    assert client.get("/chat/help/").status_code == 200
    with capture_events() as events:
        response = client.post(
            "/chat/help/",
            {"topic": "VPN drops", "body": "My #vpn drops hourly", "client_key": "h1"},
        )
    conversation = Conversation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/chat/conversations/{conversation.pk}/"
    assert conversation.service == vpn_service
    assert ("chat_conversation", "queued") in [(event.type, event.op) for event in events]
    page = client.get(response["Location"]).content.decode()
    assert "Waiting" in page and "drops hourly" in page
    assert "Close the conversation" in page
    assert "File as incident" not in page
    # The same form again opens nothing new.
    client.post("/chat/help/", {"topic": "VPN drops", "body": "again", "client_key": "h1"})
    assert Conversation.objects.count() == 1
    assert "VPN drops" in client.get("/chat/help/").content.decode()


def test_live_help_refuses_a_blank_topic(client: Any, requester: User) -> None:
    client.force_login(requester)
    response = client.post("/chat/help/", {"topic": "", "body": "help"})
    assert response.status_code == 400
    assert "Say in a few words what it is about." in response.content.decode()
    assert not Conversation.objects.exists()


def _opened(requester: User, topic: str = "VPN drops") -> Conversation:
    return live_help.do_open_conversation(
        requester, topic=topic, body="My #vpn drops every hour"
    ).conversation


def test_the_queue_is_for_staff_and_picking_up_makes_it_mine(
    client: Any, requester: User, other_requester: User, vpn_agent: User, vpn_service: Any
) -> None:
    conversation = _opened(requester)
    client.force_login(requester)
    assert client.get("/chat/queue/").status_code == 403
    client.force_login(other_requester)
    assert client.get(f"/chat/conversations/{conversation.pk}/").status_code == 404
    client.force_login(vpn_agent)
    page = client.get("/chat/queue/").content.decode()
    assert "VPN drops" in page and vpn_service.name in page
    assert f'action="/chat/conversations/{conversation.pk}/pick-up/"' in page
    response = client.post(f"/chat/conversations/{conversation.pk}/pick-up/")
    assert response["Location"] == f"/chat/conversations/{conversation.pk}/"
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.ACTIVE
    assert conversation.agent == vpn_agent
    page = client.get(f"/chat/conversations/{conversation.pk}/").content.decode()
    assert "data-chat-composer" in page
    assert "File as incident" in page and "Link to incident" in page
    # Picked up twice: the action's conflict, as a message.
    again = client.post(f"/chat/conversations/{conversation.pk}/pick-up/", follow=True)
    assert again.status_code == 200


def test_transfer_needs_an_agent_or_a_team(
    client: Any, requester: User, vpn_agent: User, network_team: Any
) -> None:
    conversation = _opened(requester)
    client.force_login(vpn_agent)
    live_help.do_pick_up(vpn_agent, conversation)
    response = client.post(f"/chat/conversations/{conversation.pk}/transfer/", {})
    assert response.status_code == 400
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.ACTIVE
    response = client.post(
        f"/chat/conversations/{conversation.pk}/transfer/", {"team": network_team.pk}
    )
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.WAITING
    assert conversation.team == network_team


def test_filing_a_conversation_as_an_incident_resolved_on_first_contact(
    client: Any, requester: User, vpn_agent: User, vpn_service: Any
) -> None:
    conversation = _opened(requester)
    live_help.do_pick_up(vpn_agent, conversation)
    client.force_login(vpn_agent)
    response = client.post(
        f"/chat/conversations/{conversation.pk}/file-incident/",
        {"title": "", "resolved_on_first_contact": "on"},
    )
    conversation.refresh_from_db()
    incident = conversation.incident
    assert incident is not None
    assert response["Location"] == f"/incidents/{incident.number}/"
    assert incident.state == State.RESOLVED
    assert conversation.resolved_on_first_contact
    assert incident.attachments.filter(filename=f"transcript-{conversation.pk}.txt").exists()


def test_linking_to_an_incident_by_number(
    client: Any, requester: User, vpn_agent: User, vpn_service: Any
) -> None:
    conversation = _opened(requester)
    with transaction.atomic():
        incident = do_create_incident(
            vpn_agent, title="VPN gateway", description="Down", service=vpn_service
        )
    client.force_login(vpn_agent)
    response = client.post(
        f"/chat/conversations/{conversation.pk}/link-incident/", {"number": "INC-999999"}
    )
    assert response.status_code == 400
    assert "No incident INC-999999" in response.content.decode()
    response = client.post(
        f"/chat/conversations/{conversation.pk}/link-incident/",
        {"number": str(incident.number).lower()},
    )
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.incident == incident


def test_the_requester_may_close_their_conversation(client: Any, requester: User) -> None:
    conversation = _opened(requester)
    client.force_login(requester)
    response = client.post(f"/chat/conversations/{conversation.pk}/close/", {"resolved": "on"})
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.state == ConversationState.CLOSED


# --- War rooms -----------------------------------------------------------------------------------


def test_the_public_lane_is_open_to_the_affected_and_the_responders_lane_is_not(
    client: Any, requester: User, vpn_agent: User, vpn_service: Any
) -> None:
    with transaction.atomic():
        incident = do_create_incident(
            requester, title="VPN down", description="No VPN", service=vpn_service
        )
    with transaction.atomic():
        major.do_declare_major(vpn_agent, incident, reason="Everyone", commander=vpn_agent)
    lanes = war_rooms.war_room_lanes(incident)
    client.force_login(requester)
    index = client.get("/chat/").content.decode()
    assert f'href="/chat/rooms/{lanes[Lane.PUBLIC].pk}/"' in index
    assert f"/chat/rooms/{lanes[Lane.RESPONDERS].pk}/" not in index
    assert client.get(f"/chat/rooms/{lanes[Lane.PUBLIC].pk}/").status_code == 200
    assert client.get(f"/chat/rooms/{lanes[Lane.RESPONDERS].pk}/").status_code == 404
    client.force_login(vpn_agent)
    assert client.get(f"/chat/rooms/{lanes[Lane.RESPONDERS].pk}/").status_code == 200


def test_filing_without_a_service_asks_for_one(
    client: Any, requester: User, vpn_agent: User
) -> None:
    conversation = live_help.do_open_conversation(
        requester, topic="Printer", body="The printer is jammed"
    ).conversation
    client.force_login(vpn_agent)
    response = client.post(f"/chat/conversations/{conversation.pk}/file-incident/", {})
    assert response.status_code == 400
    assert "No service was recognised" in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.incident is None


def test_every_chat_page_keeps_the_shell_rules(
    client: Any, requester: User, vpn_agent: User, vpn_room: Room
) -> None:
    """No inline code (CSP), CSRF on every POST form, unique ids: for each side of each page."""
    from tests.web.conftest import assert_shell_rules

    _member(vpn_room, requester, vpn_agent)
    message = _say(requester, vpn_room, "Hello")
    _say(vpn_agent, vpn_room, "A reply", thread_root=message)
    conversation = _opened(requester)
    live_help.do_pick_up(vpn_agent, conversation)
    pages = [
        "/chat/",
        f"/chat/rooms/{vpn_room.pk}/",
        f"/chat/messages/{message.pk}/thread/",
        "/chat/help/",
        f"/chat/conversations/{conversation.pk}/",
    ]
    for person, paths in (
        (requester, [*pages, f"/chat/messages/{message.pk}/edit/"]),
        (vpn_agent, [*pages, "/chat/queue/"]),
    ):
        client.force_login(person)
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, path
            assert_shell_rules(response.content.decode())
