"""The review workflow of knowledge articles, restoring versions, feedback and review dates
(docs/knowledge.md, "Review", "Versions", "Feedback", "Review dates").

draft → review → published → retired. Any staff member writes a draft and **submits** it; a
reviewer (``core.visibility.can_review_articles``: problem managers and administrators)
**approves** it (published, due for review ``KNOWLEDGE_REVIEW_DAYS`` later), **sends it back**
with a comment (draft again), or **retires** a published one. Editing a published article makes
a new version that waits for review while readers keep the published text; approving it
publishes it, sending it back drops it (it stays in the history).

Every change is one transaction with an audit entry and a ``knowledge_article`` event; the
article is locked, and a stale ``expected_version`` is a Conflict.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.markup import render_markdown
from hashdesk.core.redaction import redact
from hashdesk.core.visibility import can_review_articles, can_view, is_signed_in, is_staff
from hashdesk.knowledge.actions import (
    _publish,
    _require_staff,
    article_snapshot,
    head_text,
    lock_article,
    review_due,
    save_version,
)
from hashdesk.knowledge.choices import ArticleState, ArticleVisibility
from hashdesk.knowledge.models import COMMENT_MAX, Article, ArticleFeedback, ArticleVersion

REVIEW_COMMENT_MAX = Article._meta.get_field("review_comment").max_length or 1000


def _require_reviewer(actor: User | None, what: str) -> User:
    person = _require_staff(actor, what)
    if not can_review_articles(person):
        raise Forbidden(f"Only article reviewers (problem managers, administrators) can {what}.")
    return person


def _visible(person: User, article: Article) -> None:
    if not can_view(person, article):
        raise NotFound("No such article.")


def _record(person: User, article: Article, action: str, before: dict[str, object]) -> None:
    trail.record(
        actor=person, action=action, obj=article, before=before, after=article_snapshot(article)
    )


def _state_before(article: Article) -> dict[str, object]:
    return {
        "state": article.state,
        "version": article.version,
        "revision_pending": article.revision_pending,
        "visibility": article.visibility,
    }


# --- The workflow -----------------------------------------------------------------------------


@transaction.atomic
def do_submit(actor: User | None, article: Article, *, expected_version: int) -> Article:
    """A draft goes to review (any staff member)."""
    person = _require_staff(actor, "submit articles for review")
    _visible(person, article)
    locked = lock_article(article, expected_version)
    if locked.state != ArticleState.DRAFT:
        raise Conflict(
            f"Only a draft is submitted; this article is {locked.get_state_display().lower()}.",
            field="state",
        )
    before = _state_before(locked)
    locked.state = ArticleState.REVIEW
    locked.updated_at = timezone.now()
    locked.save(update_fields=["state", "updated_at"])
    _record(person, locked, "knowledge.submit", before)
    _publish(locked, "submitted")
    return locked


@transaction.atomic
def do_approve(
    actor: User | None,
    article: Article,
    *,
    expected_version: int,
    visibility: str | None = None,
) -> Article:
    """Publish an article in review, or a published article's revision waiting for review
    (reviewers). ``visibility`` widens or narrows who reads it. Its review date is set
    ``KNOWLEDGE_REVIEW_DAYS`` from now."""
    person = _require_reviewer(actor, "approve articles")
    _visible(person, article)
    if visibility is not None and visibility not in ArticleVisibility.values:
        raise ValidationFailed("Choose who may read the article.", field="visibility")
    locked = lock_article(article, expected_version)
    if not (
        locked.state == ArticleState.REVIEW
        or (locked.state == ArticleState.PUBLISHED and locked.revision_pending)
    ):
        raise Conflict("Nothing of this article waits for review.", field="state")
    before = _state_before(locked)
    title, body = head_text(locked)
    now = timezone.now()
    locked.title, locked.body, locked.body_html = title, body, render_markdown(body)
    locked.state = ArticleState.PUBLISHED
    locked.revision_pending = False
    locked.published_version = locked.version
    locked.published_at = now
    locked.review_due_at = review_due(now)
    locked.review_comment = ""
    locked.review_notified_at = None
    locked.updated_at = now
    if visibility is not None:
        locked.visibility = visibility
    locked.save()
    _record(person, locked, "knowledge.approve", before)
    _publish(locked, "published")
    return locked


@transaction.atomic
def do_send_back(
    actor: User | None, article: Article, *, expected_version: int, comment: str
) -> Article:
    """Send an article in review back to its author with a comment (reviewers): a draft
    again; a published article's revision is dropped (it stays in the history) and the
    published text stays."""
    person = _require_reviewer(actor, "send articles back")
    _visible(person, article)
    comment = " ".join((comment or "").split())
    if not comment:
        raise ValidationFailed("Say what should change.", field="comment")
    if len(comment) > REVIEW_COMMENT_MAX:
        raise ValidationFailed(
            f"Comment is longer than {REVIEW_COMMENT_MAX} characters.", field="comment"
        )
    locked = lock_article(article, expected_version)
    before = _state_before(locked)
    if locked.state == ArticleState.REVIEW:
        locked.state = ArticleState.DRAFT
    elif locked.state == ArticleState.PUBLISHED and locked.revision_pending:
        locked.revision_pending = False
    else:
        raise Conflict("Nothing of this article waits for review.", field="state")
    locked.review_comment = redact(comment).text
    locked.updated_at = timezone.now()
    locked.save(update_fields=["state", "revision_pending", "review_comment", "updated_at"])
    trail.record(
        actor=person,
        action="knowledge.send_back",
        obj=locked,
        before=before,
        after={**article_snapshot(locked), "comment": locked.review_comment},
    )
    _publish(locked, "sent_back")
    return locked


@transaction.atomic
def do_retire(actor: User | None, article: Article, *, expected_version: int) -> Article:
    """A published article is retired (reviewers): readers no longer see it."""
    person = _require_reviewer(actor, "retire articles")
    _visible(person, article)
    locked = lock_article(article, expected_version)
    if locked.state != ArticleState.PUBLISHED:
        raise Conflict("Only a published article is retired.", field="state")
    before = _state_before(locked)
    locked.state = ArticleState.RETIRED
    locked.revision_pending = False
    locked.updated_at = timezone.now()
    locked.save(update_fields=["state", "revision_pending", "updated_at"])
    _record(person, locked, "knowledge.retire", before)
    _publish(locked, "retired")
    return locked


@transaction.atomic
def do_restore(
    actor: User | None, article: Article, *, version: int, expected_version: int
) -> tuple[Article, bool]:
    """A new version equal to an earlier one (staff). Like an edit: a draft takes it at once,
    a published article's restored text waits for review. Returns the article and whether it
    went to review."""
    person = _require_staff(actor, "restore article versions")
    _visible(person, article)
    locked = lock_article(article, expected_version)
    if locked.state == ArticleState.RETIRED:
        raise Conflict("A retired article cannot be edited.", field="state")
    old = ArticleVersion.objects.filter(article_id=locked.pk, version=version).first()
    if old is None:
        raise NotFound(f"{locked.number} has no version {version}.")
    if (old.title, old.body) == head_text(locked):
        raise Conflict(f"The newest version already reads as version {version}.", field="version")
    in_review = save_version(
        person,
        locked,
        title=old.title,
        body=old.body,
        note=f"Restored version {version}",
        action="knowledge.restore",
    )
    return locked, in_review


# --- Versions and their differences -----------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    """One line of a difference: ``op`` is "same", "added" or "removed"."""

    op: str
    text: str


@dataclass(frozen=True)
class Difference:
    old: ArticleVersion
    new: ArticleVersion
    title_changed: bool
    lines: list[DiffLine]
    added: int
    removed: int


def diff_versions(article: Article, old_number: int, new_number: int) -> Difference:
    """The difference between two versions of an article, line by line (difflib)."""
    found = {
        v.version: v
        for v in ArticleVersion.objects.filter(
            article_id=article.pk, version__in={old_number, new_number}
        ).select_related("edited_by")
    }
    for number in (old_number, new_number):
        if number not in found:
            raise NotFound(f"{article.number} has no version {number}.")
    old, new = found[old_number], found[new_number]
    old_lines, new_lines = old.body.splitlines(), new.body.splitlines()
    lines: list[DiffLine] = []
    added = removed = 0
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            lines.extend(DiffLine("same", text) for text in old_lines[a0:a1])
            continue
        for text in old_lines[a0:a1]:
            lines.append(DiffLine("removed", text))
            removed += 1
        for text in new_lines[b0:b1]:
            lines.append(DiffLine("added", text))
            added += 1
    return Difference(
        old=old,
        new=new,
        title_changed=old.title != new.title,
        lines=lines,
        added=added,
        removed=removed,
    )


# --- Feedback ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackSaved:
    feedback: ArticleFeedback
    created: bool


@transaction.atomic
def do_give_feedback(
    actor: User | None, article: Article, *, helpful: bool, comment: str = ""
) -> FeedbackSaved:
    """Helpful or not, with an optional comment, by anyone who reads a published article. One
    per person: giving it again changes it (``created`` False)."""
    if actor is None or not is_signed_in(actor):
        raise Forbidden("Sign in to rate articles.")
    _visible(actor, article)
    if article.state != ArticleState.PUBLISHED:
        raise Conflict("Only a published article is rated.", field="state")
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ValidationFailed(f"Comment is longer than {COMMENT_MAX} characters.", field="comment")
    comment = redact(comment).text
    now = timezone.now()
    feedback, created = ArticleFeedback.objects.select_for_update().get_or_create(
        article=article,
        person=actor,
        defaults={"helpful": helpful, "comment": comment, "created_at": now, "updated_at": now},
    )
    before = None
    if not created:
        if feedback.helpful == helpful and feedback.comment == comment:
            return FeedbackSaved(feedback, created=False)
        before = {"helpful": feedback.helpful, "comment": bool(feedback.comment)}
        feedback.helpful, feedback.comment, feedback.updated_at = helpful, comment, now
        feedback.save(update_fields=["helpful", "comment", "updated_at"])
    trail.record(
        actor=actor,
        action="knowledge.feedback",
        obj=article,
        before=before,
        after={"helpful": helpful, "comment": bool(comment)},
    )
    return FeedbackSaved(feedback, created=created)


def feedback_counts(article: Article) -> tuple[int, int]:
    """(helpful, not helpful) for one article, in one query."""
    counts = ArticleFeedback.objects.filter(article_id=article.pk).aggregate(
        yes=Count("pk", filter=Q(helpful=True)), no=Count("pk", filter=Q(helpful=False))
    )
    return counts["yes"], counts["no"]


def can_read_feedback_comments(user: User) -> bool:
    """Comments are for the desk: readers see the counts."""
    return is_staff(user)


# --- Review dates -----------------------------------------------------------------------------


def stale_condition(now: datetime | None = None) -> Q:
    """Published articles past their review date."""
    return Q(state=ArticleState.PUBLISHED, review_due_at__lte=now or timezone.now())


def notify_due_reviews(now: datetime | None = None) -> int:
    """Tell each owner once about their articles whose review date passed (the daily task);
    approving an article again sets a new date, and a new notice comes when that passes.
    Returns how many articles were notified."""
    from hashdesk.notify.actions import Notice, do_send_notices

    moment = now or timezone.now()
    with transaction.atomic():
        due = list(
            Article.objects.select_for_update(of=("self",))
            .filter(stale_condition(moment), owner__is_active=True)
            .filter(
                Q(review_notified_at__isnull=True) | Q(review_notified_at__lt=F("review_due_at"))
            )
            .select_related("owner")
            .order_by("owner_id", "review_due_at")
        )
        if not due:
            return 0
        by_owner: dict[int, list[Article]] = {}
        for article in due:
            by_owner.setdefault(article.owner_id, []).append(article)
        notices = []
        for articles in by_owner.values():
            first = articles[0]
            if len(articles) == 1:
                title = f"{first.number} is due for review"
                url = reverse("knowledge:article", args=[first.number])
            else:
                title = f"{len(articles)} of your articles are due for review"
                url = reverse("knowledge:index") + "?stale=1&mine=1"
            body = "\n".join(f"{a.number} {a.title}" for a in articles[:20])
            notices.append(
                Notice(
                    recipient=first.owner,
                    kind="knowledge.review_due",
                    title=title,
                    body=body,
                    url=url,
                )
            )
        do_send_notices(notices)
        Article.objects.filter(pk__in=[a.pk for a in due]).update(review_notified_at=moment)
    return len(due)
