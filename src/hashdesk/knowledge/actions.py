"""Knowledge-article drafts (docs/knowledge.md, "Drafts"): written by hand, or made from a
live-help conversation, a chat message, or an accepted answer on the wall.

Every change is one transaction with an audit entry and a ``knowledge_article`` event on
``staff``. Texts are redacted before they are stored, like every text in Hashdesk. An article
made from something (``origin``, ``origin_id``) is made once: drafting it again opens the first
draft, whoever asks (a unique constraint is the backstop when two agents race).

The review workflow, restoring versions and feedback are in ``knowledge.workflow``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import TeamMembership, User
from hashdesk.audit import trail
from hashdesk.catalog.models import Service
from hashdesk.chat.choices import MessageKind
from hashdesk.chat.models import Conversation, Message
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from hashdesk.core.events import send_event
from hashdesk.core.markup import render_markdown
from hashdesk.core.redaction import redact
from hashdesk.core.validation import require_text
from hashdesk.core.visibility import can_moderate, can_view, is_signed_in, is_staff
from hashdesk.knowledge.choices import ArticleOrigin, ArticleState, ArticleVisibility
from hashdesk.knowledge.events import KnowledgeArticleEvent
from hashdesk.knowledge.models import BODY_MAX, TITLE_MAX, Article, ArticleVersion
from hashdesk.wall.models import Post

logger = logging.getLogger(__name__)

NUMBER_PREFIX = "KB-"
# A title made from a message's first line is kept short enough to read in a list.
DERIVED_TITLE_MAX = 120
NOTE_MAX = ArticleVersion._meta.get_field("note").max_length or 300
# Drafts and articles in review change at once; a published article's edit goes to review.
EDITABLE_STATES = (ArticleState.DRAFT, ArticleState.REVIEW, ArticleState.PUBLISHED)
DRAFT_STATES = (ArticleState.DRAFT, ArticleState.REVIEW)
# Drafts made from chats and answers start desk-only: the words came from a private
# conversation or a team's thread; the reviewer widens them when publishing (issue 8).
SOURCE_VISIBILITY = ArticleVisibility.INTERNAL


def review_due(published: datetime) -> datetime:
    """When a just-published article is due for review (``KNOWLEDGE_REVIEW_DAYS`` later)."""
    return published + timedelta(days=settings.KNOWLEDGE_REVIEW_DAYS)


def format_number(pk: int) -> str:
    return f"{NUMBER_PREFIX}{pk:06d}"


@dataclass(frozen=True)
class Saved:
    """What a draft action did: the article, whether this call made it (False: it was drafted
    from the same origin before), and what redaction removed (a sentence, or empty)."""

    article: Article
    created: bool = True
    notice: str = ""
    # A published article's edit: the new version waits for review.
    in_review: bool = False


# --- Snapshots --------------------------------------------------------------------------------


def article_snapshot(article: Article) -> dict[str, Any]:
    """An article as events and audit entries carry it (staff only: no body)."""
    return {
        "id": article.pk,
        "number": article.number,
        "title": article.title,
        "state": article.state,
        "visibility": article.visibility,
        "version": article.version,
        "origin": article.origin,
        "origin_id": article.origin_id,
        "owner_id": article.owner_id,
        "contributor_id": article.contributor_id,
        "revision_pending": article.revision_pending,
    }


def _publish(article: Article, op: str) -> None:
    send_event(
        KnowledgeArticleEvent(op=op, article=article_snapshot(article)), streams=[streams.STAFF]
    )


# --- Checks -----------------------------------------------------------------------------------


def _require_staff(actor: User | None, what: str) -> User:
    if actor is None or not is_signed_in(actor):
        raise Forbidden("Sign in to work on knowledge articles.")
    if not is_staff(actor):
        raise Forbidden(f"Only service desk staff can {what}.")
    return actor


def _clean_texts(title: str | None, body: str | None) -> tuple[str, str, str]:
    """Title and body checked and redacted; the third item tells the author what was removed."""
    title = " ".join(require_text(title, field="title", max_length=TITLE_MAX).split())
    body = require_text(body, field="body", max_length=BODY_MAX)
    clean_title, clean_body = redact(title), redact(body)
    notice = ""
    if clean_title.changed or clean_body.changed:
        # One sentence for both fields ("a password", not "a password and a password").
        notice = redact(f"{title}\n{body}").summary("saving")
    return clean_title.text, clean_body.text, notice


def _existing(origin: str, origin_id: int | None) -> Article | None:
    if origin_id is None:
        return None
    return Article.objects.filter(origin=origin, origin_id=origin_id).first()


# --- Creating and editing ---------------------------------------------------------------------


@transaction.atomic
def do_create_draft(
    actor: User | None,
    *,
    title: str,
    body: str,
    services: Iterable[Service] = (),
    visibility: str,
    origin: str = ArticleOrigin.MANUAL,
    origin_id: int | None = None,
    contributor: User | None = None,
) -> Saved:
    """A new draft owned by ``actor`` (staff), version 1. With ``origin_id``, the draft already
    made from that origin is returned instead (``created`` False)."""
    person = _require_staff(actor, "write knowledge articles")
    return _create_draft(
        person,
        owner=person,
        title=title,
        body=body,
        services=services,
        visibility=visibility,
        origin=origin,
        origin_id=origin_id,
        contributor=contributor,
    )


def _create_draft(
    actor: User | None,
    *,
    owner: User,
    title: str,
    body: str,
    services: Iterable[Service],
    visibility: str,
    origin: str,
    origin_id: int | None,
    contributor: User | None,
) -> Saved:
    """The insert behind every draft (``actor`` is who is recorded; None: the system)."""
    if visibility not in ArticleVisibility.values:
        raise ValidationFailed("Choose who may read the article.", field="visibility")
    if origin not in ArticleOrigin.values:
        raise ValidationFailed("Unknown origin.", field="origin")
    if (origin == ArticleOrigin.MANUAL) != (origin_id is None):
        raise ValidationFailed(
            "An origin other than manual names what it came from.", field="origin_id"
        )
    found = _existing(origin, origin_id)
    if found is not None:
        return Saved(found, created=False)
    title, body, notice = _clean_texts(title, body)
    now = timezone.now()
    try:
        # A savepoint: when another agent drafted the same origin a moment ago, the unique
        # constraint refuses this insert and theirs is the draft.
        with transaction.atomic():
            article = Article.objects.create(
                title=title,
                body=body,
                body_html=render_markdown(body),
                visibility=visibility,
                owner=owner,
                origin=origin,
                origin_id=origin_id,
                contributor=contributor,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        found = _existing(origin, origin_id)
        if found is None:
            raise
        return Saved(found, created=False)
    # The number follows the key, so it never collides (as incidents number themselves).
    article.number = format_number(article.pk)
    article.save(update_fields=["number"])
    service_list = list(services)
    if service_list:
        article.services.set(service_list)
    ArticleVersion.objects.create(
        article=article,
        version=1,
        title=title,
        body=body,
        note=f"First draft: {ArticleOrigin(origin).label.lower()}",
        edited_by=actor,
        created_at=now,
    )
    trail.record(
        actor=actor,
        action="knowledge.draft",
        obj=article,
        after={**article_snapshot(article), "services": [s.pk for s in service_list]},
    )
    _publish(article, "drafted")
    return Saved(article, created=True, notice=notice)


def head_text(article: Article) -> tuple[str, str]:
    """The newest version's title and body: the article's own text, except while a revision of
    a published article waits for review (then readers keep the published text)."""
    if article.revision_pending:
        found = (
            ArticleVersion.objects.filter(article_id=article.pk, version=article.version)
            .values_list("title", "body")
            .first()
        )
        if found is not None:
            return found
    return article.title, article.body


def lock_article(article: Article, expected_version: int | None) -> Article:
    """The article locked for a change; ``expected_version`` (when given) must be its version,
    else Conflict: someone saved meanwhile and nothing is overwritten."""
    locked = Article.objects.select_for_update().get(pk=article.pk)
    if expected_version is not None and locked.version != expected_version:
        raise Conflict(
            "Someone saved this article while you were editing; reload it and apply your "
            "changes again.",
            field="version",
            current_version=locked.version,
        )
    return locked


def save_version(
    person: User, locked: Article, *, title: str, body: str, note: str, action: str
) -> bool:
    """A new version of a locked article (edit or restore). A draft or an article in review
    takes the text at once; a **published** one keeps its published text for readers and the
    new version waits for review (``revision_pending``). Returns whether it went to review."""
    before = {"version": locked.version, "title": locked.title, "state": locked.state}
    now = timezone.now()
    to_review = locked.state == ArticleState.PUBLISHED
    locked.version += 1
    locked.updated_at = now
    if to_review:
        locked.revision_pending = True
        locked.save(update_fields=["version", "updated_at", "revision_pending"])
    else:
        locked.title, locked.body, locked.body_html = title, body, render_markdown(body)
        locked.save(update_fields=["title", "body", "body_html", "version", "updated_at"])
    ArticleVersion.objects.create(
        article=locked,
        version=locked.version,
        title=title,
        body=body,
        note=note[:NOTE_MAX],
        edited_by=person,
        created_at=now,
    )
    trail.record(
        actor=person,
        action=action,
        obj=locked,
        before=before,
        after={"version": locked.version, "title": title, "note": note, "review": to_review},
    )
    _publish(locked, "edited")
    return to_review


@transaction.atomic
def do_edit_draft(
    actor: User | None,
    article: Article,
    *,
    title: str,
    body: str,
    expected_version: int,
    note: str = "",
) -> Saved:
    """Save a new version (staff). ``expected_version`` is the version the editor started
    from: someone else's save in between is a Conflict, so nobody overwrites words they have
    not seen. Saving the same text again changes nothing. A draft or an article in review
    changes at once; a published one goes to review (the published text stays until a
    reviewer approves; ``Saved.in_review``); a retired one is a Conflict."""
    person = _require_staff(actor, "edit knowledge articles")
    if not can_view(person, article):
        raise NotFound("No such article.")
    locked = Article.objects.select_for_update().get(pk=article.pk)
    if locked.state not in EDITABLE_STATES:
        raise Conflict(
            f"A {locked.get_state_display().lower()} article cannot be edited.", field="state"
        )
    lock_article(locked, expected_version)
    title, body, notice = _clean_texts(title, body)
    note = " ".join((note or "").split())
    if len(note) > NOTE_MAX:
        raise ValidationFailed(f"Note is longer than {NOTE_MAX} characters.", field="note")
    if (title, body) == head_text(locked):
        return Saved(locked, created=False, notice=notice, in_review=locked.revision_pending)
    in_review = save_version(
        person, locked, title=title, body=body, note=note, action="knowledge.edit"
    )
    return Saved(locked, created=False, notice=notice, in_review=in_review)


# --- Drafts from live help and chat -----------------------------------------------------------


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.strip().splitlines())


def _fit(body: str) -> str:
    """Long conversations are cut to what an article holds; the source line says where the
    rest is."""
    return body if len(body) <= BODY_MAX else body[: BODY_MAX - 1] + "…"


# A heading, quote or list marker before a line's words (a hashtag such as #vpn stays).
_LINE_MARKUP = re.compile(r"^\s*(?:#{1,6}\s+|>\s*|[-*+]\s+)*")


def _first_line_title(text: str) -> str:
    for line in text.splitlines():
        words = " ".join(_LINE_MARKUP.sub("", line).split())
        if words:
            if len(words) > DERIVED_TITLE_MAX:
                return words[: DERIVED_TITLE_MAX - 1].rstrip() + "…"
            return words
    return "Untitled"


def _question_and_answer(question: Sequence[str], answer: Sequence[str], source: str) -> str:
    parts = [
        "## Question",
        "\n>\n".join(_quoted(text) for text in question),
        "## Answer",
        "\n\n".join(text.strip() for text in answer),
        source,
    ]
    return "\n\n".join(parts)


@transaction.atomic
def do_draft_from_conversation(agent: User | None, conversation: Conversation) -> Saved:
    """A draft from a live-help conversation: its topic as the title, the requester's messages
    as the question and the desk's as the answer. Drafting it again opens the same draft."""
    person = _require_staff(agent, "draft articles from conversations")
    if not can_view(person, conversation):
        raise NotFound("No such conversation.")
    found = _existing(ArticleOrigin.CHAT_CONVERSATION, conversation.pk)
    if found is not None:
        return Saved(found, created=False)
    question: list[str] = []
    answer: list[str] = []
    for author_id, body in (
        Message.objects.filter(
            room_id=conversation.room_id,
            deleted_at__isnull=True,
            kind=MessageKind.MESSAGE,
            author__isnull=False,
        )
        .order_by("pk")
        .values_list("author_id", "body")
    ):
        (question if author_id == conversation.requester_id else answer).append(body)
    if not answer:
        raise Conflict("Nobody from the service desk has answered in this conversation yet.")
    body = _question_and_answer(
        question, answer, f"Source: live-help conversation #{conversation.pk}"
    )
    return _create_draft(
        person,
        owner=person,
        title=conversation.topic[:TITLE_MAX],
        body=_fit(body),
        services=[conversation.service] if conversation.service else [],
        visibility=SOURCE_VISIBILITY,
        origin=ArticleOrigin.CHAT_CONVERSATION,
        origin_id=conversation.pk,
        contributor=conversation.agent,
    )


