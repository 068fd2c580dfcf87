"""Chat messages while away: a live-help message tells the members who are not there
("chat.message"), once per room until they read it, never those reading along, never twice for
a mention, and never for service rooms."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from hashdesk.chat import actions, help
from hashdesk.chat.models import Membership
from hashdesk.chat.offline_notices import KIND, THROTTLE
from hashdesk.notify.models import Notification

pytestmark = pytest.mark.django_db


def _away(person, conversation, minutes=10):
    """``person`` last read (and joined) the room ``minutes`` ago."""
    then = timezone.now() - timedelta(minutes=minutes)
    Membership.objects.filter(room=conversation.room, user=person).update(
        last_read_at=then, joined_at=then
    )


def _told(person):
    return list(Notification.objects.filter(recipient=person, kind=KIND).order_by("id"))


@pytest.fixture
def conversation(requester, vpn_agent):
    opened = help.do_open_conversation(
        requester, topic="Laptop will not boot", body="It shows a black screen."
    ).conversation
    help.do_pick_up(vpn_agent, opened)
    return opened


def test_a_member_who_is_away_is_told_of_a_message(
    conversation, requester, vpn_agent, capture_events
):
    _away(requester, conversation)
    with capture_events() as events:
        sent = actions.do_send_message(
            vpn_agent, conversation.room, body="Hold the power button for ten seconds."
        )
    (notice,) = _told(requester)
    assert notice.title == f"{vpn_agent.display_name} wrote in {conversation.room.name}"
    assert notice.body == "Hold the power button for ten seconds."
    assert notice.url == f"/chat/rooms/{conversation.room.pk}/#message-{sent.message.pk}"
    assert any(
        e.type == "notification" and e.payload["notification"]["kind"] == KIND for e in events
    )
    assert not _told(vpn_agent)  # the author is never told of their own message


def test_once_per_room_until_they_read(conversation, requester, vpn_agent):
    _away(requester, conversation)
    room = conversation.room
    actions.do_send_message(vpn_agent, room, body="First")
    actions.do_send_message(vpn_agent, room, body="Second")
    assert len(_told(requester)) == 1

    # They read, and wander off again: within the throttle nobody is told again...
    room.refresh_from_db()
    actions.do_mark_read(requester, room, room.last_message_id)
    _away(requester, conversation, minutes=5)
    actions.do_send_message(vpn_agent, room, body="Third")
    assert len(_told(requester)) == 1

    # ...after it, they are.
    Notification.objects.filter(recipient=requester, kind=KIND).update(
        created_at=timezone.now() - THROTTLE - timedelta(minutes=10)
    )
    actions.do_send_message(vpn_agent, room, body="Fourth")
    assert [n.body for n in _told(requester)] == ["First", "Fourth"]


def test_someone_reading_along_is_not_told(conversation, requester, vpn_agent):
    room = conversation.room
    room.refresh_from_db()
    actions.do_mark_read(requester, room, room.last_message_id)
    actions.do_send_message(vpn_agent, room, body="Try safe mode.")
    assert not _told(requester)


def test_a_mention_is_told_once_as_a_mention(conversation, requester, vpn_agent):
    _away(requester, conversation)
    handle = requester.email.split("@")[0]
    actions.do_send_message(vpn_agent, conversation.room, body=f"@{handle} are you still there?")
    kinds = list(Notification.objects.filter(recipient=requester).values_list("kind", flat=True))
    assert kinds == ["chat.mention"]


def test_messages_in_service_rooms_tell_nobody(vpn_room, requester, vpn_agent):
    actions.do_join_room(requester, vpn_room)
    actions.do_join_room(vpn_agent, vpn_room)
    Membership.objects.filter(room=vpn_room).update(
        last_read_at=timezone.now() - timedelta(hours=1)
    )
    actions.do_send_message(vpn_agent, vpn_room, body="Maintenance at noon.")
    assert not _told(requester)


@pytest.mark.skipif(not settings.REDIS_URL, reason="presence is shared through Redis")
def test_a_connected_member_is_not_told(conversation, requester, vpn_agent):
    import time

    from hashdesk.realtime.presence import Counts, encode_field, presence_key
    from hashdesk.realtime.publish import _publisher

    client = _publisher.redis_client(settings.REDIS_URL)
    key = presence_key(settings.REDIS_PREFIX, requester.pk)
    client.hset(key, "test-server", encode_field(Counts(active=0, away=1), time.time()))
    try:
        _away(requester, conversation)
        actions.do_send_message(vpn_agent, conversation.room, body="Still there?")
        assert not _told(requester)
    finally:
        client.delete(key)
