"""Community answers on the wall (story 7; docs/wall.md, "Answers and reputation").

The person who asked — a thread's first post's author — accepts one reply as the answer; other
people may say the accepted answer "solved it for me too". Each earns the answer's author a
*pending* ReputationAward that wall.reputation confirms only when its beneficiary raised no
ticket on the question's service in the verification window.

Knowledge articles and problems hook into the ``wall_post`` event op ``answer_accepted``.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.core.errors import Conflict, Forbidden, NotFound
from hashdesk.core.events import send_event
from hashdesk.core.visibility import can_accept_answers_for, can_view, is_signed_in
from hashdesk.notify.actions import do_notify
from hashdesk.wall.actions import POST_URL, post_snapshot, post_streams
from hashdesk.wall.choices import AwardReason, AwardState, ModerationState, PostKind
from hashdesk.wall.events import WallPostEvent
from hashdesk.wall.models import Post, ReputationAward

ACCEPTED_POINTS = 15
SOLVED_POINTS = 5
# Earned, already verified, when the answer's article draft is published, or the problem it
# was proposed for publishes its known error with it as the workaround (wall.reputation).
ARTICLE_POINTS = 20
WORKAROUND_POINTS = 25

REPLACED = "The asker accepted another answer"
WITHDRAWN = "The asker withdrew the acceptance"
UNREACTED = "Taken back"
DELETED = "The answer was deleted"
HIDDEN = "The answer was hidden by a moderator"


def deflection_window_end(start: datetime) -> datetime:
    """When an award earned at ``start`` is verified (settings read at call time)."""
    return start + settings.WALL_DEFLECTION_WINDOW


def _lock(post_id: int) -> Post:
    # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of the outer joins.
    return (
        Post.objects.select_for_update(of=("self",))
        .select_related("author", "service", "incident", "team")
        .get(pk=post_id)
    )


def _require_signed_in_viewer(actor: User | None, post: Post) -> User:
    if actor is None or not is_signed_in(actor):
        raise Forbidden("Sign in to use the wall.")
    if not can_view(actor, post) or post.deleted_at is not None:
        raise NotFound("No such post.")
    return actor


def _require_asker(actor: User, root: Post) -> None:
    """The asker decides; a service desk agent may act for them (core.visibility)."""
    if not can_accept_answers_for(actor, root):
        raise Forbidden(
            "Only the person who asked, or a service desk agent, can accept an answer "
            "to this question."
        )


def _require_question(root: Post) -> None:
    if root.kind != PostKind.POST:
        raise Conflict("Official updates and announcements do not take answers.")
    if root.deleted_at is not None:
        raise NotFound("No such post.")
    if root.moderation != ModerationState.VISIBLE:
        raise Conflict("Only a visible question can have an accepted answer.")
    if not root.is_question:
        raise Conflict(
            "Only a question takes an accepted answer: its author may mark the post as a "
            "question first."
        )


def _void(awards: QuerySet[ReputationAward], reason: str, now: datetime) -> int:
    """Void the pending awards of a queryset (confirmed ones were earned and stay)."""
    return awards.filter(state=AwardState.PENDING).update(
        state=AwardState.VOID, decided_at=now, void_reason=reason
    )


def _earn(answer: Post, beneficiary_id: int, service_id: int | None, reason: str) -> None:
    """A pending award for ``answer``'s author, once per answer, beneficiary and reason: an
    award voided by a withdrawal starts again with a fresh window; a confirmed one stays."""
    now = timezone.now()
    points = ACCEPTED_POINTS if reason == AwardReason.ACCEPTED else SOLVED_POINTS
    award = (
        ReputationAward.objects.select_for_update()
        .filter(answer=answer, beneficiary_id=beneficiary_id, reason=reason)
        .first()
    )
    if award is None:
        ReputationAward.objects.create(
            person_id=answer.author_id,
            beneficiary_id=beneficiary_id,
            answer=answer,
            service_id=service_id,
            reason=reason,
            points=points,
            created_at=now,
            verify_after=deflection_window_end(now),
        )
    elif award.state == AwardState.VOID:
        award.state = AwardState.PENDING
        award.created_at = now
        award.verify_after = deflection_window_end(now)
        award.decided_at = None
        award.void_reason = ""
        award.save(
            update_fields=["state", "created_at", "verify_after", "decided_at", "void_reason"]
        )


def _publish(root: Post, op: str) -> None:
    send_event(WallPostEvent(op=op, post=post_snapshot(root)), streams=post_streams(root))


@transaction.atomic
def do_accept_answer(actor: User | None, reply: Post) -> Post:
    """Accept ``reply`` as its thread's answer (the asker, or a moderator for them); returns
    the thread's first post. Accepting another reply replaces the answer."""
    person = _require_signed_in_viewer(actor, reply)
    root_id = reply.thread_root_id
    if root_id is None:
        raise Conflict("Only a reply in a conversation can be accepted as its answer.")
    # The reply before its thread's first post: the order do_delete_post takes them in.
    reply = _lock(reply.pk)
    root = _lock(root_id)
    if not can_view(person, root):
        raise NotFound("No such post.")
    _require_asker(person, root)
    _require_question(root)
    if reply.deleted_at is not None:
        raise NotFound("No such post.")
    if reply.moderation != ModerationState.VISIBLE:
        raise Conflict("Only a visible reply can be accepted as the answer.")
    if reply.author_id == root.author_id:
        raise Conflict("The asker's own reply cannot be the accepted answer.")
    if root.accepted_answer_id == reply.pk:
        raise Conflict("This reply is already the accepted answer.")
    now = timezone.now()
    previous = root.accepted_answer_id
    if previous is not None:
        _void(
            ReputationAward.objects.filter(
                answer_id=previous, beneficiary_id=root.author_id, reason=AwardReason.ACCEPTED
            ),
            REPLACED,
            now,
        )
    root.accepted_answer = reply
    root.accepted_at = now
    root.save(update_fields=["accepted_answer", "accepted_at"])
    _earn(reply, root.author_id, root.service_id, AwardReason.ACCEPTED)
    trail.record(
        actor=person,
        action="wall.answer_accepted",
        obj=root,
        before={"accepted_answer_id": previous},
        after={"accepted_answer_id": reply.pk, "for_asker": person.pk != root.author_id},
    )
    do_notify(
        reply.author,
        kind="wall.answer_accepted",
        title="Your answer was accepted",
        body=root.body[:280],
        url=f"{POST_URL.format(pk=root.pk)}#post-{reply.pk}",
    )
    _publish(root, "answer_accepted")
    # Accepted answers are proposed as knowledge-article drafts (docs/knowledge.md); in this
    # transaction, but a draft that cannot be made never fails the acceptance.
    from hashdesk.knowledge.actions import propose_from_answer

    propose_from_answer(root, reply, accepted_by=person)
    # And, where it matches an open problem without a workaround, as its workaround.
    from hashdesk.wall.questions import propose_workaround

    propose_workaround(root, reply)
    return root


