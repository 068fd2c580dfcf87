"""Questions on the wall (issue 8; docs/wall.md, "Questions and answers").

A first post may be marked as a question, when posting (``do_post(question=True)``) or later by
its author (or staff). Only questions take accepted answers (wall.answers). An accepted answer is
proposed as a knowledge-article draft (knowledge.actions) and, where it matches an open problem
without a workaround, as that problem's workaround: the problem's owner is told, the problem page
lists it under "Proposed workarounds", and a problem manager may adopt it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.core.errors import Conflict, Forbidden, NotFound
from hashdesk.core.events import send_event
from hashdesk.core.visibility import (
    Viewer,
    can_manage_problems,
    can_view,
    is_signed_in,
    is_staff,
    staff_condition,
    visible_to,
)
from hashdesk.notify.actions import do_notify
from hashdesk.wall.actions import POST_URL, post_snapshot, post_streams
from hashdesk.wall.choices import ModerationState, PostKind
from hashdesk.wall.events import WallPostEvent
from hashdesk.wall.models import Post, WorkaroundProposal

logger = logging.getLogger(__name__)

# Proposals shown on a problem page, newest first.
PROPOSALS_SHOWN = 5


@transaction.atomic
def do_mark_question(actor: User | None, post: Post, *, question: bool = True) -> Post:
    """Mark (or unmark) a first post as a question: its author, or staff. A question with an
    accepted answer stays one (withdraw the answer first)."""
    if actor is None or not is_signed_in(actor):
        raise Forbidden("Sign in to use the wall.")
    if not can_view(actor, post) or post.deleted_at is not None:
        raise NotFound("No such post.")
    if post.author_id != actor.pk and not is_staff(actor):
        raise Forbidden("Only the person who posted it can mark a post as a question.")
    post = (
        Post.objects.select_for_update(of=("self",))
        .select_related("author", "service", "incident", "team")
        .get(pk=post.pk)
    )
    if post.thread_root_id is not None:
        raise Conflict("Only the first post of a conversation can be a question.")
    if post.kind != PostKind.POST:
        raise Conflict("Official updates and announcements are not questions.")
    if post.is_question == question:
        return post
    if not question and post.accepted_answer_id is not None:
        raise Conflict("This question has an accepted answer: withdraw it first.")
    post.is_question = question
    post.save(update_fields=["is_question"])
    trail.record(
        actor=actor,
        action="wall.question_marked",
        obj=post,
        before={"is_question": not question},
        after={"is_question": question},
    )
    send_event(WallPostEvent(op="update", post=post_snapshot(post)), streams=post_streams(post))
    return post


def unanswered(viewer: Viewer) -> QuerySet[Post]:
    """Visible questions without an accepted answer, newest first (the helpers' filter)."""
    return visible_to(
        viewer,
        Post.objects.filter(
            is_question=True,
            accepted_answer__isnull=True,
            thread_root__isnull=True,
            deleted_at__isnull=True,
            moderation=ModerationState.VISIBLE,
        ),
    ).order_by("-created_at", "-id")


def ordered_answers(posts: Iterable[Post], accepted_id: int | None) -> list[Post]:
    """A question's answers: the accepted one first, then by votes, then oldest first."""
    return sorted(
        posts,
        key=lambda post: (post.pk != accepted_id, -post.vote_count, post.created_at, post.pk),
    )


# --- Workarounds --------------------------------------------------------------------------------


def _problem_viewer() -> User | None:
    """Who looks for matching problems: a problem manager, else any staff (problems are staff
    records), else nobody (nothing is proposed)."""
    staff = User.objects.filter(staff_condition()).distinct().order_by("pk")
    manager = staff.filter(groups__name="problem_manager").first()
    return manager or staff.first()


def propose_workaround(question: Post, answer: Post) -> WorkaroundProposal | None:
    """Propose ``answer`` as the workaround of the open problem without one that best matches
    the question and answer (insights.similar), telling its owner. Never fails the acceptance
    (a savepoint takes back what cannot be made); None when nothing matches."""
    try:
        with transaction.atomic():
            return _propose(question, answer)
    except Exception:  # a proposal is a courtesy; the acceptance must stand
        logger.exception("wall: could not propose answer %s as a workaround", answer.pk)
        return None


def _propose(question: Post, answer: Post) -> WorkaroundProposal | None:
    from hashdesk.insights.similar import similar_items
    from hashdesk.problems.choices import OPEN_PROBLEM_STATES
    from hashdesk.problems.models import Problem

    viewer = _problem_viewer()
    if viewer is None:
        return None
    found = similar_items(
        viewer,
        f"{question.body}\n{answer.body}",
        service=question.service,
        kinds=("problem",),
        limit=5,
        open_only=True,
    )
    for item in found:
        problem = item.object
        if not isinstance(problem, Problem):
            continue
        if problem.state not in OPEN_PROBLEM_STATES or problem.workaround.strip():
            continue
        proposal, created = WorkaroundProposal.objects.get_or_create(
            problem=problem, answer=answer, defaults={"score": float(item.score)}
        )
        if created:
            trail.record(
                actor=None,
                action="wall.workaround_proposed",
                obj=proposal,
                after={"problem": problem.pk, "answer": answer.pk},
            )
            owner = problem.owner if problem.owner_id else None
            if owner is not None and owner.is_active:
                do_notify(
                    owner,
                    kind="wall.workaround_proposed",
                    title=f"An accepted answer may be the workaround for {problem.number}",
                    body=answer.body[:280],
                    url=f"{POST_URL.format(pk=question.pk)}#post-{answer.pk}",
                )
        return proposal
    return None


def proposals_for(viewer: Viewer, problem: Any) -> list[WorkaroundProposal]:
    """The proposals shown on a problem page: answers ``viewer`` may see, newest first."""
    if not can_manage_problems(viewer) and not is_staff(viewer):
        return []
    answers = visible_to(viewer, Post.objects.filter(deleted_at__isnull=True))
    return list(
        WorkaroundProposal.objects.filter(problem=problem, answer__in=answers)
        .select_related("answer", "answer__author")
        .order_by("-created_at", "-id")[:PROPOSALS_SHOWN]
    )


@transaction.atomic
def do_adopt_workaround(actor: User | None, proposal: WorkaroundProposal) -> WorkaroundProposal:
    """A problem manager takes a proposed answer as the problem's workaround (its text becomes
    the workaround). The answer earns its author points when the known error is published with
    it (wall.reputation.award_published)."""
    from hashdesk.problems.actions import do_update_problem

    if actor is None or not can_manage_problems(actor):
        raise Forbidden("Only problem managers and agents can adopt a workaround.")
    proposal = (
        WorkaroundProposal.objects.select_for_update(of=("self",))
        .select_related("problem", "answer")
        .get(pk=proposal.pk)
    )
    if not can_view(actor, proposal.problem) or proposal.answer.deleted_at is not None:
        raise NotFound("No such proposal.")
    if proposal.adopted_at is not None:
        raise Conflict("This answer is already the problem's workaround.")
    do_update_problem(
        actor,
        proposal.problem,
        expected_version=proposal.problem.version,
        workaround=proposal.answer.body,
    )
    proposal.adopted_at = timezone.now()
    proposal.save(update_fields=["adopted_at"])
    trail.record(
        actor=actor,
        action="wall.workaround_adopted",
        obj=proposal,
        after={"problem": proposal.problem_id, "answer": proposal.answer_id},
    )
    return proposal
