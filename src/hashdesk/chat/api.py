"""Chat endpoints: rooms, membership, messages, reactions, threads, read markers, files and
search (docs/api.md, "Chat"; docs/chat.md). Live help is ``chat.api_help``.

Lookups go through ``core.visibility``: a room or message one may not see is a 404; one seen
but not allowed (sending without being a member, editing another's words) a 403. Every write
calls the actions the pages and the WebSocket call (``chat.actions``, ``chat.messages``).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import File, Query, Router, Status, UploadedFile

from hashdesk.accounts.models import User
from hashdesk.api.auth import acting_user
from hashdesk.api.pagination import Keyset, PageParams, paginate
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, ObjectId, with_errors
from hashdesk.chat import actions, messages, search
from hashdesk.chat.choices import RoomKind
from hashdesk.chat.models import Membership, Message, Room
from hashdesk.chat.schemas import (
    THREAD_MAX,
    ChatAttachmentOut,
    ChatMessageOut,
    DeleteParams,
    HistoryParams,
    MemberPage,
    MessageCreate,
    MessageEdit,
    MessagePage,
    ReactionIn,
    ReadIn,
    ReadOut,
    RoomListParams,
    RoomOut,
    RoomPage,
    SearchOut,
    SearchParams,
    ThreadOut,
)
from hashdesk.core.errors import NotFound
from hashdesk.core.visibility import visible_to

router = Router(tags=["chat"])

UPLOAD_ERRORS = (*WRITE_ERRORS, 415)
ROOM_ORDER = Keyset(("name", "id"))
MEMBER_ORDER = Keyset(("joined_at", "id"))


# --- Lookups (all through visibility) ----------------------------------------------------------


def room_for(user: User, room_id: int) -> Room:
    room = visible_to(user, Room.objects.all()).filter(pk=room_id).first()
    if room is None:
        raise NotFound("No such room.")
    return room


def message_for(user: User, message_id: int) -> Message:
    message = (
        visible_to(user, Message.objects.select_related("author"))
        .prefetch_related("attachments")
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        raise NotFound("No such message.")
    return message


def _room_out(room: Room, *, member: bool, unread: int) -> dict[str, Any]:
    return {
        **actions.room_snapshot(room),
        "last_message_at": room.last_message_at,
        "member": member,
        "unread": unread,
    }


def _messages_out(rows: list[Message]) -> list[dict[str, Any]]:
    return [actions.message_snapshot(message) for message in rows]


# --- Rooms and membership ----------------------------------------------------------------------


@router.get("chat/rooms", response=with_errors({200: RoomPage}, READ_ERRORS))
def list_rooms(
    request: HttpRequest, response: HttpResponse, params: Query[RoomListParams]
) -> dict[str, Any]:
    """The rooms you are in, by name, with unread counts; ``joinable=true``: the rooms you may
    join (service rooms and war rooms' read-and-ask lanes you may see; staff also working
    lanes). Live-help rooms are joined through their conversation."""
    user = acting_user(request)
    mine = Membership.objects.filter(user_id=user.pk).values("room_id")
    rooms = visible_to(user, Room.objects.all())
    if params.joinable:
        # What actions.may_join allows, as one filter: visibility already keeps confidential
        # war rooms (and every working lane, for people who are not staff) out.
        rows = rooms.exclude(pk__in=mine).filter(
            Q(kind=RoomKind.SERVICE) | Q(kind=RoomKind.WAR_ROOM), archived_at__isnull=True
        )
    else:
        rows = rooms.filter(pk__in=mine)
    page = paginate(request, response, rows, ROOM_ORDER, params)
    unread = {} if params.joinable else actions.unread_counts(user, page["items"])
    page["items"] = [
        _room_out(room, member=not params.joinable, unread=unread.get(room.pk, 0))
        for room in page["items"]
    ]
    return page


@router.get("chat/rooms/{int:room_id}", response=with_errors({200: RoomOut}, READ_ERRORS))
def get_room(request: HttpRequest, room_id: ObjectId) -> dict[str, Any]:
    """A room you may see, with whether you are in it and your unread count."""
    user = acting_user(request)
    room = room_for(user, room_id)
    member = actions.is_member(user, room)
    unread = actions.unread_counts(user, [room]).get(room.pk, 0) if member else 0
    return _room_out(room, member=member, unread=unread)


@router.post("chat/rooms/{int:room_id}/join", response=with_errors({200: RoomOut}, WRITE_ERRORS))
def join_room(request: HttpRequest, room_id: ObjectId) -> dict[str, Any]:
    """Join a room you may join (403 otherwise; 409 when already in it)."""
    user = acting_user(request)
    room = room_for(user, room_id)
    actions.do_join_room(user, room)
    return _room_out(room, member=True, unread=0)


@router.delete("chat/rooms/{int:room_id}/join", response=with_errors({204: None}, WRITE_ERRORS))
def leave_room(request: HttpRequest, room_id: ObjectId) -> Status[None]:
    """Leave a room (404 when you are not in it)."""
    user = acting_user(request)
    actions.do_leave_room(user, room_for(user, room_id))
    return Status(204, None)


@router.get(
    "chat/rooms/{int:room_id}/members", response=with_errors({200: MemberPage}, READ_ERRORS)
)
def list_members(
    request: HttpRequest, response: HttpResponse, room_id: ObjectId, params: Query[PageParams]
) -> dict[str, Any]:
    """The room's members, first joined first."""
    user = acting_user(request)
    room = room_for(user, room_id)
    rows: QuerySet[Membership] = Membership.objects.filter(room=room).select_related("user")
    page = paginate(request, response, rows, MEMBER_ORDER, params)
    page["items"] = [
        {
            "user": {"id": member.user.pk, "name": member.user.display_name},
            "role": member.role,
            "joined_at": member.joined_at,
        }
        for member in page["items"]
    ]
    return page