@transaction.atomic
def do_draft_from_message(agent: User | None, message: Message) -> Saved:
    """A draft from a chat message (with its thread's replies when it starts one): its first
    line as the title, its text as the body, its author as the contributor."""
    person = _require_staff(agent, "draft articles from messages")
    if not can_view(person, message) or message.deleted_at is not None:
        raise NotFound("No such message.")
    if message.kind == MessageKind.SYSTEM or message.author_id is None:
        raise Conflict("Only a person's message can become an article.")
    found = _existing(ArticleOrigin.CHAT_MESSAGE, message.pk)
    if found is not None:
        return Saved(found, created=False)
    parts = [message.body.strip()]
    if message.thread_root_id is None and message.reply_count:
        for name, text in (
            Message.objects.filter(
                thread_root_id=message.pk,
                deleted_at__isnull=True,
                kind=MessageKind.MESSAGE,
                author__isnull=False,
            )
            .order_by("pk")
            .values_list("author__display_name", "body")
        ):
            parts.append(f"**{name}:** {text.strip()}")
    parts.append(f"Source: chat message #{message.pk}")
    room = message.room
    return _create_draft(
        person,
        owner=person,
        title=_first_line_title(message.body),
        body=_fit("\n\n".join(parts)),
        services=[room.service] if room.service_id and room.service else [],
        visibility=SOURCE_VISIBILITY,
        origin=ArticleOrigin.CHAT_MESSAGE,
        origin_id=message.pk,
        contributor=message.author,
    )


