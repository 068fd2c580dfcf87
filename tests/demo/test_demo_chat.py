"""The demo's chat: service rooms with history, live help with a queue, planned from the seed and
what the demo stored, written in bulk, consistent with what the chat's actions would have left,
silent (no events, audit rows or notifications) and loaded only once.

One small demo (200 incidents, 500 posts, 300 chat messages) is loaded for the module inside a
transaction that is rolled back at the end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Count, Max
from django.test import Client
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.choices import Visibility
from hashdesk.chat.actions import unread_counts
from hashdesk.chat.choices import ConversationState, Lane, MemberRole, MessageKind, RoomKind
from hashdesk.chat.help import waiting_queue
from hashdesk.chat.models import Conversation, Membership, Message, MessageReaction, Room
from hashdesk.cli import build_parser
from hashdesk.core.models import Event
from hashdesk.core.redaction import redact
from hashdesk.core.visibility import is_staff
from hashdesk.demo.chat import DEMO_CHAT_MESSAGES, chat_messages_for, load_chat
from hashdesk.demo.loader import DemoSummary, load_demo
from hashdesk.incidents.choices import Channel, State, TimelineKind
from hashdesk.incidents.models import Incident, TimelineEntry
from hashdesk.notify.models import Notification

INCIDENTS = 200
POSTS = 500
CHAT = 300


# Runs before the module's demo is loaded (it would still be there otherwise).
@pytest.mark.django_db
def test_an_open_major_incident_gets_its_war_room_with_official_updates() -> None:
    load_demo(incidents=INCIDENTS, posts=POSTS, chat_messages=0)
    incident = (
        Incident.objects.filter(visibility=Visibility.PUBLIC, service__visibility=Visibility.PUBLIC)
        .order_by("-created_at")
        .first()
    )
    assert incident is not None
    agent = User.objects.get(email__startswith="agent@")
    now = timezone.now()
    Incident.objects.filter(pk=incident.pk).update(
        is_major=True, state=State.IN_PROGRESS, commander=agent, major_declared_at=now
    )
    TimelineEntry.objects.create(
        incident=incident, kind=TimelineKind.OFFICIAL_UPDATE, author=agent, is_public=True,
        body="We have found the cause and are fixing it.", created_at=now,
    )  # fmt: skip
    load_chat(seed=1, count=CHAT)
    lanes = {room.lane: room for room in Room.objects.filter(kind=RoomKind.WAR_ROOM)}
    assert set(lanes) == {Lane.RESPONDERS, Lane.PUBLIC}
    for room in lanes.values():
        assert room.incident_id == incident.pk
        assert Membership.objects.get(room=room, user=agent).role == MemberRole.MODERATOR
        assert room.messages.filter(kind=MessageKind.SYSTEM).exists()
    official = lanes[Lane.PUBLIC].messages.get(kind=MessageKind.OFFICIAL)
    assert official.body == "We have found the cause and are fixing it."
    assert official.author == agent
    assert not lanes[Lane.RESPONDERS].messages.filter(kind=MessageKind.OFFICIAL).exists()


@dataclass
class Loaded:
    summary: DemoSummary
    # Events, audit rows and notifications before and after the chat was loaded.
    before: tuple[int, int, int]
    after: tuple[int, int, int]
    # Chat rows before the chat was loaded (every service has its empty room already).
    rows: dict[str, int]


def _silent_rows() -> tuple[int, int, int]:
    return Event.objects.count(), AuditEntry.objects.count(), Notification.objects.count()


@pytest.fixture(scope="module")
def chat(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Loaded]:
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo(incidents=INCIDENTS, posts=POSTS, chat_messages=0)
        before, rows = _silent_rows(), _rows()
        summary = load_demo(incidents=INCIDENTS, posts=POSTS, chat_messages=CHAT)
        yield Loaded(summary, before, _silent_rows(), rows)
        transaction.set_rollback(True)


def _rows() -> dict[str, int]:
    return {
        "rooms": Room.objects.count(),
        "messages": Message.objects.count(),
        "reactions": MessageReaction.objects.count(),
        "mentions": Message.mentions.through.objects.count(),
        "memberships": Membership.objects.count(),
        "conversations": Conversation.objects.count(),
    }


def test_the_chat_has_the_messages_asked_for_and_reports_what_it_wrote(
    chat: Loaded, db: Any
) -> None:
    created = chat.summary.created
    rows = {kind: n - chat.rows[kind] for kind, n in _rows().items()}
    assert chat.rows["messages"] == 0
    assert created["chat rooms"] == rows["rooms"]
    assert created["chat messages"] == rows["messages"]
    assert created["chat reactions"] == rows["reactions"] > 0
    assert created["chat mentions"] == rows["mentions"] > 0
    assert created["chat memberships"] == rows["memberships"]
    assert created["help conversations"] == rows["conversations"]
    in_service_rooms = Message.objects.filter(room__kind=RoomKind.SERVICE).count()
    assert CHAT * 0.8 <= in_service_rooms <= CHAT * 1.3
    # A few weeks of history, nothing in the future.
    now = timezone.now()
    assert not Message.objects.filter(created_at__gt=now).exists()
    oldest = Message.objects.filter(room__kind=RoomKind.SERVICE).order_by("created_at").first()
    assert oldest is not None and oldest.created_at < now - timedelta(days=14)


def test_seed_data_sends_no_events_writes_no_audit_rows_and_notifies_nobody(
    chat: Loaded, db: Any
) -> None:
    assert chat.before == chat.after


def test_room_counters_and_read_markers_match_the_messages(chat: Loaded, db: Any) -> None:
    newest = {
        row["room_id"]: row["newest"]
        for row in Message.objects.values("room_id").annotate(newest=Max("pk"))
    }
    for room in Room.objects.all():
        if room.pk not in newest:
            assert (room.last_message_id, room.last_message_at) == (0, None)
            continue
        assert room.last_message_id == newest[room.pk]
        assert room.last_message_at == Message.objects.get(pk=room.last_message_id).created_at
        # Ids follow time within a room: history pages and markers go by id.
        times = list(room.messages.order_by("pk").values_list("created_at", flat=True))
        assert times == sorted(times)
    in_room = dict(Message.objects.values_list("pk", "room_id"))
    for membership in Membership.objects.all():
        marker = membership.last_read_message_id
        assert marker == 0 or in_room[marker] == membership.room_id
    # Whoever wrote in a room is a member and has read their own last message.
    for room_id, author_id, last in (
        Message.objects.filter(author__isnull=False)
        .values_list("room_id", "author_id")
        .annotate(last=Max("pk"))
    ):
        membership = Membership.objects.get(room_id=room_id, user_id=author_id)
        assert membership.last_read_message_id >= last


def test_threads_reactions_and_mentions_match_their_rows(chat: Loaded, db: Any) -> None:
    replies = Counter(
        Message.objects.filter(thread_root__isnull=False).values_list("thread_root_id", flat=True)
    )
    assert replies, "some questions are answered in threads"
    for message in Message.objects.all():
        assert message.reply_count == replies.get(message.pk, 0)
    given = Counter(MessageReaction.objects.values_list("message_id", "emoji"))
    for message in Message.objects.exclude(reaction_counts={}):
        for emoji, n in message.reaction_counts.items():
            assert given[(message.pk, emoji)] == n
    assert (
        sum(sum(m.reaction_counts.values()) for m in Message.objects.all())
        == MessageReaction.objects.count()
    )
    for reaction in MessageReaction.objects.select_related("message"):
        assert reaction.user_id != reaction.message.author_id
    for row in Message.mentions.through.objects.select_related("message", "user"):
        assert f"@{row.user.email.split('@')[0]}" in row.message.body


def test_service_rooms_have_their_posters_and_the_owner_teams_agents(chat: Loaded, db: Any) -> None:
    talked_in = Room.objects.filter(kind=RoomKind.SERVICE, last_message_id__gt=0)
    assert talked_in.count() >= 5
    for room in talked_in.select_related("service"):
        assert room.name == f"#{room.service.hashtag}"
        members = Membership.objects.filter(room=room)
        assert members.filter(role=MemberRole.MODERATOR).exists()
        for membership in members.filter(role=MemberRole.MODERATOR).select_related("user"):
            assert is_staff(membership.user)
        authors = User.objects.filter(pk__in=room.messages.values("author_id"))
        # Questions by colleagues, answers by the desk.
        assert {is_staff(author) for author in authors} == {True, False}


def test_the_queue_has_conversations_waiting_for_minutes(chat: Loaded, db: Any) -> None:
    agent = User.objects.get(email__startswith="agent@")
    queue = waiting_queue(agent)
    assert 3 <= len(queue) <= 4
    for waiting in queue:
        assert timedelta(0) < waiting.waiting < timedelta(minutes=30)
        conversation = waiting.conversation
        assert conversation.service is not None and conversation.team is not None
        assert conversation.agent is None
        assert list(conversation.room.messages.values_list("author_id", flat=True)) == [
            conversation.requester_id
        ]
    active = Conversation.objects.filter(state=ConversationState.ACTIVE)
    assert 2 <= active.count() <= 3
    assert active.filter(agent=agent).exists()
    for conversation in active:
        assert (
            Membership.objects.get(room=conversation.room, user=conversation.agent).role
            == MemberRole.MODERATOR
        )
        assert conversation.room.archived_at is None
    # The requester's answer is new to the agent: unread in their room list.
    assert unread_counts(agent)[active.get(agent=agent).room_id] >= 1


def test_closed_conversations_link_the_incidents_they_were_filed_as(chat: Loaded, db: Any) -> None:
    closed = Conversation.objects.filter(state=ConversationState.CLOSED)
    assert closed.count() >= 3
    for conversation in closed.select_related("room", "incident"):
        assert conversation.closed_at is not None and conversation.room.archived_at is not None
        assert conversation.picked_up_at is not None and conversation.closed_by is not None
        assert conversation.room.messages.filter(kind=MessageKind.SYSTEM).exists()
        incident = conversation.incident
        if incident is not None:
            assert conversation.resolved_on_first_contact
            assert incident.source == Channel.CHAT
            assert incident.reporter_id == conversation.requester_id
            assert incident.state in (State.RESOLVED, State.CLOSED)
            assert conversation.room.messages.filter(body=f"Filed as {incident.number}").exists()


def test_nothing_confidential_and_nothing_to_redact(chat: Loaded, db: Any) -> None:
    assert not Message.objects.filter(room__service__visibility=Visibility.CONFIDENTIAL).exists()
    assert not Room.objects.filter(incident__visibility=Visibility.CONFIDENTIAL).exists()
    assert not Conversation.objects.filter(incident__visibility=Visibility.CONFIDENTIAL).exists()
    for body in set(Message.objects.values_list("body", flat=True)):
        assert redact(body).text == body


def test_a_requesters_room_list_shows_unread_badges(chat: Loaded, db: Any) -> None:
    requester = User.objects.get(email__startswith="requester@")
    unread = unread_counts(requester)
    assert unread and all(n > 0 for n in unread.values())
    client = Client()
    client.force_login(requester)
    page = client.get("/chat/")
    assert page.status_code == 200
    html = page.content.decode()
    some_room = Room.objects.get(pk=next(iter(unread)))
    assert some_room.name in html
    assert f'>{unread[some_room.pk]}<span class="visually-hidden"> unread</span>' in html
    # Their conversation waiting for the desk is listed too.
    waiting = Conversation.objects.get(requester=requester, state=ConversationState.WAITING)
    assert waiting.topic in html


def test_the_desk_sees_the_queue_page(chat: Loaded, db: Any) -> None:
    agent = User.objects.get(email__startswith="agent@")
    client = Client()
    client.force_login(agent)
    page = client.get("/chat/queue/")
    assert page.status_code == 200
    for conversation in Conversation.objects.filter(state=ConversationState.WAITING):
        assert conversation.topic in page.content.decode()


def test_loading_again_adds_nothing(chat: Loaded, db: Any) -> None:
    before = _rows()
    assert load_demo(incidents=INCIDENTS, posts=POSTS, chat_messages=CHAT).created == {}
    assert load_chat(seed=1, count=CHAT) == {}
    assert _rows() == before


def test_the_default_follows_the_incidents_and_zero_means_none(db: Any) -> None:
    assert chat_messages_for(30_000) == DEMO_CHAT_MESSAGES
    assert chat_messages_for(0) == 0
    assert build_parser().parse_args(["demo", "--chat-messages", "0"]).chat_messages == 0
    assert build_parser().parse_args(["demo"]).chat_messages is None
    assert load_chat(seed=1, count=0) == {}


def test_rooms_per_kind_are_what_the_product_shows(chat: Loaded, db: Any) -> None:
    kinds = dict(
        Room.objects.filter(last_message_id__gt=0).values_list("kind").annotate(n=Count("pk"))
    )
    assert kinds[RoomKind.HELP] == Conversation.objects.count()
    assert kinds[RoomKind.SERVICE] >= 5
    assert RoomKind.WAR_ROOM not in kinds  # the demo's current outage is not major