# --- Messages ------------------------------------------------------------------------------------


@router.get(
    "chat/rooms/{int:room_id}/messages", response=with_errors({200: MessagePage}, READ_ERRORS)
)
def list_messages(
    request: HttpRequest, room_id: ObjectId, params: Query[HistoryParams]
) -> dict[str, Any]:
    """A page of the room's history, oldest first: the newest messages; with ``before``, the
    ones older than that id (scrolling back); with ``after``, those newer (what a client
    missed). Follow ``prev_cursor`` as ``before`` and ``next_cursor`` as ``after``."""
    user = acting_user(request)
    room = room_for(user, room_id)
    # One more than asked, to learn whether the page has a neighbour in its direction.
    rows = list(
        actions.history(
            user, room, before=params.before, after=params.after, limit=params.limit + 1
        )
    )
    more = len(rows) > params.limit
    prev_cursor: int | None
    if params.after is not None:
        rows = rows[: params.limit]
        prev_cursor = rows[0].pk if rows else params.after + 1
        next_cursor = rows[-1].pk if more else None
    else:
        rows = rows[-params.limit :] if more else rows
        prev_cursor = rows[0].pk if more else None
        next_cursor = rows[-1].pk if params.before is not None and rows else None
    return {"items": _messages_out(rows), "prev_cursor": prev_cursor, "next_cursor": next_cursor}


@router.post(
    "chat/rooms/{int:room_id}/messages",
    response=with_errors({200: ChatMessageOut, 201: ChatMessageOut}, WRITE_ERRORS),
)
def send_message(
    request: HttpRequest, room_id: ObjectId, payload: MessageCreate
) -> Status[dict[str, Any]]:
    """Send a message to a room you are in (403 otherwise). 201 when stored; 200 when you sent
    the same ``client_key`` before (that message, nothing new). Secrets are redacted first;
    rate limited per person (429)."""
    user = acting_user(request)
    room = room_for(user, room_id)
    root = message_for(user, payload.thread_root_id) if payload.thread_root_id else None
    files = messages.unattached_for(user, payload.attachment_ids)
    sent = actions.do_send_message(
        user,
        room,
        body=payload.body,
        client_key=payload.client_key,
        thread_root=root,
        attachments=files,
    )
    return Status(201 if sent.created else 200, actions.message_snapshot(sent.message))


@router.patch(
    "chat/messages/{int:message_id}", response=with_errors({200: ChatMessageOut}, WRITE_ERRORS)
)
def edit_message(request: HttpRequest, message_id: ObjectId, payload: MessageEdit) -> Any:
    """Change your message's text (the earlier text is kept as a revision)."""
    user = acting_user(request)
    message = messages.do_edit_message(user, message_for(user, message_id), body=payload.body)
    return actions.message_snapshot(message)


