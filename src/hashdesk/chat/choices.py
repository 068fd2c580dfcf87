"""Vocabulary of chat."""

from django.db import models


class RoomKind(models.TextChoices):
    # One per service (#vpn): anyone who may see the service may read and join it.
    SERVICE = "service", "Service room"
    # Opened when a major incident is declared, in two lanes (Lane).
    WAR_ROOM = "war_room", "Incident war room"
    # A live-help conversation between one person and the service desk.
    HELP = "help", "Live help"


class Lane(models.TextChoices):
    """The two lanes of an incident's war room."""

    NONE = "", "—"
    # The working lane: responders (staff) only; never seen by the people affected.
    RESPONDERS = "responders", "Responders"
    # Read and ask: the people affected read official updates and ask questions.
    PUBLIC = "public", "Updates and questions"


class MemberRole(models.TextChoices):
    MEMBER = "member", "Member"
    # May manage the room: invite and remove people (the incident's commander, staff).
    MODERATOR = "moderator", "Moderator"


class MessageKind(models.TextChoices):
    MESSAGE = "message", "Message"
    # The desk's official word (an incident's official update, mirrored into its war room).
    OFFICIAL = "official", "Official update"
    # Written by the system: someone joined, a conversation was picked up or transferred.
    SYSTEM = "system", "System"


class ReactionEmoji(models.TextChoices):
    THUMBS_UP = "+1", "Thumbs up"
    THANKS = "thanks", "Thanks"
    EYES = "eyes", "Looking"
    DONE = "done", "Done"
    SAD = "sad", "Sad"


class ConversationState(models.TextChoices):
    # In the desk's queue, waiting for an agent.
    WAITING = "waiting", "Waiting"
    ACTIVE = "active", "With an agent"
    CLOSED = "closed", "Closed"
