"""Endpoints of knowledge articles and of drafting them from chat (docs/api.md, "Knowledge").

Lookups go through ``core.visibility`` (an article the caller may not see is a 404); every
write calls ``knowledge.actions``, the same actions the pages call.
"""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Status

from hashdesk.accounts.models import User
from hashdesk.api.auth import acting_user
from hashdesk.api.pagination import Keyset, paginate
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, ObjectId, with_errors
from hashdesk.catalog.models import Service
from hashdesk.chat.api import message_for
from hashdesk.chat.api_help import conversation_for
from hashdesk.core.errors import NotFound, ValidationFailed
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.knowledge import actions
from hashdesk.knowledge.models import Article
from hashdesk.knowledge.schemas import (
    NUMBER,
    ArticleDrafted,
    ArticleEdit,
    ArticleFilters,
    ArticleIn,
    ArticleOut,
    ArticlePage,
)

router = Router(tags=["knowledge"])

NEWEST_FIRST = Keyset(("-updated_at", "-id"))
ArticleNumber = Annotated[str, Path(pattern=NUMBER, max_length=24, description="KB-000123")]


def article_for(user: User, number: str) -> Article:
    found = (
        visible_to(user, Article.objects.select_related("owner", "contributor"))
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
        fields.update(origin_id=None, contributor=None)
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
    are the drafts), anyone else published public ones."""
    user = acting_user(request)
    articles = visible_to(user, Article.objects.select_related("owner", "contributor"))
    if filters.state is not None:
        articles = articles.filter(state=filters.state)
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
    """Save a new version of a draft or an article in review (staff). ``expected_version`` is
    the version you edited: 409 when someone saved since."""
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