@transaction.atomic
def do_unaccept_answer(actor: User | None, root: Post) -> Post:
    """Withdraw the accepted answer of ``root``'s thread (any post of the thread names it);
    the answer's pending award for the asker is voided."""
    person = _require_signed_in_viewer(actor, root)
    root = _lock(root.thread_root_id or root.pk)
    if not can_view(person, root) or root.deleted_at is not None:
        raise NotFound("No such post.")
    _require_asker(person, root)
    previous = root.accepted_answer_id
    if previous is None:
        raise NotFound("This conversation has no accepted answer.")
    _void(
        ReputationAward.objects.filter(
            answer_id=previous, beneficiary_id=root.author_id, reason=AwardReason.ACCEPTED
        ),
        WITHDRAWN,
        timezone.now(),
    )
    root.accepted_answer = None
    root.accepted_at = None
    root.save(update_fields=["accepted_answer", "accepted_at"])
    trail.record(
        actor=person,
        action="wall.answer_unaccepted",
        obj=root,
        before={"accepted_answer_id": previous},
        after={"accepted_answer_id": None},
    )
    _publish(root, "answer_unaccepted")
    return root


# --- "Solved it for me too" (called by wall.actions.do_react / do_unreact) -----------------------


def check_solved(person: User, answer: Post) -> tuple[int, int | None]:
    """May ``person`` say ``answer`` solved it for them too? Only on a thread's accepted
    answer, and neither its author nor the asker (whose acceptance already counts). Returns
    the asker's id and the question's service for the award."""
    question = (
        Post.objects.filter(pk=answer.thread_root_id, accepted_answer_id=answer.pk)
        .values_list("author_id", "service_id")
        .first()
        if answer.thread_root_id
        else None
    )
    if question is None:
        raise Conflict("Only a conversation's accepted answer can be marked as solving it.")
    asker_id, service_id = question
    if person.pk == answer.author_id:
        raise Conflict("Your own answer solving it for you does not count.")
    if person.pk == asker_id:
        raise Conflict("Your acceptance already counts for this answer.")
    return asker_id, service_id


def earn_solved(person: User, answer: Post, service_id: int | None) -> None:
    _earn(answer, person.pk, service_id, AwardReason.SOLVED)


def void_solved(person: User, answer: Post) -> None:
    _void(
        ReputationAward.objects.filter(
            answer=answer, beneficiary_id=person.pk, reason=AwardReason.SOLVED
        ),
        UNREACTED,
        timezone.now(),
    )


def void_awards_of_removed(answer: Post, *, deleted: bool) -> None:
    """A deleted or hidden answer earns nothing more: its pending awards are void. A deleted
    one also stops being its thread's answer (a hidden one may be shown again)."""
    _void(
        ReputationAward.objects.filter(answer=answer),
        DELETED if deleted else HIDDEN,
        timezone.now(),
    )
    if deleted:
        Post.objects.filter(accepted_answer=answer).update(accepted_answer=None, accepted_at=None)
