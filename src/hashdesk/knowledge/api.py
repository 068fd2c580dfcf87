"""Endpoints of knowledge articles and of drafting them from chat (docs/api.md, "Knowledge").

Lookups go through ``core.visibility`` (an article the caller may not see is a 404); every
write calls ``knowledge.actions``, the same actions the pages call.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Status

from hashdesk.accounts.models import User
from hashdesk.api.auth import acting_user
from hashdesk.api.pagination import Keyset, paginate
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, ObjectId, with_errors
from hashdesk.catalog.models import Service
from hashdesk.chat.api import message_for
from hashdesk.chat.api_help import conversation_for
from hashdesk.core.errors import Forbidden, NotFound, ValidationFailed
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.knowledge import actions, workflow
from hashdesk.knowledge.models import Article, ArticleFeedback, ArticleVersion
from hashdesk.knowledge.schemas import (
    NUMBER,
    ApproveIn,
    ArticleDrafted,
    ArticleEdit,
    ArticleFilters,
    ArticleIn,
    ArticleOut,
    ArticlePage,
    DiffOut,
    FeedbackIn,
    FeedbackOut,
    FeedbackPage,
    RestoreIn,
    SendBackIn,
    VersionIn,
    VersionPage,
)

router = Router(tags=["knowledge"])

NEWEST_FIRST = Keyset(("-updated_at", "-id"))
FEEDBACK_SHOWN = 200
ArticleNumber = Annotated[str, Path(pattern=NUMBER, max_length=24, description="KB-000123")]


def _with_counts(articles: QuerySet[Article]) -> QuerySet[Article]:
    """Articles with their feedback counted (helpful_count, not_helpful_count), in the same
    query."""
    return articles.annotate(
        helpful_count=Count("feedback", filter=Q(feedback__helpful=True)),
        not_helpful_count=Count("feedback", filter=Q(feedback__helpful=False)),
    )


def article_for(user: User, number: str) -> Article:
    found = (
        _with_counts(visible_to(user, Article.objects.select_related("owner", "contributor")))
        .prefetch_related("services")
        .filter(number=number.upper())
        .first()
    )
    if found is None:
        raise NotFound("No such article.")
    return found


def _shown(user: User, article: Article, notice: str | None = None) -> dict[str, Any]:
    """An article as ``user`` sees it: where it came from is the desk's business."""
    fields = ArticleOut.model_validate(article).model_dump()
    if not is_staff(user):
        fields.update(origin_id=None, contributor=None, review_comment="")
    if notice is not None:
        fields["notice"] = notice
    return fields


def _services(user: User, slugs: list[str]) -> list[Service]:
    wanted = set(slugs)
    found = list(visible_to(user, Service.objects.filter(slug__in=wanted)))
    missing = wanted - {service.slug for service in found}
    if missing:
        raise ValidationFailed(
            f"No service {sorted(missing)[0]} that you may see.", field="services"
        )
    return found


def _drafted(user: User, saved: actions.Saved) -> Status[dict[str, Any]]:
    article = article_for(user, saved.article.number or "")
    return Status(201 if saved.created else 200, _shown(user, article, saved.notice))


@router.post("knowledge/articles", response=with_errors({201: ArticleDrafted}, WRITE_ERRORS))
def create_article(request: HttpRequest, payload: ArticleIn) -> Status[dict[str, Any]]:
    """Write a draft by hand (staff); you own it. Secrets are removed before saving."""
    user = acting_user(request)
    saved = actions.do_create_draft(
        user,
        title=payload.title,
        body=payload.body,
        visibility=payload.visibility,
        services=_services(user, payload.services),
    )
    return _drafted(user, saved)


@router.get("knowledge/articles", response=with_errors({200: ArticlePage}, READ_ERRORS))
def list_articles(
    request: HttpRequest, response: HttpResponse, filters: Query[ArticleFilters]
) -> dict[str, Any]:
    """The articles you may read, newest change first: staff every article (``state=draft``
    are the drafts), anyone else published public ones. ``q`` filters titles (full text is
    /api/v1/search), ``service`` by a service's slug, ``stale`` those past review."""
    user = acting_user(request)
    articles = _with_counts(
        visible_to(user, Article.objects.select_related("owner", "contributor"))
    )
    if filters.state is not None:
        articles = articles.filter(state=filters.state)
    if filters.q:
        articles = articles.filter(title__icontains=filters.q.strip())
    if filters.service:
        articles = articles.filter(services__slug=filters.service)
    if filters.stale:
        articles = articles.filter(workflow.stale_condition())
    page = paginate(request, response, articles.prefetch_related("services"), NEWEST_FIRST, filters)
    page["items"] = [_shown(user, article) for article in page["items"]]
    return page


