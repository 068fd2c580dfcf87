"""Votes on answers (issue 8; docs/wall.md, "Questions and answers").

Up-votes only: one per person and answer, never on one's own answer; voting again is a 409
(the client shows the vote as cast), removing it is ``do_unvote``. Votes order a question's
answers; they earn no reputation (only verified help does: wall.reputation). Each change sends
``wall_post`` op ``vote`` with the answer's new counts, for live counts.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.core.errors import Conflict, Forbidden, NotFound
from hashdesk.core.events import send_event
from hashdesk.core.visibility import can_view, is_signed_in
from hashdesk.wall.actions import post_snapshot, post_streams
from hashdesk.wall.choices import ModerationState
from hashdesk.wall.events import WallPostEvent
from hashdesk.wall.models import AnswerVote, Post


def _answer(actor: User | None, answer: Post) -> tuple[User, Post]:
    if actor is None or not is_signed_in(actor):
        raise Forbidden("Sign in to vote.")
    if not can_view(actor, answer) or answer.deleted_at is not None:
        raise NotFound("No such post.")
    answer = (
        Post.objects.select_for_update(of=("self",))
        .select_related("author", "service", "incident", "team")
        .get(pk=answer.pk)
    )
    return actor, answer


def _publish(answer: Post) -> None:
    answer.refresh_from_db(fields=["vote_count"])
    snapshot = post_snapshot(answer)
    # wall-live.js updates every [data-count] of the post from ``counts``, votes included.
    snapshot["counts"] = {**snapshot["counts"], "votes": answer.vote_count}
    send_event(WallPostEvent(op="vote", post=snapshot), streams=post_streams(answer))


@transaction.atomic
def do_vote(actor: User | None, answer: Post) -> Post:
    """Up-vote ``answer``, a visible reply in a question's conversation, not one's own. Voting
    twice is Conflict (409). Returns the answer with its new ``vote_count``."""
    person, answer = _answer(actor, answer)
    if answer.thread_root_id is None or not (
        Post.objects.filter(pk=answer.thread_root_id, is_question=True).exists()
    ):
        raise Conflict("Only answers to a question can be voted on.")
    if answer.moderation != ModerationState.VISIBLE:
        raise Conflict("Only a visible answer can be voted on.")
    if answer.author_id == person.pk:
        raise Conflict("You cannot vote for your own answer.")
    try:
        with transaction.atomic():
            AnswerVote.objects.create(answer=answer, voter=person)
    except IntegrityError:
        raise Conflict("You already voted for this answer.") from None
    Post.objects.filter(pk=answer.pk).update(vote_count=F("vote_count") + 1)
    trail.record(actor=person, action="wall.vote", obj=answer)
    _publish(answer)
    return answer


@transaction.atomic
def do_unvote(actor: User | None, answer: Post) -> Post:
    """Take back one's vote on ``answer``; NotFound when there is none."""
    person, answer = _answer(actor, answer)
    removed, _ = AnswerVote.objects.filter(answer=answer, voter=person).delete()
    if not removed:
        raise NotFound("You have not voted for this answer.")
    Post.objects.filter(pk=answer.pk, vote_count__gt=0).update(vote_count=F("vote_count") - 1)
    trail.record(actor=person, action="wall.unvote", obj=answer)
    _publish(answer)
    return answer


def voted_ids(person: User | None, answers: list[Post]) -> set[int]:
    """Which of ``answers`` ``person`` voted for (one query; none for the signed out)."""
    if person is None or not is_signed_in(person) or not answers:
        return set()
    return set(
        AnswerVote.objects.filter(voter=person, answer__in=answers).values_list(
            "answer_id", flat=True
        )
    )
