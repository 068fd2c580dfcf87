"""Knowledge's pages (docs/knowledge.md, "Pages"): the desk's drafts, an article, editing a
draft, and the "Draft an article" buttons of live help, chat messages and the wall's answers.

Lookups go through ``core.visibility`` (what one may not see is a 404); every change is a
``knowledge.actions`` action, the same the API calls.
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
from hashdesk.chat.models import Conversation, Message
from hashdesk.core.errors import DomainError
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.knowledge import actions
from hashdesk.knowledge.choices import ArticleOrigin
from hashdesk.knowledge.forms import DraftForm
from hashdesk.knowledge.models import Article
from hashdesk.wall.models import Post
from hashdesk.web.forms import raise_if_forbidden
from hashdesk.web.requests import current_user

# The drafts page shows the newest this many; the rest wait for issue 8's search and filters.
DRAFTS_SHOWN = 200


def origin_url(article: Article) -> str | None:
    """Where an article's first draft came from, as a page address (None: written by hand)."""
    if article.origin_id is None:
        return None
    if article.origin == ArticleOrigin.CHAT_CONVERSATION:
        return reverse("chat:conversation", args=[article.origin_id])
    if article.origin == ArticleOrigin.CHAT_MESSAGE:
        return f"{reverse('chat:thread', args=[article.origin_id])}#message-{article.origin_id}"
    if article.origin == ArticleOrigin.WALL_ANSWER:
        return f"{reverse('wall:post', args=[article.origin_id])}#post-{article.origin_id}"
    return None


def _require_staff(user: User) -> None:
    if not is_staff(user):
        raise PermissionDenied("Only the service desk works on drafts.")


def _article(user: User, number: str) -> Article:
    found = (
        visible_to(user, Article.objects.select_related("owner", "contributor"))
        .filter(number=number.strip().upper())
        .first()
    )
    if found is None:
        raise Http404("No such article.")
    return found


@login_required
@require_GET
def drafts(request: HttpRequest) -> HttpResponse:
    """The desk's drafts and articles in review, newest first, with where each came from."""
    user = current_user(request)
    _require_staff(user)
    found = list(
        Article.objects.filter(state__in=actions.EDITABLE_STATES)
        .select_related("owner", "contributor")
        .order_by("-created_at", "-pk")[:DRAFTS_SHOWN]
    )
    for item in found:
        item.knowledge_origin_url = origin_url(item)  # type: ignore[attr-defined]
    return render(request, "knowledge/drafts.html", {"articles": found})


@login_required
@require_GET
def article(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    found = _article(user, number)
    return render(
        request,
        "knowledge/article.html",
        {
            "article": found,
            "services": list(found.services.all()),
            "origin_url": origin_url(found) if is_staff(user) else None,
            "may_edit": is_staff(user) and found.state in actions.EDITABLE_STATES,
            "versions": list(found.versions.select_related("edited_by")[:20])
            if is_staff(user)
            else [],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, number: str) -> HttpResponse:
    """Edit a draft: title, body and a note, from the version shown (optimistic: a save by
    someone else in between is refused with the page re-rendered, nothing changed)."""
    user = current_user(request)
    _require_staff(user)
    found = _article(user, number)
    if request.method == "GET":
        form = DraftForm(
            initial={"title": found.title, "body": found.body, "version": found.version}
        )
        return _edit_page(request, found, form)
    form = DraftForm(request.POST)
    if form.is_valid():
        try:
            saved = actions.do_edit_draft(
                user,
                found,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
                note=form.cleaned_data["note"],
                expected_version=form.cleaned_data["version"],
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            if saved.notice:
                messages.warning(request, saved.notice)
            messages.success(request, f"{saved.article.number} is saved.")
            return redirect(reverse("knowledge:article", args=[saved.article.number]))
    return _edit_page(request, found, form, status=400)


def _edit_page(
    request: HttpRequest, found: Article, form: DraftForm, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "knowledge/edit.html",
        {
            "article": found,
            "form": form,
            "editable": found.state in actions.EDITABLE_STATES,
            "origin_url": origin_url(found),
        },
        status=status,
    )


# --- "Draft an article" -----------------------------------------------------------------------


def _drafted(request: HttpRequest, saved: actions.Saved) -> HttpResponse:
    number = saved.article.number
    if saved.created:
        messages.success(request, f"{number} is drafted; edit it into an article.")
    else:
        messages.info(request, f"This was drafted before as {number}.")
    if saved.notice:
        messages.warning(request, saved.notice)
    return redirect(reverse("knowledge:edit", args=[number]))


def _refused(request: HttpRequest, error: DomainError, back: str) -> HttpResponse:
    raise_if_forbidden(error)
    messages.error(request, error.detail)
    return redirect(back)


@login_required
@require_POST
def draft_from_conversation(request: HttpRequest, conversation_id: int) -> HttpResponse:
    user = current_user(request)
    _require_staff(user)
    conversation = (
        visible_to(user, Conversation.objects.select_related("service", "agent"))
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise Http404("No such conversation.")
    try:
        saved = actions.do_draft_from_conversation(user, conversation)
    except DomainError as error:
        return _refused(request, error, reverse("chat:conversation", args=[conversation.pk]))
    return _drafted(request, saved)


@login_required
@require_POST
def draft_from_message(request: HttpRequest, message_id: int) -> HttpResponse:
    user = current_user(request)
    _require_staff(user)
    message = (
        visible_to(user, Message.objects.select_related("author", "room__service"))
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        raise Http404("No such message.")
    try:
        saved = actions.do_draft_from_message(user, message)
    except DomainError as error:
        return _refused(request, error, reverse("chat:thread", args=[message.pk]))
    return _drafted(request, saved)


@login_required
@require_POST
def draft_from_answer(request: HttpRequest, post_id: int) -> HttpResponse:
    user = current_user(request)
    _require_staff(user)
    answer = visible_to(user, Post.objects.select_related("author")).filter(pk=post_id).first()
    if answer is None:
        raise Http404("No such post.")
    try:
        saved = actions.do_draft_from_answer(user, answer)
    except DomainError as error:
        return _refused(request, error, reverse("wall:post", args=[answer.pk]))
    return _drafted(request, saved)