@router.get("knowledge/articles/{number}", response=with_errors({200: ArticleOut}, READ_ERRORS))
def get_article(request: HttpRequest, number: ArticleNumber) -> dict[str, Any]:
    """One article with its current text."""
    user = acting_user(request)
    return _shown(user, article_for(user, number))


@router.patch(
    "knowledge/articles/{number}", response=with_errors({200: ArticleDrafted}, WRITE_ERRORS)
)
def edit_article(request: HttpRequest, number: ArticleNumber, payload: ArticleEdit) -> Any:
    """Save a new version (staff). ``expected_version`` is the version you edited: 409 when
    someone saved since. A published article's new version waits for review
    (``revision_pending``) and readers keep the published text; a retired one is 409."""
    user = acting_user(request)
    article = article_for(user, number)
    saved = actions.do_edit_draft(
        user,
        article,
        title=payload.title if payload.title is not None else article.title,
        body=payload.body if payload.body is not None else article.body,
        note=payload.note,
        expected_version=payload.expected_version,
    )
    return _shown(user, article_for(user, number), saved.notice)


@router.post(
    "chat/conversations/{int:conversation_id}/draft-article",
    response=with_errors({200: ArticleDrafted, 201: ArticleDrafted}, WRITE_ERRORS),
)
def draft_article_from_conversation(
    request: HttpRequest, conversation_id: ObjectId
) -> Status[dict[str, Any]]:
    """Draft a knowledge article from a live-help conversation (staff): its topic, the
    requester's question and the desk's answer (201); the draft made before (200)."""
    user = acting_user(request)
    return _drafted(
        user, actions.do_draft_from_conversation(user, conversation_for(user, conversation_id))
    )


@router.post(
    "chat/messages/{int:message_id}/draft-article",
    response=with_errors({200: ArticleDrafted, 201: ArticleDrafted}, WRITE_ERRORS),
)
def draft_article_from_message(
    request: HttpRequest, message_id: ObjectId
) -> Status[dict[str, Any]]:
    """Draft a knowledge article from a chat message and its thread (staff) (201); the draft
    made before (200)."""
    user = acting_user(request)
    return _drafted(user, actions.do_draft_from_message(user, message_for(user, message_id)))


# --- Review workflow ---------------------------------------------------------------------------


@router.post(
    "knowledge/articles/{number}/submit", response=with_errors({200: ArticleOut}, WRITE_ERRORS)
)
def submit_article(request: HttpRequest, number: ArticleNumber, payload: VersionIn) -> Any:
    """A draft goes to review (staff)."""
    user = acting_user(request)
    workflow.do_submit(user, article_for(user, number), expected_version=payload.expected_version)
    return _shown(user, article_for(user, number))


@router.post(
    "knowledge/articles/{number}/approve", response=with_errors({200: ArticleOut}, WRITE_ERRORS)
)
def approve_article(request: HttpRequest, number: ArticleNumber, payload: ApproveIn) -> Any:
    """Publish an article in review, or a published article's revision (reviewers: problem
    managers, administrators); its review date is set."""
    user = acting_user(request)
    workflow.do_approve(
        user,
        article_for(user, number),
        expected_version=payload.expected_version,
        visibility=payload.visibility,
    )
    return _shown(user, article_for(user, number))


@router.post(
    "knowledge/articles/{number}/send-back",
    response=with_errors({200: ArticleOut}, WRITE_ERRORS),
)
def send_back_article(request: HttpRequest, number: ArticleNumber, payload: SendBackIn) -> Any:
    """Back to its author with a comment (reviewers): a draft again, or a published article's
    revision dropped."""
    user = acting_user(request)
    workflow.do_send_back(
        user,
        article_for(user, number),
        expected_version=payload.expected_version,
        comment=payload.comment,
    )
    return _shown(user, article_for(user, number))


