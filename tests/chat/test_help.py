"""Live help: opening, the queue, picking up, transferring, closing, and filing or linking a
conversation as an incident (docs/chat.md, "Live help" and "Into the records")."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from hashdesk.accounts.choices import Role
from hashdesk.audit.models import AuditEntry
from hashdesk.chat import actions, help
from hashdesk.chat.choices import ConversationState, MemberRole, MessageKind
from hashdesk.chat.models import Conversation, Membership, Message
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, Forbidden, NotFound, RateLimited, ValidationFailed
from hashdesk.core.visibility import can_view, is_staff
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.attachments import open_stored
from hashdesk.incidents.choices import Channel, State
from hashdesk.incidents.models import AffectedUser, Attachment

pytestmark = pytest.mark.django_db


def open_help(person, topic="VPN keeps dropping", body="My #vpn drops every ten minutes.", **kw):
    return help.do_open_conversation(person, topic=topic, body=body, **kw).conversation


def fresh(conversation: Conversation) -> Conversation:
    return Conversation.objects.get(pk=conversation.pk)


def of_type(events, type_, op=None):
    return [e for e in events if e.type == type_ and (op is None or e.op == op)]


@pytest.fixture
def second_agent(make_person):
    return make_person("second.agent@example.test", roles=[Role.AGENT])


# --- Opening ------------------------------------------------------------------------------------


def test_opening_queues_a_help_room_with_the_first_message(
    requester, vpn_service, network_team, capture_events
):
    with capture_events() as events:
        opened = help.do_open_conversation(
            requester, topic="VPN keeps dropping", body="It drops every ten minutes on #vpn."
        )
    conversation = opened.conversation
    assert opened.created and conversation.state == ConversationState.WAITING
    assert conversation.service == vpn_service and conversation.team == network_team
    assert conversation.room.name == "Help: VPN keeps dropping"
    assert actions.is_member(requester, conversation.room)
    [message] = Message.objects.filter(room=conversation.room)
    assert message.author == requester and message.body.startswith("It drops")
    [queued] = of_type(events, "chat_conversation", "queued")
    assert set(queued.streams) == {streams.STAFF, streams.user(requester.pk)}
    assert queued.payload["conversation"]["service"]["id"] == vpn_service.pk
    assert AuditEntry.objects.filter(action="chat.conversation_open").count() == 1


def test_the_same_client_key_opens_one_conversation(requester):
    first = help.do_open_conversation(requester, topic="Printer", body="Jammed", client_key="c-1")
    again = help.do_open_conversation(requester, topic="Printer", body="Jammed", client_key="c-1")
    assert first.created and not again.created
    assert again.conversation.pk == first.conversation.pk
    assert Conversation.objects.count() == 1


def test_at_most_three_open_conversations(requester, vpn_agent):
    conversations = [open_help(requester, topic=f"Question {n}") for n in range(3)]
    with pytest.raises(Conflict):
        open_help(requester, topic="A fourth")
    assert Conversation.objects.count() == 3
    help.do_close(requester, conversations[0], resolved=True)
    open_help(requester, topic="A fourth")


def test_bad_input_opens_nothing(requester, settings):
    for topic, body in (("", "text"), ("x" * 201, "text"), ("Topic", ""), ("Topic", "x" * 4001)):
        with pytest.raises(ValidationFailed):
            help.do_open_conversation(requester, topic=topic, body=body)
    assert not Conversation.objects.exists() and not Message.objects.exists()
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "chat_message": (1, 60)}
    open_help(requester, topic="One")
    with pytest.raises(RateLimited):
        open_help(requester, topic="Two")
    assert Conversation.objects.count() == 1


def test_a_service_the_requester_cannot_see_is_not_detected(requester, security_service):
    conversation = open_help(requester, topic="#secops", body="Security operations question")
    assert conversation.service is None and conversation.team is None


# --- The queue ----------------------------------------------------------------------------------


def test_the_queue_is_oldest_first_with_waiting_time(
    requester, other_requester, vpn_agent, vpn_service, network_team
):
    older = open_help(requester, topic="Older")
    Conversation.objects.filter(pk=older.pk).update(queued_at=timezone.now() - timedelta(minutes=5))
    newer = open_help(other_requester, topic="Printer is jammed", body="Paper everywhere")
    queue = help.waiting_queue(vpn_agent)
    assert [w.conversation.pk for w in queue] == [older.pk, newer.pk]
    assert queue[0].waiting >= timedelta(minutes=5) > queue[1].waiting
    assert queue[0].topic == "Older" and queue[0].team == network_team
    assert [w.conversation.pk for w in help.waiting_queue(vpn_agent, team=network_team)] == [
        older.pk
    ]
    with pytest.raises(Forbidden):
        help.waiting_queue(requester)


@pytest.mark.parametrize("count", [3, 30])
def test_the_queue_reads_in_one_query(count, make_person, vpn_agent, django_assert_num_queries):
    for n in range(count):
        person = make_person(f"person{n}@example.test", roles=[Role.REQUESTER])
        open_help(person, topic=f"Question {n}")
    assert is_staff(vpn_agent)  # the agent's roles are read once per request, not per queue
    with django_assert_num_queries(1):
        queue = help.waiting_queue(vpn_agent)
        assert [w.conversation.requester.display_name for w in queue]
        assert [w.service and w.service.name for w in queue]
        assert [w.team and w.team.name for w in queue]
    assert len(queue) == count


# --- Picking up, transferring, closing ----------------------------------------------------------


def test_an_agent_picks_up_and_the_second_gets_a_conflict(
    requester, vpn_agent, second_agent, capture_events
):
    conversation = open_help(requester)
    with capture_events() as events:
        taken = help.do_pick_up(vpn_agent, conversation)
    assert taken.state == ConversationState.ACTIVE and taken.agent == vpn_agent
    membership = Membership.objects.get(room=conversation.room, user=vpn_agent)
    assert membership.role == MemberRole.MODERATOR
    system = Message.objects.filter(room=conversation.room, kind=MessageKind.SYSTEM).get()
    assert system.author is None and system.body == "Vpn Agent joined"
    assert of_type(events, "chat_conversation", "picked_up")
    assert of_type(events, "chat_message", "create")[0].streams == [
        streams.room(conversation.room_id)
    ]
    with pytest.raises(Conflict):
        help.do_pick_up(second_agent, conversation)
    assert fresh(conversation).agent == vpn_agent


@pytest.mark.django_db(transaction=True)
def test_two_agents_racing_one_wins_one_conflict(requester, vpn_agent, second_agent):
    """Both read the conversation as waiting; the row lock makes the second see it taken."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs a database with row locks")
    conversation = open_help(requester)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def pick_up(agent):
        try:
            barrier.wait()
            help.do_pick_up(agent, Conversation.objects.get(pk=conversation.pk))
            outcomes.append(agent.pk)
        except BaseException as error:
            outcomes.append(error)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=pick_up, args=(a,)) for a in (vpn_agent, second_agent)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if isinstance(o, int)]
    assert len(winners) == 1 and [type(o) for o in outcomes if o not in winners] == [Conflict]
    assert fresh(conversation).agent_id == winners[0]
    assert (
        Message.objects.filter(room_id=conversation.room_id, kind=MessageKind.SYSTEM).count() == 1
    )


