"""Sending messages: membership, idempotency, redaction, threads, read markers and unread
counts (docs/chat.md, "Sending")."""

from __future__ import annotations

import pytest

from hashdesk.chat import actions
from hashdesk.chat.models import Message, Room
from hashdesk.core import streams
from hashdesk.core.errors import Forbidden, NotFound, RateLimited, ValidationFailed
from hashdesk.core.visibility import can_subscribe


def test_members_send_and_everyone_in_the_room_hears_it(
    requester, other_requester, vpn_room, capture_events
):
    with pytest.raises(Forbidden):
        actions.do_send_message(requester, vpn_room, body="hello")
    actions.do_join_room(requester, vpn_room)
    with capture_events() as events:
        sent = actions.do_send_message(requester, vpn_room, body="Is #vpn slow for you too?")
    assert sent.created and sent.message.body == "Is #vpn slow for you too?"
    [event] = [e for e in events if e.type == "chat_message"]
    assert event.op == "create" and event.streams == [streams.room(vpn_room.pk)]
    assert event.payload["message"]["id"] == sent.message.pk
    assert can_subscribe(requester, streams.room(vpn_room.pk))
    assert not can_subscribe(other_requester, streams.room(vpn_room.pk))


def test_the_same_client_key_is_the_same_message(requester, vpn_room):
    actions.do_join_room(requester, vpn_room)
    first = actions.do_send_message(requester, vpn_room, body="once", client_key="k-1")
    again = actions.do_send_message(requester, vpn_room, body="once", client_key="k-1")
    assert first.created and not again.created and again.message.pk == first.message.pk
    assert Message.objects.count() == 1
    with pytest.raises(ValidationFailed):
        actions.do_send_message(requester, vpn_room, body="x", client_key="bad key!")


def test_secrets_are_redacted_before_storing(requester, vpn_room):
    actions.do_join_room(requester, vpn_room)
    sent = actions.do_send_message(requester, vpn_room, body="my password: Hunter2Hunter2")
    assert "Hunter2Hunter2" not in sent.message.body
    assert sent.message.redactions[0]["kind"] == "password"


def test_bad_input_changes_nothing(requester, vpn_room, confidential_room, settings):
    actions.do_join_room(requester, vpn_room)
    for body in ("", "   ", "x" * 4001):
        with pytest.raises(ValidationFailed):
            actions.do_send_message(requester, vpn_room, body=body)
    with pytest.raises(NotFound):
        actions.do_send_message(requester, confidential_room, body="hi")
    # Refused sends count too (the one to the confidential room above): a flood is a flood.
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "chat_message": (3, 60)}
    actions.do_send_message(requester, vpn_room, body="one")
    actions.do_send_message(requester, vpn_room, body="two")
    with pytest.raises(RateLimited):
        actions.do_send_message(requester, vpn_room, body="three")
    assert Message.objects.count() == 2


def test_unread_counts_and_read_markers(requester, other_requester, vpn_room, capture_events):
    actions.do_join_room(requester, vpn_room)
    actions.do_join_room(other_requester, vpn_room)
    sent = [actions.do_send_message(other_requester, vpn_room, body=f"m{n}") for n in range(3)]
    assert actions.unread_counts(requester) == {vpn_room.pk: 3}
    assert actions.unread_counts(other_requester) == {}
    vpn_room.refresh_from_db()
    with capture_events() as events:
        actions.do_mark_read(requester, vpn_room, sent[1].message.pk)
    assert actions.unread_counts(requester) == {vpn_room.pk: 1}
    assert [e.streams for e in events] == [[streams.user(requester.pk)]]
    actions.do_mark_read(requester, vpn_room, sent[0].message.pk)  # never back
    assert actions.unread_counts(requester) == {vpn_room.pk: 1}


def test_threads_are_one_level_and_history_pages_by_id(requester, vpn_room):
    actions.do_join_room(requester, vpn_room)
    root = actions.do_send_message(requester, vpn_room, body="root").message
    reply = actions.do_send_message(requester, vpn_room, body="r1", thread_root=root).message
    nested = actions.do_send_message(requester, vpn_room, body="r2", thread_root=reply).message
    assert nested.thread_root_id == root.pk
    root.refresh_from_db()
    assert root.reply_count == 2
    page = list(actions.history(requester, vpn_room, limit=2))
    assert [m.pk for m in page] == [reply.pk, nested.pk]
    older = list(actions.history(requester, vpn_room, before=page[0].pk))
    assert [m.pk for m in older] == [root.pk]
    missed = list(actions.history(requester, vpn_room, after=root.pk))
    assert [m.pk for m in missed] == [reply.pk, nested.pk]


def test_mentions_and_hashtags_become_links_but_never_inside_code(requester, make_person, vpn_room):
    ana = make_person("ana.lopez@example.test")
    actions.do_join_room(requester, vpn_room)
    sent = actions.do_send_message(
        requester, vpn_room, body="@ana.lopez is #vpn down? `@ana.lopez #vpn` stays code"
    )
    html = sent.message.body_html
    assert html.count('class="mention"') == 1 and html.count('class="hashtag"') == 1
    assert list(sent.message.mentions.all()) == [ana]


def test_every_service_has_its_room_from_the_start(vpn_service, requester):
    room = Room.objects.get(kind="service", service=vpn_service)
    assert room.name == "#vpn" and actions.service_room(vpn_service) == room
    assert actions.may_join(requester, room)