# --- Drafts from accepted answers on the wall -------------------------------------------------


def answer_owner(question: Post, accepted_by: User | None) -> User | None:
    """Who owns a draft proposed from an accepted answer: the moderator who accepted it; else
    the first staff member (longest in the team) of the question's service's owner team; else
    the first active administrator — the system's owner. None when there is no staff at all."""
    if accepted_by is not None and is_staff(accepted_by):
        return accepted_by
    service = question.service
    if service is not None and service.owner_team_id is not None:
        for membership in (
            TeamMembership.objects.filter(team_id=service.owner_team_id, user__is_active=True)
            .select_related("user")
            .order_by("joined_at", "pk")
        ):
            if is_staff(membership.user):
                return membership.user
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=Role.ADMINISTRATOR))
        .order_by("pk")
        .first()
    )


def _answer_body(question: Post, answer: Post) -> str:
    return _fit(
        _question_and_answer(
            [question.body], [answer.body], f"Source: wall conversation #{question.pk}"
        )
    )


def _draft_from_answer(actor: User | None, owner: User, question: Post, answer: Post) -> Saved:
    return _create_draft(
        actor,
        owner=owner,
        title=_first_line_title(question.body),
        body=_answer_body(question, answer),
        services=[question.service] if question.service else [],
        visibility=SOURCE_VISIBILITY,
        origin=ArticleOrigin.WALL_ANSWER,
        origin_id=answer.pk,
        contributor=answer.author,
    )