@router.post(
    "knowledge/articles/{number}/retire", response=with_errors({200: ArticleOut}, WRITE_ERRORS)
)
def retire_article(request: HttpRequest, number: ArticleNumber, payload: VersionIn) -> Any:
    """A published article is retired (reviewers)."""
    user = acting_user(request)
    workflow.do_retire(user, article_for(user, number), expected_version=payload.expected_version)
    return _shown(user, article_for(user, number))


# --- Versions ----------------------------------------------------------------------------------


def _staff_article(user: User, number: str) -> Article:
    article = article_for(user, number)
    if not is_staff(user):
        raise Forbidden("Only service desk staff read an article's versions.")
    return article


@router.get(
    "knowledge/articles/{number}/versions",
    response=with_errors({200: VersionPage}, READ_ERRORS),
)
def list_versions(request: HttpRequest, number: ArticleNumber) -> dict[str, Any]:
    """Every version of an article, newest first (staff)."""
    user = acting_user(request)
    article = _staff_article(user, number)
    versions = visible_to(
        user, ArticleVersion.objects.filter(article=article).select_related("edited_by")
    ).order_by("-version")
    return {"items": list(versions)}


@router.get("knowledge/articles/{number}/diff", response=with_errors({200: DiffOut}, READ_ERRORS))
def diff_versions(
    request: HttpRequest,
    number: ArticleNumber,
    from_version: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=2**31 - 1)],
) -> dict[str, Any]:
    """The line-by-line difference between two versions (staff); a missing version is 404."""
    user = acting_user(request)
    difference = workflow.diff_versions(_staff_article(user, number), from_version, to_version)
    return {
        "from_version": difference.old.version,
        "to_version": difference.new.version,
        "title_from": difference.old.title,
        "title_to": difference.new.title,
        "added": difference.added,
        "removed": difference.removed,
        "lines": [{"op": line.op, "text": line.text} for line in difference.lines],
    }


@router.post(
    "knowledge/articles/{number}/restore", response=with_errors({200: ArticleOut}, WRITE_ERRORS)
)
def restore_version(request: HttpRequest, number: ArticleNumber, payload: RestoreIn) -> Any:
    """A new version equal to an earlier one (staff); on a published article it waits for
    review. A missing version is 404, a stale ``expected_version`` 409."""
    user = acting_user(request)
    workflow.do_restore(
        user,
        article_for(user, number),
        version=payload.version,
        expected_version=payload.expected_version,
    )
    return _shown(user, article_for(user, number))


# --- Feedback ----------------------------------------------------------------------------------


@router.put(
    "knowledge/articles/{number}/feedback",
    response=with_errors({200: FeedbackOut, 201: FeedbackOut}, WRITE_ERRORS),
)
def give_feedback(
    request: HttpRequest, number: ArticleNumber, payload: FeedbackIn
) -> Status[FeedbackOut]:
    """Helpful or not, with an optional comment, on a published article: 201 the first time,
    200 when it changes your earlier feedback (one per person)."""
    user = acting_user(request)
    saved = workflow.do_give_feedback(
        user, article_for(user, number), helpful=payload.helpful, comment=payload.comment
    )
    feedback = ArticleFeedback.objects.select_related("person").get(pk=saved.feedback.pk)
    return Status(201 if saved.created else 200, FeedbackOut.model_validate(feedback))


@router.get(
    "knowledge/articles/{number}/feedback",
    response=with_errors({200: FeedbackPage}, READ_ERRORS),
)
def list_feedback(request: HttpRequest, number: ArticleNumber) -> dict[str, Any]:
    """The counts, and the feedback you may read: staff everyone's (with comments), anyone
    else their own."""
    user = acting_user(request)
    article = article_for(user, number)
    items = visible_to(
        user, ArticleFeedback.objects.filter(article=article).select_related("person")
    )[:FEEDBACK_SHOWN]
    return {
        "helpful_count": getattr(article, "helpful_count", 0),
        "not_helpful_count": getattr(article, "not_helpful_count", 0),
        "items": list(items),
    }
