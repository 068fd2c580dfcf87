"""After sending: edits, deletes, reactions and threads, with their audit entries and events
(docs/chat.md, "Editing, deleting, reactions")."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from hashdesk.audit.models import AuditEntry
from hashdesk.chat import actions, messages
from hashdesk.chat.choices import MemberRole, MessageKind
from hashdesk.chat.models import Message, MessageReaction, MessageRevision
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed


@pytest.fixture
def said(requester, vpn_room):
    """The requester's message in the VPN room."""
    actions.do_join_room(requester, vpn_room)
    return actions.do_send_message(requester, vpn_room, body="VPN drops every hour").message


def _chat_events(events, op=None):
    return [e for e in events if e.type == "chat_message" and (op is None or e.op == op)]


# --- Editing -------------------------------------------------------------------------------------


def test_the_author_edits_and_the_old_text_is_kept(requester, said, capture_events):
    with capture_events() as events:
        edited = messages.do_edit_message(
            requester, said, body="VPN drops every hour, password: Hunter2Hunter2"
        )
    assert "Hunter2Hunter2" not in edited.body and edited.redactions[0]["kind"] == "password"
    assert edited.edited_at is not None
    [revision] = MessageRevision.objects.filter(message=said)
    assert revision.body == "VPN drops every hour" and revision.edited_by == requester
    [event] = _chat_events(events)
    assert event.op == "update" and event.streams == [streams.room(said.room_id)]
    assert event.payload["message"]["body"] == edited.body
    assert "Hunter2Hunter2" not in str(event.payload)
    entry = AuditEntry.objects.get(action="chat.message_edit")
    assert entry.before["body"] == "VPN drops every hour" and entry.after["body"] == edited.body


def test_the_same_text_again_changes_nothing(requester, said, capture_events):
    with capture_events() as events:
        messages.do_edit_message(requester, said, body="  VPN drops every hour ")
    assert not events and not MessageRevision.objects.exists()


def test_no_one_rewrites_anothers_words(requester, other_requester, vpn_agent, said):
    actions.do_join_room(other_requester, said.room)
    for person in (other_requester, vpn_agent):
        with pytest.raises(Forbidden):
            messages.do_edit_message(person, said, body="something else")
    with pytest.raises(ValidationFailed):
        messages.do_edit_message(requester, said, body="  ")
    said.refresh_from_db()
    assert said.body == "VPN drops every hour" and said.edited_at is None
    assert not AuditEntry.objects.filter(action="chat.message_edit").exists()


def test_deleted_and_system_messages_are_not_edited(requester, vpn_agent, said, vpn_room):
    system = Message.objects.create(room=vpn_room, kind=MessageKind.SYSTEM, body="joined")
    with pytest.raises(Conflict):
        messages.do_edit_message(vpn_agent, system, body="x")
    messages.do_delete_message(requester, said)
    # The author no longer sees it at all; staff see it, but it stays deleted.
    with pytest.raises(NotFound):
        messages.do_edit_message(requester, said, body="back")


# --- Deleting ------------------------------------------------------------------------------------


def test_the_author_deletes_softly(requester, other_requester, vpn_agent, said, capture_events):
    with capture_events() as events:
        messages.do_delete_message(requester, said, reason="wrong room")
    said.refresh_from_db()
    assert said.deleted_at is not None and said.body == "VPN drops every hour"
    [event] = _chat_events(events)
    assert event.op == "delete" and event.payload["message"]["body"] == ""
    assert event.payload["message"]["deleted"] is True
    entry = AuditEntry.objects.get(action="chat.message_delete")
    assert entry.after["reason"] == "wrong room"
    # Gone for its author; staff still see it, and it is deleted once only.
    with pytest.raises(NotFound):
        messages.do_delete_message(requester, said)
    with pytest.raises(Conflict):
        messages.do_delete_message(vpn_agent, said)
    assert [m.pk for m in actions.history(other_requester, said.room)] == []


def test_staff_and_moderators_delete_others_messages(
    requester, other_requester, vpn_agent, make_person, vpn_room
):
    actions.do_join_room(other_requester, vpn_room)
    actions.do_join_room(requester, vpn_room)
    first = actions.do_send_message(requester, vpn_room, body="one").message
    second = actions.do_send_message(requester, vpn_room, body="two").message
    with pytest.raises(Forbidden):
        messages.do_delete_message(other_requester, first)
    messages.do_delete_message(vpn_agent, first)
    moderator = make_person("moderator@example.test", roles=["requester"])
    actions.add_member(vpn_room, moderator, role=MemberRole.MODERATOR)
    messages.do_delete_message(moderator, second)
    assert Message.objects.filter(deleted_at__isnull=False).count() == 2
    with pytest.raises(ValidationFailed):
        messages.do_delete_message(vpn_agent, first, reason="x" * 501)


def test_a_deleted_reply_leaves_its_thread(requester, said, capture_events):
    reply = actions.do_send_message(requester, said.room, body="still", thread_root=said).message
    deeper = actions.do_send_message(requester, said.room, body="and", thread_root=reply).message
    assert deeper.thread_root_id == said.pk
    said.refresh_from_db()
    assert said.reply_count == 2
    with capture_events() as events:
        messages.do_delete_message(requester, reply)
    said.refresh_from_db()
    assert said.reply_count == 1
    ops = [(e.op, e.payload["message"]["id"]) for e in _chat_events(events)]
    assert ops == [("delete", reply.pk), ("update", said.pk)]


# --- Reactions -----------------------------------------------------------------------------------


def test_members_react_and_counts_follow(requester, other_requester, said, capture_events):
    with pytest.raises(Forbidden):
        messages.do_react(other_requester, said, "+1")
    actions.do_join_room(other_requester, said.room)
    with capture_events() as events:
        messages.do_react(other_requester, said, "+1")
        messages.do_react(requester, said, "+1")
        messages.do_react(requester, said, "+1")  # again: nothing
        messages.do_react(requester, said, "eyes")
    said.refresh_from_db()
    assert said.reaction_counts == {"+1": 2, "eyes": 1}
    assert len(_chat_events(events, "update")) == 3
    messages.do_unreact(requester, said, "eyes")
    messages.do_unreact(requester, said, "eyes")  # none left: nothing
    said.refresh_from_db()
    assert said.reaction_counts == {"+1": 2}
    assert MessageReaction.objects.count() == 2
    with pytest.raises(ValidationFailed):
        messages.do_react(requester, said, "heart")


def test_deleted_messages_take_no_reactions(requester, vpn_agent, said):
    actions.do_join_room(vpn_agent, said.room)
    messages.do_delete_message(requester, said)
    with pytest.raises(NotFound):
        messages.do_react(vpn_agent, said, "+1")


@pytest.mark.django_db(transaction=True)
def test_reactions_at_once_are_all_counted(make_person, vpn_service):
    """Many people reacting at the same moment: the counter is moved under the row's lock."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the race needs a database with row locks")
    room = actions.service_room(vpn_service)
    people = [make_person(f"p{n}@example.test", roles=["requester"]) for n in range(8)]
    for person in people:
        actions.do_join_room(person, room)
    message = actions.do_send_message(people[0], room, body="thumbs up if you see it").message
    barrier = threading.Barrier(len(people))
    failures: list[BaseException] = []

    def react(person):
        try:
            barrier.wait()
            messages.do_react(person, Message.objects.get(pk=message.pk), "+1")
        except BaseException as error:  # reported below
            failures.append(error)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=react, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    message.refresh_from_db()
    assert message.reaction_counts == {"+1": len(people)}