def propose_from_answer(
    question: Post, answer: Post, *, accepted_by: User | None = None
) -> Article | None:
    """Propose a draft from an accepted answer (wall.answers.do_accept_answer calls this in its
    transaction). Never fails the acceptance: a savepoint takes back a draft that cannot be
    made, with a log line; without any staff to own it, nothing is proposed."""
    found = _existing(ArticleOrigin.WALL_ANSWER, answer.pk)
    if found is not None:
        return found
    owner = answer_owner(question, accepted_by)
    if owner is None:
        logger.info("knowledge: no staff to own a draft of answer %s; none proposed", answer.pk)
        return None
    try:
        with transaction.atomic():
            # Recorded as the accepting moderator's, or the system's when the asker accepted.
            actor = accepted_by if accepted_by is not None and is_staff(accepted_by) else None
            return _draft_from_answer(actor, owner, question, answer).article
    except (DomainError, IntegrityError):
        logger.exception("knowledge: could not propose a draft from answer %s", answer.pk)
        return None


@transaction.atomic
def do_draft_from_answer(actor: User | None, answer: Post) -> Saved:
    """A moderator drafts an article from a thread's accepted answer (when acceptance did not
    propose one, e.g. without staff at the time); the same draft when it exists."""
    person = _require_staff(actor, "draft articles from answers")
    if not can_moderate(person) or not can_view(person, answer) or answer.deleted_at is not None:
        raise NotFound("No such post.")
    question = (
        Post.objects.select_related("service")
        .filter(pk=answer.thread_root_id, accepted_answer_id=answer.pk, deleted_at__isnull=True)
        .first()
        if answer.thread_root_id
        else None
    )
    if question is None:
        raise Conflict("Only a conversation's accepted answer can become an article.")
    return _draft_from_answer(person, person, question, answer)