def test_requesters_cannot_pick_up_and_others_do_not_see_it(requester, other_requester):
    conversation = open_help(requester)
    with pytest.raises(Forbidden):
        help.do_pick_up(requester, conversation)
    with pytest.raises(NotFound):
        help.do_close(other_requester, conversation, resolved=False)
    assert not can_view(other_requester, conversation)
    assert not can_view(other_requester, conversation.room)
    assert fresh(conversation).state == ConversationState.WAITING


def test_transfer_to_an_agent_and_to_a_team(
    requester, vpn_agent, second_agent, network_team, capture_events
):
    conversation = help.do_pick_up(vpn_agent, open_help(requester))
    with capture_events() as events:
        moved = help.do_transfer(vpn_agent, conversation, to_agent=second_agent)
    assert moved.agent == second_agent and moved.state == ConversationState.ACTIVE
    assert actions.is_member(second_agent, conversation.room)
    assert of_type(events, "chat_conversation", "transferred")
    assert Message.objects.filter(body__contains="transferred the conversation to Second").exists()

    back = help.do_transfer(second_agent, conversation, to_team=network_team)
    assert back.state == ConversationState.WAITING and back.agent is None
    assert [w.conversation.pk for w in help.waiting_queue(vpn_agent)] == [conversation.pk]
    with pytest.raises(ValidationFailed):
        help.do_transfer(vpn_agent, conversation)
    with pytest.raises(ValidationFailed):
        help.do_transfer(vpn_agent, conversation, to_agent=requester)


def test_either_side_closes_and_the_room_is_archived(requester, vpn_agent, capture_events):
    conversation = help.do_pick_up(vpn_agent, open_help(requester))
    with capture_events() as events:
        closed = help.do_close(requester, conversation, resolved=True)
    assert closed.state == ConversationState.CLOSED and closed.closed_by == requester
    assert closed.resolved_on_first_contact
    assert closed.room.archived_at is not None
    assert of_type(events, "chat_conversation", "closed")
    assert of_type(events, "chat_room", "update")
    with pytest.raises(Conflict):
        help.do_close(vpn_agent, conversation, resolved=False)
    with pytest.raises(Conflict):
        actions.do_send_message(requester, closed.room, body="one more thing")


