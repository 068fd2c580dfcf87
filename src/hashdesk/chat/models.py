"""Rooms, members, messages and live-help conversations (docs/chat.md).

A message's ``body`` is stored only after secrets were redacted (hashdesk.core.redaction), as
on the wall. Every message has a server id, increasing within the database, which orders a
room's history and is the cursor of its pages and of read markers; ``client_key`` makes a
send idempotent (a client that resends after a lost acknowledgement gets the same message).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from hashdesk.chat.choices import (
    ConversationState,
    Lane,
    MemberRole,
    MessageKind,
    ReactionEmoji,
    RoomKind,
)

BODY_MAX = 4_000
CLIENT_KEY_MAX = 64


class Room(models.Model):
    kind = models.CharField(max_length=10, choices=RoomKind.choices)
    name = models.CharField(max_length=120)
    topic = models.CharField(max_length=300, blank=True)
    # A service room's service; for a war room or a conversation, the service it is about.
    service = models.ForeignKey(
        "catalog.Service",
        on_delete=models.PROTECT,
        related_name="chat_rooms",
        null=True,
        blank=True,
    )
    # A war room's incident (the two lanes are two rooms); a conversation filed as an incident.
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.PROTECT,
        related_name="chat_rooms",
        null=True,
        blank=True,
    )
    lane = models.CharField(max_length=10, choices=Lane.choices, blank=True, default=Lane.NONE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Newest message, for unread counts and room lists without an aggregate per room.
    last_message_id = models.PositiveBigIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(kind=RoomKind.SERVICE),
                name="chat_one_room_per_service",
            ),
            models.UniqueConstraint(
                fields=["incident", "lane"],
                condition=Q(kind=RoomKind.WAR_ROOM),
                name="chat_one_war_room_lane_per_incident",
            ),
            models.CheckConstraint(
                condition=~Q(kind=RoomKind.SERVICE) | Q(service__isnull=False),
                name="chat_service_room_has_service",
            ),
            models.CheckConstraint(
                condition=~Q(kind=RoomKind.WAR_ROOM)
                | (Q(incident__isnull=False) & ~Q(lane=Lane.NONE)),
                name="chat_war_room_has_incident_and_lane",
            ),
        ]
        indexes = [models.Index(fields=["kind", "last_message_at"])]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """Someone in a room: who may send there, and how far they have read."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_memberships"
    )
    role = models.CharField(max_length=10, choices=MemberRole.choices, default=MemberRole.MEMBER)
    joined_at = models.DateTimeField(default=timezone.now)
    # The id of the newest message this person has read in the room (0: none).
    last_read_message_id = models.PositiveBigIntegerField(default=0)
    last_read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["room", "user"], name="unique_chat_membership")
        ]
        indexes = [models.Index(fields=["user", "room"])]

    def __str__(self) -> str:
        return f"{self.user_id} in room {self.room_id}"


class Message(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    # None for system messages.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="chat_messages",
        null=True,
        blank=True,
    )
    kind = models.CharField(max_length=10, choices=MessageKind.choices, default=MessageKind.MESSAGE)
    body = models.TextField(max_length=BODY_MAX)
    body_html = models.TextField(blank=True)
    # What redaction removed, by kind and count (never the secrets themselves).
    redactions = models.JSONField(default=list, blank=True)
    mentions = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="chat_mentions", blank=True
    )
    # The sender's idempotency key: a resend with the same key is the same message.
    client_key = models.CharField(max_length=CLIENT_KEY_MAX, blank=True)
    # A thread on a message: replies name their thread's first message.
    thread_root = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="thread_replies", null=True, blank=True
    )
    reply_count = models.PositiveIntegerField(default=0)
    # Reaction counts by emoji ({"+1": 3}), kept in step with MessageReaction by the actions.
    reaction_counts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["author", "client_key"],
                condition=~Q(client_key=""),
                name="chat_message_idempotency",
            )
        ]
        indexes = [
            models.Index(fields=["room", "id"]),
            models.Index(fields=["thread_root", "id"]),
            models.Index(fields=["author", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"Message {self.pk} in room {self.room_id}"


class MessageRevision(models.Model):
    """An earlier text of an edited message (already redacted, like every stored text)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField(max_length=BODY_MAX)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["message", "created_at", "id"]

    def __str__(self) -> str:
        return f"Revision {self.pk} of message {self.message_id}"


class MessageReaction(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_reactions"
    )
    emoji = models.CharField(max_length=10, choices=ReactionEmoji.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "user", "emoji"], name="unique_chat_reaction"
            )
        ]

    def __str__(self) -> str:
        return f"{self.emoji} by {self.user_id} on message {self.message_id}"


class ChatAttachment(models.Model):
    """A file on a message: uploaded first by its uploader, then attached when the message is
    sent (``message`` is null until then). Stored by core.uploads under a random name."""

    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_attachments"
    )
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", null=True, blank=True
    )
    storage_name = models.CharField(max_length=64, unique=True)
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["message", "id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=Q(message__isnull=True),
                name="chat_attachment_unattached",
            )
        ]

    def __str__(self) -> str:
        return f"Attachment {self.pk} ({self.filename})"


class Conversation(models.Model):
    """A live-help conversation: one person and the service desk, in its own room."""

    room = models.OneToOneField(Room, on_delete=models.CASCADE, related_name="conversation")
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="help_conversations"
    )
    topic = models.CharField(max_length=200)
    # The service the opening message is about (wall.similar.detect_service), if any.
    service = models.ForeignKey(
        "catalog.Service", on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    state = models.CharField(
        max_length=10, choices=ConversationState.choices, default=ConversationState.WAITING
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="help_conversations_taken",
        null=True,
        blank=True,
    )
    # The team it waits for (a transfer to a team puts it back in the queue for that team).
    team = models.ForeignKey(
        "accounts.Team", on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    queued_at = models.DateTimeField(default=timezone.now)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True
    )
    # The incident it was filed as or linked to.
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.SET_NULL,
        related_name="help_conversations",
        null=True,
        blank=True,
    )
    resolved_on_first_contact = models.BooleanField(default=False)

    class Meta:
        ordering = ["queued_at", "id"]
        indexes = [
            models.Index(
                fields=["queued_at"],
                condition=Q(state="waiting"),
                name="chat_conversation_waiting",
            ),
            models.Index(fields=["agent", "state"]),
            models.Index(fields=["requester", "state"]),
        ]

    def __str__(self) -> str:
        return f"Conversation {self.pk} ({self.state})"