def draft_of_answer(answer_id: int | None) -> Article | None:
    """The draft made from an answer, if any (the wall's thread page links it)."""
    if answer_id is None:
        return None
    return _existing(ArticleOrigin.WALL_ANSWER, answer_id)


# --- Known errors (problems/known_errors.py) ----------------------------------------------------


def publish_known_error_article(
    actor: User,
    article: Article | None,
    *,
    title: str,
    body: str,
    services: Iterable[Service] = (),
    note: str = "",
) -> Article:
    """The published, public article of a problem's known error: made the first time, a new
    version of the same article (published again) afterwards. Runs in the caller's transaction
    (the problem's publishing); the caller has checked that ``actor`` may publish it."""
    person = _require_staff(actor, "publish known errors")
    title, body, _ = _clean_texts(title, body)
    now = timezone.now()
    service_list = list(services)
    if article is None:
        article = Article.objects.create(
            title=title,
            body=body,
            body_html=render_markdown(body),
            state=ArticleState.PUBLISHED,
            visibility=ArticleVisibility.PUBLIC,
            owner=person,
            created_at=now,
            updated_at=now,
            published_at=now,
            published_version=1,
            review_due_at=review_due(now),
        )
        article.number = format_number(article.pk)
        article.save(update_fields=["number"])
        action, before = "knowledge.publish_known_error", None
    else:
        article = Article.objects.select_for_update().get(pk=article.pk)
        before = {"version": article.version, "title": article.title, "state": article.state}
        if (
            article.title == title
            and article.body == body
            and article.state == ArticleState.PUBLISHED
        ):
            article.services.add(*service_list)
            return article
        article.title, article.body, article.body_html = title, body, render_markdown(body)
        article.version += 1
        article.state = ArticleState.PUBLISHED
        article.visibility = ArticleVisibility.PUBLIC
        article.updated_at = article.published_at = now
        article.published_version = article.version
        article.revision_pending = False
        article.review_due_at = review_due(now)
        article.save()
        action = "knowledge.republish_known_error"
    article.services.add(*service_list)
    ArticleVersion.objects.create(
        article=article,
        version=article.version,
        title=title,
        body=body,
        note=(note or "Known error published")[:NOTE_MAX],
        edited_by=person,
        created_at=now,
    )
    trail.record(
        actor=person,
        action=action,
        obj=article,
        before=before,
        after={**article_snapshot(article), "services": [s.pk for s in service_list]},
    )
    _publish(article, "published")
    return article
