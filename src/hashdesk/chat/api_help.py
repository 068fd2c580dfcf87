"""Endpoints of live help: conversations, the queue, and filing them into the records.

Lookups go through ``core.visibility`` (a conversation the caller may not see is a 404); every
write calls ``chat.help``, the same actions the pages call, whose domain errors become problem
details. docs/api.md, "Chat: live help".
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from hashdesk.accounts.models import Team, User
from hashdesk.api.auth import acting_user
from hashdesk.api.pagination import Keyset, paginate
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, ObjectId, with_errors
from hashdesk.catalog.models import Service
from hashdesk.chat import help
from hashdesk.chat.models import Conversation
from hashdesk.chat.schemas_help import (
    CloseIn,
    ConversationDetailOut,
    ConversationFilters,
    ConversationIn,
    ConversationOut,
    ConversationPage,
    FileIncidentIn,
    LinkIncidentIn,
    TransferIn,
)
from hashdesk.core.errors import NotFound, ValidationFailed
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.incidents.api import incident_for

router = Router(tags=["chat"])

# The queue is served oldest first; every other list newest first.
QUEUE_ORDER = Keyset(("queued_at", "id"))
NEWEST_FIRST = Keyset(("-queued_at", "-id"))


def conversation_for(user: User, conversation_id: int) -> Conversation:
    conversation = (
        visible_to(user, Conversation.objects.filter(pk=conversation_id))
        .select_related("requester", "agent", "service", "team", "incident")
        .first()
    )
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation


def _detail(conversation: Conversation) -> dict[str, Any]:
    fields = ConversationOut.model_validate(conversation).model_dump()
    fields.pop("waiting_seconds", None)
    return {**fields, **help.read_markers(conversation)}


def _reloaded(user: User, conversation: Conversation) -> dict[str, Any]:
    return _detail(conversation_for(user, conversation.pk))


@router.post(
    "chat/conversations",
    response=with_errors({200: ConversationDetailOut, 201: ConversationDetailOut}, WRITE_ERRORS),
)
def open_conversation(request: HttpRequest, payload: ConversationIn) -> Status[dict[str, Any]]:
    """Start live help: a conversation with the service desk, with its first message (201); the
    same ``client_key`` again answers the conversation it opened (200)."""
    user = acting_user(request)
    opened = help.do_open_conversation(
        user, topic=payload.topic, body=payload.body, client_key=payload.client_key
    )
    return Status(201 if opened.created else 200, _reloaded(user, opened.conversation))


@router.get("chat/conversations", response=with_errors({200: ConversationPage}, READ_ERRORS))
def list_conversations(
    request: HttpRequest, response: HttpResponse, filters: Query[ConversationFilters]
) -> dict[str, Any]:
    """Staff: every conversation (``state=waiting`` is the queue, oldest first; ``mine`` those
    they have; ``team`` those waiting for a team). Anyone else: their own."""
    user = acting_user(request)
    conversations = help.conversations_of(user, state=filters.state, mine=filters.mine)
    if filters.team is not None and is_staff(user):
        conversations = conversations.filter(team__slug=filters.team)
    order = QUEUE_ORDER if filters.state == "waiting" else NEWEST_FIRST
    return paginate(request, response, conversations, order, filters)


@router.get(
    "chat/conversations/{int:conversation_id}",
    response=with_errors({200: ConversationDetailOut}, READ_ERRORS),
)
def get_conversation(request: HttpRequest, conversation_id: ObjectId) -> dict[str, Any]:
    """A conversation, with how far each side has read (read receipts)."""
    return _detail(conversation_for(acting_user(request), conversation_id))


@router.post(
    "chat/conversations/{int:conversation_id}/pick-up",
    response=with_errors({200: ConversationDetailOut}, WRITE_ERRORS),
)
def pick_up_conversation(request: HttpRequest, conversation_id: ObjectId) -> dict[str, Any]:
    """Take a waiting conversation (staff); 409 when another agent was quicker."""
    user = acting_user(request)
    conversation = help.do_pick_up(user, conversation_for(user, conversation_id))
    return _reloaded(user, conversation)


@router.post(
    "chat/conversations/{int:conversation_id}/transfer",
    response=with_errors({200: ConversationDetailOut}, WRITE_ERRORS),
)
def transfer_conversation(
    request: HttpRequest, conversation_id: ObjectId, payload: TransferIn
) -> dict[str, Any]:
    """Hand it to another agent, or back to a team's queue (staff); give one of the two."""
    user = acting_user(request)
    conversation = conversation_for(user, conversation_id)
    to_agent = to_team = None
    if payload.agent_id is not None:
        to_agent = visible_to(user, User.objects.filter(pk=payload.agent_id)).first()
        if to_agent is None:
            raise ValidationFailed(f"There is no person {payload.agent_id}.", field="agent_id")
    if payload.team_id is not None:
        to_team = Team.objects.filter(pk=payload.team_id).first()
        if to_team is None:
            raise ValidationFailed(f"There is no team {payload.team_id}.", field="team_id")
    conversation = help.do_transfer(user, conversation, to_agent=to_agent, to_team=to_team)
    return _reloaded(user, conversation)


@router.post(
    "chat/conversations/{int:conversation_id}/close",
    response=with_errors({200: ConversationDetailOut}, WRITE_ERRORS),
)
def close_conversation(
    request: HttpRequest, conversation_id: ObjectId, payload: CloseIn
) -> dict[str, Any]:
    """Close it (its requester or staff); its room stays readable."""
    user = acting_user(request)
    conversation = help.do_close(
        user, conversation_for(user, conversation_id), resolved=payload.resolved
    )
    return _reloaded(user, conversation)


@router.post(
    "chat/conversations/{int:conversation_id}/file-incident",
    response=with_errors({201: ConversationDetailOut}, WRITE_ERRORS),
)
def file_conversation_as_incident(
    request: HttpRequest, conversation_id: ObjectId, payload: FileIncidentIn
) -> Status[dict[str, Any]]:
    """File it as a new incident with its transcript attached (staff); ``incident`` in the
    answer names it."""
    user = acting_user(request)
    conversation = conversation_for(user, conversation_id)
    service = None
    if payload.service is not None:
        service = visible_to(user, Service.objects.filter(slug=payload.service)).first()
        if service is None:
            raise ValidationFailed(f"There is no service {payload.service!r}.", field="service")
    help.do_file_as_incident(
        user,
        conversation,
        title=payload.title,
        resolved_on_first_contact=payload.resolved_on_first_contact,
        service=service,
    )
    return Status(201, _reloaded(user, conversation))


@router.post(
    "chat/conversations/{int:conversation_id}/link-incident",
    response=with_errors({200: ConversationDetailOut}, WRITE_ERRORS),
)
def link_conversation_to_incident(
    request: HttpRequest, conversation_id: ObjectId, payload: LinkIncidentIn
) -> dict[str, Any]:
    """Record it with an existing incident (staff): the requester becomes affected and the
    transcript is attached."""
    user = acting_user(request)
    conversation = conversation_for(user, conversation_id)
    try:
        incident = incident_for(user, payload.number)
    except NotFound as error:
        raise NotFound(error.detail, field="number") from error
    help.do_link_to_incident(user, conversation, incident)
    return _reloaded(user, conversation)
