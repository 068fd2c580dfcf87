"""Knowledge's pages (docs/knowledge.md, "Pages"): the desk's drafts, an article, editing a
draft, and the "Draft an article" buttons of live help, chat messages and the wall's answers.

Lookups go through ``core.visibility`` (what one may not see is a 404); every change is a
``knowledge.actions`` action, the same the API calls.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.chat.models import Conversation, Message
from hashdesk.core.errors import DomainError
from hashdesk.core.visibility import can_review_articles, is_staff, visible_to
from hashdesk.knowledge import actions, workflow
from hashdesk.knowledge.choices import ArticleOrigin, ArticleState, ArticleVisibility
from hashdesk.knowledge.forms import ArticleFilters, DraftForm, FeedbackForm, SendBackForm
from hashdesk.knowledge.models import Article, ArticleFeedback
from hashdesk.wall.models import Post
from hashdesk.web.forms import raise_if_forbidden
from hashdesk.web.requests import current_user

# The drafts page and the review queue show the oldest/newest this many.
DRAFTS_SHOWN = 200
ARTICLES_PER_PAGE = 25
VERSIONS_SHOWN = 50
COMMENTS_SHOWN = 50
# Full-text search (hashdesk.search), linked when it serves this page.
SEARCH_PATH = "/search/"


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
        Article.objects.filter(state__in=actions.DRAFT_STATES)
        .select_related("owner", "contributor")
        .order_by("-created_at", "-pk")[:DRAFTS_SHOWN]
    )
    for item in found:
        item.knowledge_origin_url = origin_url(item)  # type: ignore[attr-defined]
    return render(request, "knowledge/drafts.html", {"articles": found})


def filtered_articles(user: User, filters: ArticleFilters) -> QuerySet[Article]:
    """The articles ``user`` may read, filtered as the list page and the API filter them:
    published by default (staff may ask for other states and their own), a title filter, a
    service and stale ones."""
    data = filters.cleaned_data if filters.is_valid() else {}
    articles = visible_to(user, Article.objects.all())
    state = data.get("state") or ""
    if not is_staff(user) or not state:
        articles = articles.filter(state=ArticleState.PUBLISHED)
    elif state != "all":
        articles = articles.filter(state=state)
    if data.get("q"):
        articles = articles.filter(title__icontains=data["q"].strip())
    if data.get("service"):
        articles = articles.filter(services__slug=data["service"].strip())
    if data.get("stale"):
        articles = articles.filter(workflow.stale_condition())
    if data.get("mine") and is_staff(user):
        articles = articles.filter(owner=user)
    return articles


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """Knowledge: the articles one may read (everyone signed in), with a title filter, a
    service filter and stale ones flagged; full-text search is /search/."""
    user = current_user(request)
    filters = ArticleFilters(request.GET or None)
    articles = (
        filtered_articles(user, filters)
        .select_related("owner")
        .prefetch_related("services")
        .order_by("-updated_at", "-pk")
    )
    page = Paginator(articles, ARTICLES_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    staff = is_staff(user)
    return render(
        request,
        "knowledge/index.html",
        {
            "page": page,
            "articles": list(page.object_list),
            "filters": filters,
            "filtered": bool(
                request.GET.get("q")
                or request.GET.get("service")
                or request.GET.get("stale")
                or request.GET.get("state")
                or request.GET.get("mine")
            ),
            "query_string": query.urlencode(),
            "search_url": _search_url(request.GET.get("q", "")),
            "staff": staff,
            "services": list(
                visible_to(
                    user, Service.objects.filter(articles__isnull=False).distinct().order_by("name")
                ).values_list("slug", "name")
            ),
        },
    )


def _search_url(q: str) -> str | None:
    """Full-text search of articles, when the search app serves /search/."""
    try:
        resolve(SEARCH_PATH)
    except Resolver404:
        return None
    return f"{SEARCH_PATH}?{urlencode({'type': 'article', 'q': q})}"


@login_required
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    """The desk's review queue: articles in review and published articles' revisions."""
    user = current_user(request)
    _require_staff(user)
    found = list(
        Article.objects.filter(
            Q(state=ArticleState.REVIEW) | Q(state=ArticleState.PUBLISHED, revision_pending=True)
        )
        .select_related("owner")
        .order_by("updated_at", "pk")[:DRAFTS_SHOWN]
    )
    return render(
        request,
        "knowledge/review.html",
        {"articles": found, "may_review": can_review_articles(user)},
    )


@login_required
@require_GET
def article(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    found = _article(user, number)
    return _article_page(request, user, found)


def _article_page(
    request: HttpRequest,
    user: User,
    found: Article,
    *,
    feedback_form: FeedbackForm | None = None,
    send_back_form: SendBackForm | None = None,
    status: int = 200,
) -> HttpResponse:
    staff = is_staff(user)
    mine = ArticleFeedback.objects.filter(article_id=found.pk, person=user).first()
    helpful, unhelpful = workflow.feedback_counts(found)
    reviewer = can_review_articles(user)
    waits = found.state == ArticleState.REVIEW or (
        found.state == ArticleState.PUBLISHED and found.revision_pending
    )
    return render(
        request,
        "knowledge/article.html",
        {
            "article": found,
            "services": list(found.services.all()),
            "origin_url": origin_url(found) if staff else None,
            "staff": staff,
            "may_edit": staff and found.state in actions.EDITABLE_STATES,
            "may_submit": staff and found.state == ArticleState.DRAFT,
            "may_review": reviewer and waits,
            "may_retire": reviewer and found.state == ArticleState.PUBLISHED,
            "visibilities": ArticleVisibility.choices,
            "versions": list(found.versions.select_related("edited_by")[:VERSIONS_SHOWN])
            if staff
            else [],
            "helpful": helpful,
            "unhelpful": unhelpful,
            "my_feedback": mine,
            "feedback_form": feedback_form
            or FeedbackForm(
                initial={
                    "helpful": "yes" if mine is None or mine.helpful else "no",
                    "comment": mine.comment if mine else "",
                }
            ),
            "send_back_form": send_back_form or SendBackForm(initial={"version": found.version}),
            "may_give_feedback": found.state == ArticleState.PUBLISHED,
            "comments": list(
                ArticleFeedback.objects.filter(article_id=found.pk)
                .exclude(comment="")
                .select_related("person")[:COMMENTS_SHOWN]
            )
            if workflow.can_read_feedback_comments(user)
            else [],
        },
        status=status,
    )


@login_required
@require_GET
def diff(request: HttpRequest, number: str) -> HttpResponse:
    """The difference between two versions (staff): ``?from=1&to=3``; by default the newest
    against the one before."""
    user = current_user(request)
    _require_staff(user)
    found = _article(user, number)
    try:
        new = int(request.GET.get("to") or found.version)
        old = int(request.GET.get("from") or max(new - 1, 1))
    except ValueError as error:
        raise Http404("No such version.") from error
    try:
        difference = workflow.diff_versions(found, old, new)
    except DomainError as error:
        raise Http404(error.detail) from error
    return render(request, "knowledge/diff.html", {"article": found, "diff": difference})


def _posted_version(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("version", ""))
    except ValueError:
        return 0


def _after(request: HttpRequest, found: Article, done: Callable[[], str]) -> HttpResponse:
    """Run a workflow action from a button: its message and back to the article (PRG); a
    refusal is a message too (a Forbidden is a 403)."""
    try:
        text = done()
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        messages.success(request, text)
    return redirect(reverse("knowledge:article", args=[found.number]))


@login_required
@require_POST
def submit(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    _require_staff(user)
    found = _article(user, number)

    def done() -> str:
        workflow.do_submit(user, found, expected_version=_posted_version(request))
        return f"{found.number} is waiting for review."

    return _after(request, found, done)


@login_required
@require_POST
def approve(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    _require_staff(user)
    found = _article(user, number)
    visibility = request.POST.get("visibility") or None

    def done() -> str:
        workflow.do_approve(
            user, found, expected_version=_posted_version(request), visibility=visibility
        )
        return f"{found.number} is published."

    return _after(request, found, done)


@login_required
@require_POST
def send_back(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    _require_staff(user)
    found = _article(user, number)
    form = SendBackForm(request.POST)
    if form.is_valid():
        try:
            workflow.do_send_back(
                user,
                found,
                expected_version=form.cleaned_data["version"],
                comment=form.cleaned_data["comment"],
            )
        except DomainError as error:
            raise_if_forbidden(error)
            form.add_domain_error(error)
        else:
            messages.success(request, f"{found.number} is sent back with your comment.")
            return redirect(reverse("knowledge:article", args=[found.number]))
    return _article_page(request, user, found, send_back_form=form, status=400)


@login_required
@require_POST
def retire(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    _require_staff(user)
    found = _article(user, number)

    def done() -> str:
        workflow.do_retire(user, found, expected_version=_posted_version(request))
        return f"{found.number} is retired."

    return _after(request, found, done)


@login_required
@require_POST
def restore(request: HttpRequest, number: str, version: int) -> HttpResponse:
    user = current_user(request)
    _require_staff(user)
    found = _article(user, number)

    def done() -> str:
        _, in_review = workflow.do_restore(
            user, found, version=version, expected_version=_posted_version(request)
        )
        if in_review:
            return f"Version {version} is restored as a new version; it waits for review."
        return f"Version {version} is restored as a new version."

    return _after(request, found, done)


@login_required
@require_POST
def feedback(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    found = _article(user, number)
    form = FeedbackForm(request.POST)
    if form.is_valid():
        try:
            saved = workflow.do_give_feedback(
                user,
                found,
                helpful=form.cleaned_data["helpful"],
                comment=form.cleaned_data["comment"],
            )
        except DomainError as error:
            raise_if_forbidden(error)
            form.add_domain_error(error)
        else:
            messages.success(
                request,
                "Thank you for your feedback." if saved.created else "Your feedback is updated.",
            )
            return redirect(reverse("knowledge:article", args=[found.number]) + "#feedback")
    return _article_page(request, user, found, feedback_form=form, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, number: str) -> HttpResponse:
    """Edit an article: title, body and a note, from the version shown (optimistic: a save by
    someone else in between is refused with the page re-rendered, nothing changed). A
    published article's edit waits for review; the published text stays until approved."""
    user = current_user(request)
    _require_staff(user)
    found = _article(user, number)
    if request.method == "GET":
        title, body = actions.head_text(found)
        form = DraftForm(initial={"title": title, "body": body, "version": found.version})
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
            if saved.in_review:
                messages.success(
                    request,
                    f"{saved.article.number} is saved; the new version waits for review and "
                    "readers see the published text until it is approved.",
                )
            else:
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
            "published": found.state == ArticleState.PUBLISHED,
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