def test_read_markers_show_the_agent_read_the_message(requester, vpn_agent, capture_events):
    conversation = help.do_pick_up(vpn_agent, open_help(requester))
    first = Message.objects.filter(room=conversation.room, author=requester).get()
    # Joining is not reading: the requester does not yet see their message as read.
    assert help.read_markers(conversation) == {
        "requester_read_message_id": first.pk,
        "agent_read_message_id": 0,
    }
    with capture_events() as events:
        actions.do_mark_read(vpn_agent, conversation.room, first.pk)
    [read] = of_type(events, "chat_read")
    assert streams.room(conversation.room_id) in read.streams
    assert help.read_markers(fresh(conversation))["agent_read_message_id"] == first.pk


# --- Into the records ---------------------------------------------------------------------------


def test_filing_creates_an_incident_with_the_transcript(requester, vpn_agent, vpn_service):
    conversation = help.do_pick_up(vpn_agent, open_help(requester))
    actions.do_send_message(requester, conversation.room, body="my password: Hunter2Hunter2")
    actions.do_send_message(vpn_agent, conversation.room, body="Thanks, looking into it.")
    incident = help.do_file_as_incident(vpn_agent, conversation)
    assert incident.reporter == requester and incident.service == vpn_service
    assert incident.source == Channel.CHAT and incident.title == "VPN keeps dropping"
    assert "drops every ten minutes" in incident.description
    assert incident.state == State.NEW
    attachment = Attachment.objects.get(incident=incident)
    assert attachment.filename == f"transcript-{conversation.pk}.txt"
    assert not attachment.is_public
    with open_stored(attachment) as stored:
        text = stored.read().decode("utf-8")
    assert "Hunter2Hunter2" not in text
    assert "Requester: My #vpn drops every ten minutes." in text
    assert "Vpn Agent: Thanks, looking into it." in text
    assert "Hashdesk: Vpn Agent joined" in text
    conversation = fresh(conversation)
    assert conversation.incident == incident
    assert Message.objects.filter(room=conversation.room, body=f"Filed as {incident.number}")
    with pytest.raises(Conflict):
        help.do_file_as_incident(vpn_agent, conversation)


def test_filing_resolved_on_first_contact(requester, vpn_agent, vpn_service):
    conversation = help.do_pick_up(vpn_agent, open_help(requester))
    incident = help.do_file_as_incident(
        vpn_agent, conversation, title="VPN profile reset", resolved_on_first_contact=True
    )
    assert incident.state == State.RESOLVED and incident.resolution_code == "solved"
    assert "first contact" in incident.resolution_notes
    assert incident.title == "VPN profile reset"
    assert fresh(conversation).resolved_on_first_contact


def test_filing_needs_a_service_and_staff(requester, vpn_agent, sso_service):
    conversation = help.do_pick_up(vpn_agent, open_help(requester, topic="Help", body="Hi"))
    with pytest.raises(ValidationFailed):
        help.do_file_as_incident(vpn_agent, conversation)
    with pytest.raises(Forbidden):
        help.do_file_as_incident(requester, conversation, service=sso_service)
    assert fresh(conversation).incident is None
    incident = help.do_file_as_incident(vpn_agent, conversation, service=sso_service)
    assert incident.service == sso_service


def test_linking_makes_the_requester_affected(requester, other_requester, vpn_agent, vpn_service):
    incident = incident_actions.do_create_incident(
        other_requester, title="VPN down", description="", service=vpn_service
    )
    conversation = help.do_pick_up(vpn_agent, open_help(requester))
    help.do_link_to_incident(vpn_agent, conversation, incident)
    affected = AffectedUser.objects.get(incident=incident, user=requester)
    assert affected.channel == Channel.CHAT
    assert Attachment.objects.filter(incident=incident, is_public=False).count() == 1
    assert fresh(conversation).incident == incident
    with pytest.raises(Conflict):
        help.do_link_to_incident(vpn_agent, conversation, incident)


def test_linking_to_an_incident_the_requester_reported(requester, vpn_agent, vpn_service):
    incident = incident_actions.do_create_incident(
        requester, title="VPN down", description="", service=vpn_service
    )
    conversation = help.do_pick_up(vpn_agent, open_help(requester))
    help.do_link_to_incident(vpn_agent, conversation, incident)
    assert AffectedUser.objects.filter(incident=incident, user=requester).count() == 1
