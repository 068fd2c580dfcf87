"""Live help (PRODUCT.md story 6; docs/chat.md, "Live help" and "Into the records").

A person opens a conversation with the service desk: a help room of their own, with their first
message in it, waiting in the desk's queue. An agent picks it up (a row lock decides between two
agents racing for it), may transfer it to another agent or back to the queue of a team, and
either side closes it. The conversation can then be filed as an incident (its transcript
attached, resolved on first contact when the chat solved it) or linked to an existing one.

Every change here is one transaction with an audit row, a system message in the room and a
``chat_conversation`` event on ``staff`` (the queue) and the requester's ``user:<id>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from hashdesk.accounts.models import Team, User
from hashdesk.audit import trail
from hashdesk.catalog.models import Service
from hashdesk.chat import actions
from hashdesk.chat.choices import ConversationState, MemberRole, RoomKind
from hashdesk.chat.events import ChatConversationEvent, ChatRoomEvent
from hashdesk.chat.models import Conversation, Membership, Message, Room
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.events import send_event
from hashdesk.core.validation import require_text
from hashdesk.core.visibility import can_view, is_signed_in, is_staff
from hashdesk.incidents.choices import Channel, ResolutionCode, State
from hashdesk.incidents.models import DESCRIPTION_MAX, TITLE_MAX, AffectedUser, Incident

# Conversations one person may have open (waiting or with an agent) at once.
OPEN_CONVERSATIONS_MAX = 3
TOPIC_MAX = Conversation._meta.get_field("topic").max_length or 200
ROOM_NAME_MAX = Room._meta.get_field("name").max_length or 120
OPEN_STATES = (ConversationState.WAITING, ConversationState.ACTIVE)
# How much of the conversation an incident's description quotes (the whole is attached).
SUMMARY_MESSAGES = 10
SUMMARY_LINE_MAX = 300


@dataclass(frozen=True)
class Opened:
    """What ``do_open_conversation`` did: the conversation, and whether this call opened it
    (False: the same ``client_key`` opened it before)."""

    conversation: Conversation
    created: bool


@dataclass(frozen=True)
class Waiting:
    """A conversation in the queue, as the queue shows it."""

    conversation: Conversation
    waiting: timedelta

    @property
    def topic(self) -> str:
        return self.conversation.topic

    @property
    def service(self) -> Service | None:
        return self.conversation.service

    @property
    def team(self) -> Team | None:
        return self.conversation.team


# --- Snapshots and events -----------------------------------------------------------------------


def _person(user: User | None) -> dict[str, Any] | None:
    return {"id": user.pk, "name": user.display_name} if user is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def conversation_snapshot(conversation: Conversation) -> dict[str, Any]:
    """A conversation as events and the API show it (no read markers: see ``read_markers``)."""
    service, team, incident = conversation.service, conversation.team, conversation.incident
    return {
        "id": conversation.pk,
        "room_id": conversation.room_id,
        "topic": conversation.topic,
        "state": conversation.state,
        "requester": _person(conversation.requester),
        "agent": _person(conversation.agent),
        "service": {"id": service.pk, "name": service.name} if service is not None else None,
        "team": {"id": team.pk, "name": team.name} if team is not None else None,
        "queued_at": _iso(conversation.queued_at),
        "picked_up_at": _iso(conversation.picked_up_at),
        "closed_at": _iso(conversation.closed_at),
        "incident": (
            {"id": incident.pk, "number": incident.number} if incident is not None else None
        ),
        "resolved_on_first_contact": conversation.resolved_on_first_contact,
    }


def read_markers(conversation: Conversation) -> dict[str, int]:
    """How far the requester and the agent have read (message ids; 0: nothing), so each side
    sees when their message was read. One query."""
    marks = dict(
        Membership.objects.filter(
            room_id=conversation.room_id,
            user_id__in=[conversation.requester_id, conversation.agent_id or 0],
        ).values_list("user_id", "last_read_message_id")
    )
    return {
        "requester_read_message_id": marks.get(conversation.requester_id, 0),
        "agent_read_message_id": (
            marks.get(conversation.agent_id, 0) if conversation.agent_id is not None else 0
        ),
    }


def _publish(conversation: Conversation, op: str) -> None:
    send_event(
        ChatConversationEvent(op=op, conversation=conversation_snapshot(conversation)),
        streams=[streams.STAFF, streams.user(conversation.requester_id)],
    )


def _record(actor: User, action: str, conversation: Conversation, **after: Any) -> None:
    trail.record(
        actor=actor,
        action=f"chat.conversation_{action}",
        obj=conversation,
        after={"state": conversation.state, **after},
    )


# --- Checks ---------------------------------------------------------------------------------------


def _require_person(actor: User | None) -> User:
    if actor is None or not is_signed_in(actor):
        raise Forbidden("Sign in to chat with the service desk.")
    return actor


def _require_agent(actor: User | None, what: str) -> User:
    person = _require_person(actor)
    if not is_staff(person):
        raise Forbidden(f"Only service desk staff can {what}.")
    return person


def _lock(actor: User, conversation: Conversation) -> Conversation:
    """The conversation re-read under its row lock (two agents racing wait here); NotFound
    when ``actor`` may not see it."""
    if not can_view(actor, conversation):
        raise NotFound("No such conversation.")
    return (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("room", "requester", "agent", "service", "team", "incident")
        .get(pk=conversation.pk)
    )


def _require_open(conversation: Conversation) -> None:
    if conversation.state == ConversationState.CLOSED:
        raise Conflict("This conversation is closed.", field="state")


def _open_count(requester: User) -> int:
    return Conversation.objects.filter(requester=requester, state__in=OPEN_STATES).count()


# --- Opening and the queue --------------------------------------------------------------------


def _opened_before(requester: User, client_key: str) -> Conversation | None:
    """The conversation an earlier try with this ``client_key`` opened (its first message
    carries the key)."""
    if not client_key.strip():
        return None
    first = (
        Message.objects.filter(
            author=requester, client_key=client_key.strip(), room__kind=RoomKind.HELP
        )
        .values_list("room_id", flat=True)
        .first()
    )
    if first is None:
        return None
    return Conversation.objects.filter(room_id=first).first()


def do_open_conversation(
    requester: User | None, *, topic: str, body: str, client_key: str = ""
) -> Opened:
    """Open a live-help conversation: a help room for ``requester``, their first message in it
    (``actions.do_send_message``: checks, redaction, rate limit, idempotency), the service
    detected from topic and message as they see services, and a place in the desk's queue (for
    the service's owner team, if any). Sending the same ``client_key`` again returns the
    conversation it opened. At most ``OPEN_CONVERSATIONS_MAX`` open at once (Conflict)."""
    person = _require_person(requester)
    earlier = _opened_before(person, client_key)
    if earlier is not None:
        return Opened(earlier, created=False)
    subject = require_text(topic, field="topic", max_length=TOPIC_MAX)
    from hashdesk.wall.similar import detect_service

    with transaction.atomic():
        # The requester's row lock: two tabs opening at once cannot both pass the limit.
        User.objects.select_for_update().filter(pk=person.pk).first()
        if _open_count(person) >= OPEN_CONVERSATIONS_MAX:
            raise Conflict(
                f"You already have {OPEN_CONVERSATIONS_MAX} open conversations with the service "
                "desk; continue one of them or close it first.",
                field="topic",
            )
        service = detect_service(person, f"{subject}\n{body}")
        room = Room.objects.create(
            kind=RoomKind.HELP,
            name=f"Help: {subject}"[:ROOM_NAME_MAX],
            topic=subject,
            service=service,
            created_by=person,
        )
        actions.add_member(room, person)
        conversation = Conversation.objects.create(
            room=room,
            requester=person,
            topic=subject,
            service=service,
            team=service.owner_team if service is not None else None,
        )
        actions.do_send_message(person, room, body=body, client_key=client_key)
        _record(person, "open", conversation, topic=subject, service_id=conversation.service_id)
        _publish(conversation, "queued")
    return Opened(conversation, created=True)


def waiting_queue(agent: User | None, *, team: Team | None = None) -> list[Waiting]:
    """Conversations waiting for an agent, oldest first, with how long each has waited; only
    those waiting for ``team`` when given. Staff only. One query, however long the queue."""
    _require_agent(agent, "see the live-help queue")
    waiting = Conversation.objects.filter(state=ConversationState.WAITING).select_related(
        "requester", "service", "team"
    )
    if team is not None:
        waiting = waiting.filter(team=team)
    now = timezone.now()
    return [
        Waiting(conversation, now - conversation.queued_at)
        for conversation in waiting.order_by("queued_at", "id")
    ]


def conversations_of(
    viewer: User | None, *, state: str | None = None, mine: bool = False
) -> QuerySet[Conversation]:
    """Conversations ``viewer`` may see, newest first: a requester their own; staff all of them,
    or with ``mine`` those they are the agent of. Optionally of one ``state``."""
    person = _require_person(viewer)
    found = Conversation.objects.select_related("requester", "agent", "service", "team", "incident")
    if is_staff(person):
        if mine:
            found = found.filter(agent=person)
    else:
        found = found.filter(requester=person)
    if state is not None:
        if state not in ConversationState.values:
            raise ValidationFailed(f"Unknown state {state!r}.", field="state")
        found = found.filter(state=state)
    return found.order_by("-queued_at", "-id")


# --- Picking up, transferring, closing ------------------------------------------------------------


def _join_as_agent(conversation: Conversation, agent: User) -> None:
    """The agent joins as the room's moderator. A newcomer's read marker starts at nothing (not
    at the room's newest message, as for other rooms): the requester sees when the agent has
    really read what they wrote."""
    new = not actions.is_member(agent, conversation.room)
    membership = actions.add_member(conversation.room, agent, role=MemberRole.MODERATOR)
    changes: dict[str, Any] = {"role": MemberRole.MODERATOR}
    if new:
        changes["last_read_message_id"] = 0
    Membership.objects.filter(pk=membership.pk).update(**changes)


@transaction.atomic
def do_pick_up(agent: User | None, conversation: Conversation) -> Conversation:
    """An agent takes a waiting conversation: it becomes theirs and active, they join the room
    as its moderator. The second of two agents racing for it gets a Conflict."""
    person = _require_agent(agent, "pick up conversations")
    conversation = _lock(person, conversation)
    _require_open(conversation)
    if conversation.state != ConversationState.WAITING:
        taker = conversation.agent.display_name if conversation.agent else "another agent"
        raise Conflict(f"{taker} already picked up this conversation.", field="state")
    conversation.state = ConversationState.ACTIVE
    conversation.agent = person
    conversation.picked_up_at = timezone.now()
    conversation.save(update_fields=["state", "agent", "picked_up_at"])
    _join_as_agent(conversation, person)
    actions.post_system_message(conversation.room, f"{person.display_name} joined")
    _record(person, "pick_up", conversation, agent_id=person.pk)
    _publish(conversation, "picked_up")
    return conversation


@transaction.atomic
def do_transfer(
    agent: User | None,
    conversation: Conversation,
    *,
    to_agent: User | None = None,
    to_team: Team | None = None,
) -> Conversation:
    """Hand an open conversation to another agent (who joins and has it, active) or back to the
    queue of a team (waiting, keeping its place by when it was first queued). Any staff member
    may transfer; the previous agent stays in the room until they leave it."""
    person = _require_agent(agent, "transfer conversations")
    if (to_agent is None) == (to_team is None):
        raise ValidationFailed("Transfer to an agent or to a team.", field="agent_id")
    if to_agent is not None and (not is_staff(to_agent) or not to_agent.is_active):
        raise ValidationFailed(
            f"{to_agent} is not service desk staff and cannot take conversations.",
            field="agent_id",
        )
    conversation = _lock(person, conversation)
    _require_open(conversation)
    before = conversation.agent_id
    if to_agent is not None:
        if to_agent.pk == conversation.agent_id:
            raise Conflict(f"{to_agent.display_name} already has this conversation.")
        conversation.state = ConversationState.ACTIVE
        conversation.agent = to_agent
        conversation.picked_up_at = timezone.now()
        _join_as_agent(conversation, to_agent)
        text = f"{person.display_name} transferred the conversation to {to_agent.display_name}"
    else:
        assert to_team is not None
        conversation.state = ConversationState.WAITING
        conversation.agent = None
        conversation.picked_up_at = None
        conversation.team = to_team
        text = f"{person.display_name} transferred the conversation to the {to_team.name} team"
    conversation.save(update_fields=["state", "agent", "picked_up_at", "team"])
    actions.post_system_message(conversation.room, text)
    _record(
        person,
        "transfer",
        conversation,
        from_agent_id=before,
        agent_id=conversation.agent_id,
        team_id=conversation.team_id,
    )
    _publish(conversation, "transferred")
    return conversation


@transaction.atomic
def do_close(actor: User | None, conversation: Conversation, *, resolved: bool) -> Conversation:
    """Close a conversation (its requester or staff) and archive its room, which stays readable.
    ``resolved``: the chat solved the problem — kept as ``resolved_on_first_contact``."""
    person = _require_person(actor)
    conversation = _lock(person, conversation)
    if not is_staff(person) and conversation.requester_id != person.pk:
        raise NotFound("No such conversation.")
    _require_open(conversation)
    now = timezone.now()
    conversation.state = ConversationState.CLOSED
    conversation.closed_at = now
    conversation.closed_by = person
    conversation.resolved_on_first_contact = bool(resolved)
    conversation.save(
        update_fields=["state", "closed_at", "closed_by", "resolved_on_first_contact"]
    )
    outcome = "resolved" if resolved else "not resolved"
    actions.post_system_message(
        conversation.room, f"{person.display_name} closed the conversation ({outcome})"
    )
    room = conversation.room
    room.archived_at = now
    room.save(update_fields=["archived_at"])
    send_event(
        ChatRoomEvent(op="update", room=actions.room_snapshot(room)),
        streams=[streams.room(room.pk)],
    )
    _record(person, "close", conversation, resolved=bool(resolved))
    _publish(conversation, "closed")
    return conversation


# --- Into the records -----------------------------------------------------------------------------


def transcript(conversation: Conversation) -> str:
    """The conversation as text: time, author and text of every message not deleted, as stored
    (secrets were redacted before storing). One query."""
    lines = [
        f"Live help conversation {conversation.pk}: {conversation.topic}",
        f"Requester: {conversation.requester.display_name}",
        "",
    ]
    messages = (
        Message.objects.filter(room_id=conversation.room_id, deleted_at__isnull=True)
        .select_related("author")
        .order_by("pk")
    )
    for message in messages:
        who = message.author.display_name if message.author is not None else "Hashdesk"
        when = message.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"[{when} UTC] {who}: {message.body}")
    return "\n".join(lines) + "\n"


def _summary(conversation: Conversation) -> str:
    """The incident's description: the topic and the first messages of the conversation."""
    messages = (
        Message.objects.filter(room_id=conversation.room_id, deleted_at__isnull=True)
        .exclude(author=None)
        .select_related("author")
        .order_by("pk")[:SUMMARY_MESSAGES]
    )
    lines = [
        f"Filed from live help conversation {conversation.pk} ({conversation.topic}).",
        "The full transcript is attached.",
        "",
    ]
    for message in messages:
        author = message.author.display_name if message.author is not None else "Hashdesk"
        text = " ".join(message.body.split())
        if len(text) > SUMMARY_LINE_MAX:
            text = text[: SUMMARY_LINE_MAX - 1] + "…"
        lines.append(f"> **{author}:** {text}")
    return "\n".join(lines)[:DESCRIPTION_MAX]


def _attach_transcript(agent: User, conversation: Conversation, incident: Incident) -> None:
    """The transcript as ``transcript-<id>.txt``, internal (staff only): a private conversation
    must not reach everyone else who may see the incident."""
    from hashdesk.incidents.attachments import do_add_attachment

    upload = SimpleUploadedFile(
        f"transcript-{conversation.pk}.txt",
        transcript(conversation).encode("utf-8"),
        content_type="text/plain",
    )
    do_add_attachment(agent, incident, upload=upload, public=False)


def _require_unrecorded(conversation: Conversation) -> None:
    if conversation.incident is not None:
        raise Conflict(
            f"This conversation is already recorded as {conversation.incident.number}.",
            field="incident",
        )


@transaction.atomic
def do_file_as_incident(
    agent: User | None,
    conversation: Conversation,
    *,
    title: str | None = None,
    resolved_on_first_contact: bool = False,
    service: Service | None = None,
) -> Incident:
    """File the conversation as a new incident reported by its requester (channel chat) on its
    service (or ``service``), described by its first messages, with the whole transcript
    attached; resolved (code "solved", on first contact) when the chat solved it."""
    from hashdesk.incidents.actions import do_create_incident, do_transition

    person = _require_agent(agent, "file conversations as incidents")
    conversation = _lock(person, conversation)
    _require_unrecorded(conversation)
    service = service or conversation.service
    if service is None:
        raise ValidationFailed(
            "No service was recognised in this conversation; choose one.", field="service"
        )
    incident = do_create_incident(
        person,
        title=(title or "").strip()[:TITLE_MAX] or conversation.topic[:TITLE_MAX],
        description=_summary(conversation),
        service=service,
        source=Channel.CHAT,
        reporter=conversation.requester,
    )
    _attach_transcript(person, conversation, incident)
    if resolved_on_first_contact:
        incident = do_transition(
            person,
            incident,
            State.RESOLVED,
            expected_version=Incident.objects.values_list("version", flat=True).get(pk=incident.pk),
            resolution_code=ResolutionCode.SOLVED,
            resolution_notes=(
                f"Resolved on first contact in live help (conversation {conversation.pk})."
            ),
        )
    conversation.incident = incident
    conversation.resolved_on_first_contact = bool(resolved_on_first_contact)
    conversation.save(update_fields=["incident", "resolved_on_first_contact"])
    actions.post_system_message(conversation.room, f"Filed as {incident.number}")
    _record(
        person,
        "file",
        conversation,
        incident_id=incident.pk,
        resolved_on_first_contact=bool(resolved_on_first_contact),
    )
    _publish(conversation, "filed")
    return incident


@transaction.atomic
def do_link_to_incident(
    agent: User | None, conversation: Conversation, incident: Incident
) -> Incident:
    """Record the conversation with an existing incident instead: its requester becomes an
    affected person (channel chat) unless they already are, and the transcript is attached."""
    from hashdesk.incidents.actions import do_add_affected_user

    person = _require_agent(agent, "link conversations to incidents")
    conversation = _lock(person, conversation)
    _require_unrecorded(conversation)
    if not can_view(person, incident):
        raise NotFound("No such incident.", field="number")
    requester = conversation.requester
    if not AffectedUser.objects.filter(incident=incident, user=requester).exists():
        do_add_affected_user(person, incident, requester, channel=Channel.CHAT)
    _attach_transcript(person, conversation, incident)
    conversation.incident = incident
    conversation.save(update_fields=["incident"])
    actions.post_system_message(conversation.room, f"Linked to {incident.number}")
    _record(person, "link", conversation, incident_id=incident.pk)
    _publish(conversation, "linked")
    return incident
