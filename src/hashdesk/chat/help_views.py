"""The live-help pages (docs/chat.md, "Pages"): "Chat with the service desk" for people, the
desk's queue, and what an agent does with a conversation — pick it up, transfer, close, file it
as an incident or link it to one. The conversation itself is a room page
(``views.conversation_page``); every change is an action of ``chat.help``, as in the API.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hashdesk.accounts.models import User
from hashdesk.chat import help as live_help
from hashdesk.chat.choices import ConversationState
from hashdesk.chat.forms import (
    CloseForm,
    FileIncidentForm,
    HelpForm,
    LinkIncidentForm,
    TransferForm,
)
from hashdesk.chat.models import Conversation
from hashdesk.chat.views import conversation_page
from hashdesk.core.errors import DomainError, NotFound
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.incidents.models import Incident
from hashdesk.web.forms import raise_if_forbidden
from hashdesk.web.live import live_page
from hashdesk.web.requests import current_user


def _conversation(user: User, conversation_id: int) -> Conversation:
    conversation = (
        visible_to(
            user,
            Conversation.objects.select_related(
                "room", "requester", "agent", "team", "service", "incident"
            ),
        )
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation


def _incident(user: User, number: str) -> Incident:
    """The incident a number names, when the viewer may see it (NotFound on the form else)."""
    incident = (
        visible_to(user, Incident.objects.all()).filter(number=number.strip().upper()).first()
    )
    if incident is None:
        raise NotFound(f"No incident {number.strip()} that you may see.", field="number")
    return incident


# --- Live help -----------------------------------------------------------------------------------


def _help_page(request: HttpRequest, form: HelpForm, status: int = 200) -> HttpResponse:
    user = current_user(request)
    conversations = list(
        Conversation.objects.select_related("agent", "service")
        .filter(requester_id=user.pk)
        .order_by("-queued_at", "-pk")[:50]
    )
    return render(
        request,
        "chat/help.html",
        {"form": form, "conversations": conversations},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
@live_page
def help_desk(request: HttpRequest) -> HttpResponse:
    """ "Chat with the service desk": a topic and the first message open a conversation."""
    user = current_user(request)
    if request.method == "GET":
        return _help_page(request, HelpForm())
    form = HelpForm(request.POST)
    if form.is_valid():
        try:
            opened = live_help.do_open_conversation(
                user,
                topic=form.cleaned_data["topic"],
                body=form.cleaned_data["body"],
                client_key=form.cleaned_data["client_key"] or "",
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, "The service desk has your question; an agent joins soon.")
            _offer_known_error(request, user, opened)
            return redirect(reverse("chat:conversation", args=[opened.conversation.pk]))
    return _help_page(request, form, status=400)


def _offer_known_error(request: HttpRequest, user: User, opened: live_help.Opened) -> None:
    """A matching known error's workaround is shown at once (problems/hooks.py)."""
    if not opened.created:
        return
    from hashdesk.chat.models import Message
    from hashdesk.problems.hooks import help_started

    conversation = opened.conversation
    first = (
        Message.objects.filter(room_id=conversation.room_id)
        .order_by("pk")
        .values_list("pk", "body")
        .first()
    )
    match = help_started(
        user,
        message_id=first[0] if first else None,
        text=f"{conversation.topic}\n{first[1] if first else ''}",
        service_id=conversation.service_id,
    )
    if match is not None:
        messages.info(
            request,
            f"This may be a known problem: {match.problem.title}. Workaround: "
            f"{match.workaround} (more in {match.article.number}: {match.url})",
        )


def _require_staff(user: User) -> None:
    if not is_staff(user):
        raise PermissionDenied("Only the service desk sees the queue.")


@login_required
@require_GET
@live_page
def queue(request: HttpRequest) -> HttpResponse:
    """The desk's queue: waiting conversations, longest waiting first; my active ones."""
    user = current_user(request)
    _require_staff(user)
    waiting = live_help.waiting_queue(user)
    active = list(live_help.conversations_of(user, state=ConversationState.ACTIVE, mine=True)[:100])
    return render(request, "chat/queue.html", {"waiting": waiting, "active": active})


@login_required
@require_GET
@live_page
def conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    user = current_user(request)
    return conversation_page(request, _conversation(user, conversation_id))


@login_required
@require_POST
def pick_up(request: HttpRequest, conversation_id: int) -> HttpResponse:
    user = current_user(request)
    found = _conversation(user, conversation_id)
    try:
        live_help.do_pick_up(user, found)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
        return redirect(reverse("chat:queue"))
    messages.success(request, "You picked up the conversation.")
    return redirect(reverse("chat:conversation", args=[found.pk]))


@login_required
@require_POST
def transfer(request: HttpRequest, conversation_id: int) -> HttpResponse:
    user = current_user(request)
    found = _conversation(user, conversation_id)
    form = TransferForm(request.POST)
    if form.is_valid():
        try:
            live_help.do_transfer(
                user,
                found,
                to_agent=form.cleaned_data["agent"],
                to_team=form.cleaned_data["team"],
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, "The conversation is transferred.")
            return redirect(reverse("chat:queue"))
    return conversation_page(request, found, bound={"transfer": form})


@login_required
@require_POST
def close(request: HttpRequest, conversation_id: int) -> HttpResponse:
    user = current_user(request)
    found = _conversation(user, conversation_id)
    form = CloseForm(request.POST)
    if form.is_valid():
        try:
            live_help.do_close(user, found, resolved=form.cleaned_data["resolved"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, "The conversation is closed.")
            return redirect(reverse("chat:conversation", args=[found.pk]))
    return conversation_page(request, found, bound={"close": form})


@login_required
@require_POST
def file_incident(request: HttpRequest, conversation_id: int) -> HttpResponse:
    user = current_user(request)
    found = _conversation(user, conversation_id)
    form = FileIncidentForm(request.POST, user=user)
    if form.is_valid():
        try:
            incident = live_help.do_file_as_incident(
                user,
                found,
                title=form.cleaned_data["title"],
                service=form.cleaned_data["service"],
                resolved_on_first_contact=form.cleaned_data["resolved_on_first_contact"],
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"{incident.number} is recorded with the transcript.")
            return redirect(reverse("incidents:detail", args=[incident.number]))
    return conversation_page(request, found, bound={"file": form})


@login_required
@require_POST
def link_incident(request: HttpRequest, conversation_id: int) -> HttpResponse:
    user = current_user(request)
    found = _conversation(user, conversation_id)
    form = LinkIncidentForm(request.POST)
    if form.is_valid():
        try:
            incident = live_help.do_link_to_incident(
                user, found, _incident(user, form.cleaned_data["number"])
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"The conversation is linked to {incident.number}.")
            return redirect(reverse("chat:conversation", args=[found.pk]))
    return conversation_page(request, found, bound={"link": form})