@router.delete("chat/messages/{int:message_id}", response=with_errors({204: None}, WRITE_ERRORS))
def delete_message(
    request: HttpRequest, message_id: ObjectId, params: Query[DeleteParams]
) -> Status[None]:
    """Delete a message: yours, or anyone's for staff and the room's moderators. It keeps its
    place in the history without its text."""
    user = acting_user(request)
    messages.do_delete_message(user, message_for(user, message_id), reason=params.reason)
    return Status(204, None)


@router.post(
    "chat/messages/{int:message_id}/reactions",
    response=with_errors({200: ChatMessageOut}, WRITE_ERRORS),
)
def react(request: HttpRequest, message_id: ObjectId, payload: ReactionIn) -> Any:
    """React to a message of a room you are in (again with the same emoji: no change)."""
    user = acting_user(request)
    message = messages.do_react(user, message_for(user, message_id), payload.emoji)
    return actions.message_snapshot(message)


@router.delete(
    "chat/messages/{int:message_id}/reactions/{emoji}",
    response=with_errors({200: ChatMessageOut}, WRITE_ERRORS),
)
def unreact(request: HttpRequest, message_id: ObjectId, emoji: str) -> Any:
    """Take your reaction back (none: no change). ``+1`` is ``%2B1`` in the path."""
    user = acting_user(request)
    message = messages.do_unreact(user, message_for(user, message_id), emoji)
    return actions.message_snapshot(message)


@router.get(
    "chat/messages/{int:message_id}/thread", response=with_errors({200: ThreadOut}, READ_ERRORS)
)
def get_thread(request: HttpRequest, message_id: ObjectId) -> dict[str, Any]:
    """A message's thread: its first message and the replies, oldest first (a reply's id
    answers its whole thread)."""
    user = acting_user(request)
    root = message_for(user, message_id)
    if root.thread_root_id is not None:
        root = message_for(user, root.thread_root_id)
    replies = (
        visible_to(user, Message.objects.filter(thread_root=root))
        .select_related("author")
        .prefetch_related("attachments")
        .order_by("id")[:THREAD_MAX]
    )
    return {
        "root": actions.message_snapshot(root),
        "replies": _messages_out(list(replies)),
    }


@router.post("chat/rooms/{int:room_id}/read", response=with_errors({200: ReadOut}, WRITE_ERRORS))
def mark_read(request: HttpRequest, room_id: ObjectId, payload: ReadIn) -> dict[str, Any]:
    """Move your read marker up to ``message_id`` (never back); your other devices hear it."""
    user = acting_user(request)
    room = room_for(user, room_id)
    membership = actions.do_mark_read(user, room, payload.message_id)
    return {
        "room_id": room.pk,
        "last_read_message_id": membership.last_read_message_id,
        "unread": actions.unread_counts(user, [room]).get(room.pk, 0),
    }


# --- Files and search ----------------------------------------------------------------------------


@router.post(
    "chat/rooms/{int:room_id}/attachments",
    response=with_errors({201: ChatAttachmentOut}, UPLOAD_ERRORS),
)
def upload_attachment(
    request: HttpRequest, room_id: ObjectId, file: File[UploadedFile]
) -> Status[dict[str, Any]]:
    """Upload a file for your next message in a room you are in (multipart/form-data, field
    ``file``), then name it in ``attachment_ids`` when sending, within a day. A type not
    allowed, or content that does not match its name: 415; too large: 413; empty: 422."""
    user = acting_user(request)
    attachment = messages.do_upload_attachment(user, room_for(user, room_id), file)
    return Status(201, messages.attachment_snapshot(attachment))


@router.get("chat/search", response=with_errors({200: SearchOut}, READ_ERRORS))
def search_messages(request: HttpRequest, params: Query[SearchParams]) -> dict[str, Any]:
    """Messages you may see containing every word of ``q`` (in ``room_id`` only, if given),
    best first, with a highlighted snippet."""
    user = acting_user(request)
    room = room_for(user, params.room_id) if params.room_id is not None else None
    hits = search.search_messages(user, params.q, room=room, limit=params.limit)
    return {
        "items": [
            {
                "message": actions.message_snapshot(hit.message),
                "room": {"id": hit.message.room.pk, "name": hit.message.room.name},
                "snippet": hit.snippet,
                "rank": hit.rank,
            }
            for hit in hits
        ]
    }
