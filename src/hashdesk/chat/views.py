"""The chat pages (docs/chat.md, "Pages"): my rooms, a room with its composer and members, a
thread, editing, deleting and reacting, and a help conversation's room with the agent's
controls (the rest of live help — asking, the queue, the agent's actions — is help_views).

Everything shown comes through ``core.visibility`` (a room, message or conversation the viewer
may not see is a 404, never a 403); every change goes through the chat actions, the same calls
the REST API and the WebSocket make. Forms work without JavaScript: a refused form re-renders
the page with its errors (status 400) and changes nothing; a change redirects (PRG). chat.js
adds the live parts on top (static/chat/chat.js).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hashdesk.accounts.models import User
from hashdesk.chat import actions
from hashdesk.chat import messages as message_actions
from hashdesk.chat.choices import ConversationState, Lane, MessageKind, ReactionEmoji, RoomKind
from hashdesk.chat.forms import (
    CloseForm,
    EditForm,
    FileIncidentForm,
    LinkIncidentForm,
    MessageForm,
    TransferForm,
)
from hashdesk.chat.models import (
    Conversation,
    Membership,
    Message,
    MessageReaction,
    Room,
)
from hashdesk.core import streams
from hashdesk.core.errors import DomainError
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.web.forms import ShellForm, raise_if_forbidden
from hashdesk.web.live import live_page
from hashdesk.web.requests import current_user, safe_next

# Messages on a room's page; "Earlier messages" brings the page before.
PAGE_SIZE = 50
# The most members a room's page lists (with presence); bigger rooms say how many more.
MEMBERS_SHOWN = 100
JOINABLE_SHOWN = 100
LIVE_ROOMS_MAX = 100
EMOJI_WORDS = dict(ReactionEmoji.choices)
EMOJI_SIGNS = {"+1": "👍", "thanks": "🙏", "eyes": "👀", "done": "✅", "sad": "😢"}


# --- Looking things up (visibility first) -------------------------------------------------------


def _room(user: User, room_id: int) -> Room:
    room = (
        visible_to(user, Room.objects.select_related("service", "incident"))
        .filter(pk=room_id)
        .first()
    )
    if room is None:
        raise Http404("No such room.")
    return room


def _message(user: User, message_id: int) -> Message:
    message = (
        visible_to(user, Message.objects.select_related("author", "room"))
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        raise Http404("No such message.")
    return message


def _room_url(room: Room) -> str:
    if room.kind == RoomKind.HELP:
        conversation = Conversation.objects.filter(room=room).values_list("pk", flat=True).first()
        if conversation is not None:
            return reverse("chat:conversation", args=[conversation])
    return reverse("chat:room", args=[room.pk])


def _back(request: HttpRequest, fallback: str) -> str:
    return safe_next(request, request.POST.get("next")) or fallback


# --- Messages as pages show them ----------------------------------------------------------------


def _with_details(queryset: QuerySet[Message]) -> QuerySet[Message]:
    return queryset.select_related("author").prefetch_related("attachments")


def _decorate(user: User, items: list[Message], *, moderator: bool) -> list[Message]:
    """What each message shows the viewer: their reactions pressed, edit and delete where they
    may. One query for the whole page (the viewer's reactions)."""
    mine: dict[int, set[str]] = {item.pk: set() for item in items}
    if items:
        for message_id, emoji in MessageReaction.objects.filter(
            user_id=user.pk, message_id__in=list(mine)
        ).values_list("message_id", "emoji"):
            mine[message_id].add(emoji)
    # Staff may turn a message (and its thread) into a knowledge-article draft.
    drafting = is_staff(user)
    for item in items:
        live = item.deleted_at is None and item.kind != MessageKind.SYSTEM
        item.chat_may_draft = live and drafting and item.author_id is not None  # type: ignore[attr-defined]
        item.chat_mine = item.author_id == user.pk  # type: ignore[attr-defined]
        item.chat_may_edit = live and item.author_id == user.pk  # type: ignore[attr-defined]
        item.chat_may_delete = live and (  # type: ignore[attr-defined]
            item.author_id == user.pk or moderator
        )
        item.chat_reactions = [  # type: ignore[attr-defined]
            {
                "emoji": emoji,
                "sign": EMOJI_SIGNS.get(emoji, emoji),
                "label": EMOJI_WORDS[emoji],
                "count": int(item.reaction_counts.get(emoji, 0)),
                "pressed": emoji in mine[item.pk],
            }
            for emoji in EMOJI_WORDS
        ]
        item.chat_live = live  # type: ignore[attr-defined]
    return items


def _page_of_messages(user: User, room: Room, before: int | None) -> tuple[list[Message], bool]:
    """The newest page (or the page before ``before``), oldest first, and whether there are
    earlier messages. Constant queries whatever the page holds."""
    # One more than shown, to learn whether there is an earlier page. history() brings the
    # authors and the files along.
    found = list(actions.history(user, room, before=before, limit=PAGE_SIZE + 1))
    return found[-PAGE_SIZE:], len(found) > PAGE_SIZE


# --- My rooms ------------------------------------------------------------------------------------


@login_required
@require_GET
@live_page
def index(request: HttpRequest) -> HttpResponse:
    """My rooms with unread counts and last activity, the rooms I may join, my help
    conversations; staff get the queue's link."""
    user = current_user(request)
    mine = list(
        visible_to(user, Room.objects.select_related("service", "incident"))
        .filter(memberships__user_id=user.pk, archived_at__isnull=True)
        .exclude(kind=RoomKind.HELP)
        .order_by("-last_message_at", "name", "pk")
    )
    unread = actions.unread_counts(user, mine) if mine else {}
    for room in mine:
        room.chat_unread = unread.get(room.pk, 0)  # type: ignore[attr-defined]
    # actions.may_join's rule as one query: every visible service room and read-and-ask lane;
    # for staff also working lanes (visibility already leaves out confidential incidents',
    # which only their named people enter).
    open_to_join = Q(kind=RoomKind.SERVICE) | Q(kind=RoomKind.WAR_ROOM, lane=Lane.PUBLIC)
    if is_staff(user):
        open_to_join |= Q(kind=RoomKind.WAR_ROOM, lane=Lane.RESPONDERS)
    joinable = list(
        visible_to(user, Room.objects.select_related("service", "incident"))
        .filter(open_to_join, archived_at__isnull=True)
        .exclude(memberships__user_id=user.pk)
        .order_by("-kind", "name", "pk")[:JOINABLE_SHOWN]
    )
    conversations = list(
        Conversation.objects.select_related("room", "agent")
        .filter(requester_id=user.pk)
        .order_by("-queued_at", "-pk")[:20]
    )
    return render(
        request,
        "chat/index.html",
        {
            "rooms": mine,
            "joinable": joinable,
            "conversations": conversations,
            "is_staff": is_staff(user),
            # The most active rooms, as many as one subscribe frame may name.
            "live_streams": " ".join(streams.room(room.pk) for room in mine[:LIVE_ROOMS_MAX]),
        },
    )


@login_required
@require_POST
def join(request: HttpRequest, room_id: int) -> HttpResponse:
    user = current_user(request)
    room = _room(user, room_id)
    try:
        actions.do_join_room(user, room)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
        return redirect(reverse("chat:index"))
    messages.success(request, f"You joined {room.name}.")
    return redirect(reverse("chat:room", args=[room.pk]))


@login_required
@require_POST
def leave(request: HttpRequest, room_id: int) -> HttpResponse:
    user = current_user(request)
    room = _room(user, room_id)
    try:
        actions.do_leave_room(user, room)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
        return redirect(reverse("chat:room", args=[room.pk]))
    messages.success(request, f"You left {room.name}.")
    return redirect(reverse("chat:index"))


# --- A room --------------------------------------------------------------------------------------


def _members(room: Room) -> tuple[list[Membership], int]:
    members = list(
        Membership.objects.filter(room=room)
        .select_related("user")
        .order_by("user__display_name", "pk")[: MEMBERS_SHOWN + 1]
    )
    return members[:MEMBERS_SHOWN], max(0, len(members) - MEMBERS_SHOWN)


def _room_context(
    request: HttpRequest,
    room: Room,
    *,
    form: MessageForm | None = None,
    conversation: Conversation | None = None,
) -> dict[str, Any]:
    user = current_user(request)
    try:
        before = int(request.GET["before"]) if request.GET.get("before") else None
    except ValueError:
        raise Http404("No such page of messages.") from None
    page, earlier = _page_of_messages(user, room, before)
    members, more_members = _members(room)
    me = next((member for member in members if member.user_id == user.pk), None)
    if me is None and len(members) == MEMBERS_SHOWN:
        me = Membership.objects.filter(room=room, user_id=user.pk).first()
    moderator = message_actions.may_moderate(user, room) if me is not None else is_staff(user)
    # The other side's read marker, for "Read" under one's own messages in live help.
    others_read = max(
        (member.last_read_message_id for member in members if member.user_id != user.pk),
        default=0,
    )
    return {
        "room": room,
        "conversation": conversation,
        "chat_messages": _decorate(user, page, moderator=moderator),
        "earlier_url": (f"{request.path}?before={page[0].pk}" if earlier and page else ""),
        "newer_url": request.path if before is not None else "",
        "members": members,
        "more_members": more_members,
        "membership": me,
        "may_join": me is None and actions.may_join(user, room),
        "form": form or MessageForm(),
        "others_read": others_read if room.kind == RoomKind.HELP else 0,
        "moderator": moderator,
        "live": me is not None and before is None,
        "stream": streams.room(room.pk),
        "is_staff": is_staff(user),
        "emoji": EMOJI_SIGNS,
    }


def _render_room(
    request: HttpRequest,
    room: Room,
    *,
    form: MessageForm | None = None,
    status: int = 200,
    conversation: Conversation | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    context = _room_context(request, room, form=form, conversation=conversation)
    context.update(extra or {})
    return render(request, "chat/room.html", context, status=status)


@login_required
@require_GET
@live_page
def room(request: HttpRequest, room_id: int) -> HttpResponse:
    user = current_user(request)
    found = _room(user, room_id)
    if found.kind == RoomKind.HELP:
        return redirect(_room_url(found))
    return _render_room(request, found)


def _thread_root(user: User, room: Room, form: MessageForm) -> Message | None:
    root_id = form.cleaned_data.get("thread_root")
    if not root_id:
        return None
    root = _message(user, root_id)
    if root.room_id != room.pk:
        raise Http404("No such message in this room.")
    return root


@login_required
@require_POST
def send(request: HttpRequest, room_id: int) -> HttpResponse:
    """The composer without JavaScript: the same action as the WebSocket ``send``, with the
    key the form was rendered with (a resubmitted form sends nothing twice)."""
    user = current_user(request)
    found = _room(user, room_id)
    form = MessageForm(request.POST)
    root: Message | None = None
    if form.is_valid():
        root = _thread_root(user, found, form)
        try:
            sent = actions.do_send_message(
                user,
                found,
                body=form.cleaned_data["body"],
                client_key=form.cleaned_data["client_key"] or "",
                thread_root=root,
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            if sent.message.redactions:
                messages.warning(request, "Something that looked like a secret was removed.")
            if root is not None:
                return redirect(
                    f"{reverse('chat:thread', args=[root.pk])}#message-{sent.message.pk}"
                )
            return redirect(f"{_room_url(found)}#message-{sent.message.pk}")
    if root is not None:
        return _render_thread(request, root, form=form, status=400)
    conversation = Conversation.objects.filter(room=found).first()
    if conversation is not None:
        return conversation_page(request, conversation, form=form, status=400)
    return _render_room(request, found, form=form, status=400)


# --- Threads, edits, deletes, reactions ---------------------------------------------------------


def _render_thread(
    request: HttpRequest, root: Message, *, form: MessageForm | None = None, status: int = 200
) -> HttpResponse:
    user = current_user(request)
    found_room = _room(user, root.room_id)
    replies = list(
        _with_details(visible_to(user, Message.objects.filter(thread_root=root))).order_by("pk")
    )
    items = _decorate(
        user,
        [*_with_details(Message.objects.filter(pk=root.pk)), *replies],
        moderator=message_actions.may_moderate(user, found_room),
    )
    member = actions.is_member(user, found_room)
    return render(
        request,
        "chat/thread.html",
        {
            "room": found_room,
            "root": items[0],
            "replies": items[1:],
            "form": form or MessageForm(initial={"thread_root": root.pk}),
            "membership": member,
            "room_url": _room_url(found_room),
            "emoji": EMOJI_SIGNS,
        },
        status=status,
    )


@login_required
@require_GET
def thread(request: HttpRequest, message_id: int) -> HttpResponse:
    user = current_user(request)
    message = _message(user, message_id)
    root = _message(user, message.thread_root_id) if message.thread_root_id else message
    return _render_thread(request, root)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, message_id: int) -> HttpResponse:
    user = current_user(request)
    message = _message(user, message_id)
    if message.author_id != user.pk:
        # Seen, so not a 404; the action says the same (staff remove words, never rewrite).
        raise PermissionDenied("You can edit only your own messages.")
    form = EditForm(request.POST or None, initial={"body": message.body})
    if request.method == "POST" and form.is_valid():
        try:
            message_actions.do_edit_message(user, message, body=form.cleaned_data["body"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, "Your message is changed.")
            return redirect(f"{_room_url(message.room)}#message-{message.pk}")
    return render(
        request,
        "chat/edit.html",
        {"message": message, "form": form, "room_url": _room_url(message.room)},
        status=400 if form.is_bound else 200,
    )


@login_required
@require_POST
def delete(request: HttpRequest, message_id: int) -> HttpResponse:
    user = current_user(request)
    message = _message(user, message_id)
    try:
        message_actions.do_delete_message(user, message)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        messages.success(request, "The message is deleted.")
    return redirect(_back(request, _room_url(message.room)))


@login_required
@require_POST
def react(request: HttpRequest, message_id: int) -> HttpResponse:
    """One reaction button: ``emoji`` and ``on`` (yes to react, no to take it back)."""
    user = current_user(request)
    message = _message(user, message_id)
    emoji = request.POST.get("emoji", "")
    try:
        if request.POST.get("on", "yes") != "no":
            message_actions.do_react(user, message, emoji)
        else:
            message_actions.do_unreact(user, message, emoji)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    return redirect(f"{_back(request, _room_url(message.room))}#message-{message.pk}")


# --- A help conversation's room ------------------------------------------------------------------


def conversation_page(
    request: HttpRequest,
    conversation: Conversation,
    *,
    form: MessageForm | None = None,
    bound: dict[str, ShellForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    user = current_user(request)
    bound = bound or {}
    agent_forms: dict[str, Any] = {}
    still_open = conversation.state != ConversationState.CLOSED
    # Either side may close; only the desk transfers and records.
    if still_open and (is_staff(user) or conversation.requester_id == user.pk):
        agent_forms["close_form"] = bound.get("close") or CloseForm()
    if still_open and is_staff(user):
        agent_forms["transfer_form"] = bound.get("transfer") or TransferForm()
    if is_staff(user) and conversation.incident_id is None:
        agent_forms["file_form"] = bound.get("file") or FileIncidentForm(
            user=user, initial={"title": conversation.topic, "service": conversation.service_id}
        )
        agent_forms["link_form"] = bound.get("link") or LinkIncidentForm()
    extra = {
        **agent_forms,
        "agent_view": is_staff(user),
        "open_part": next(iter(bound), ""),
    }
    return _render_room(
        request,
        conversation.room,
        form=form,
        status=400 if bound else status,
        conversation=conversation,
        extra=extra,
    )
