"""Answers and reputation on the wall (docs/api.md, "Wall"; docs/wall.md, "Answers and
reputation"): accepting a reply as a thread's answer, a person's reputation and the top helpers.

Lookups go through ``core.visibility`` (what one may not see is a 404); changes are
``wall.answers`` actions, the same the pages call.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field

from hashdesk.accounts.models import User
from hashdesk.api.auth import acting_user
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, Moment, ObjectId, with_errors
from hashdesk.core.errors import NotFound
from hashdesk.core.visibility import visible_to
from hashdesk.wall import answers, questions, reputation, votes
from hashdesk.wall.api import _POST_PREFETCH, _shown, _target_post
from hashdesk.wall.models import Post
from hashdesk.wall.reputation import LEADERS_SHOWN
from hashdesk.wall.schemas import LeaderOut, PostOut, ReputationOut

router = Router(tags=["wall"])


class LeadersQuery(Schema):
    since: Moment | None = Field(None, description="Count only points earned since then.")
    limit: int = Field(LEADERS_SHOWN, ge=1, le=50)
    department: str | None = Field(
        None, max_length=100, description="Only people of this department (accounts)."
    )


class QuestionIn(Schema):
    question: bool = Field(True, description="False takes the mark off (no accepted answer).")


class BadgeOut(Schema):
    slug: str
    name: str
    description: str


class PageQuery(Schema):
    limit: int = Field(20, ge=1, le=100)


@router.post("wall/posts/{int:post_id}/accept", response=with_errors({200: PostOut}, WRITE_ERRORS))
def accept_answer(request: HttpRequest, post_id: ObjectId) -> Any:
    """Accept reply ``post_id`` as its conversation's answer (the person who asked, or a
    moderator for them); answers the conversation's first post. Accepting another reply
    replaces the answer. Someone else's question is 403; your own reply, a first post or an
    official update's conversation is 409."""
    user = acting_user(request)
    return _shown(answers.do_accept_answer(user, _target_post(user, post_id)))


@router.delete(
    "wall/posts/{int:post_id}/accept", response=with_errors({200: PostOut}, WRITE_ERRORS)
)
def unaccept_answer(request: HttpRequest, post_id: ObjectId) -> Any:
    """Withdraw the accepted answer of the conversation of ``post_id`` (its first post);
    404 when it has none."""
    user = acting_user(request)
    return _shown(answers.do_unaccept_answer(user, _target_post(user, post_id)))


@router.get(
    "wall/people/{int:person_id}/reputation",
    response=with_errors({200: ReputationOut}, READ_ERRORS),
)
def person_reputation(request: HttpRequest, person_id: ObjectId) -> dict[str, Any]:
    """A person's reputation: confirmed points and answers that prevented a ticket; pending
    awards only for the person themself and staff (``null`` otherwise)."""
    user = acting_user(request)
    person = visible_to(user, User.objects.filter(is_active=True)).filter(pk=person_id).first()
    if person is None:
        raise NotFound("No such person.")
    found = reputation.summary(person, viewer=user)
    return {
        "person": person,
        "points": found.points,
        "answers": found.answers,
        "pending": found.pending,
    }


@router.get("wall/reputation/leaders", response=with_errors({200: list[LeaderOut]}, READ_ERRORS))
def reputation_leaders(request: HttpRequest, query: Query[LeadersQuery]) -> list[dict[str, Any]]:
    """The top helpers by confirmed points, highest first."""
    found = reputation.leaders(
        acting_user(request), since=query.since, limit=query.limit, department=query.department
    )
    return [
        {"person": leader.person, "points": leader.points, "answers": leader.answers}
        for leader in found
    ]


@router.post(
    "wall/posts/{int:post_id}/question", response=with_errors({200: PostOut}, WRITE_ERRORS)
)
def mark_question(request: HttpRequest, post_id: ObjectId, payload: QuestionIn) -> Any:
    """Mark a first post as a question (its author, or staff), or take the mark off
    (``question: false``; 409 while it has an accepted answer)."""
    user = acting_user(request)
    post = questions.do_mark_question(user, _target_post(user, post_id), question=payload.question)
    return _shown(post)


@router.post("wall/posts/{int:post_id}/vote", response=with_errors({200: PostOut}, WRITE_ERRORS))
def vote(request: HttpRequest, post_id: ObjectId) -> Any:
    """Up-vote an answer to a question (one per person; not your own). Voting twice is 409."""
    user = acting_user(request)
    answer = votes.do_vote(user, _target_post(user, post_id))
    answer.refresh_from_db()
    return _shown(answer)


@router.delete("wall/posts/{int:post_id}/vote", response=with_errors({200: PostOut}, WRITE_ERRORS))
def unvote(request: HttpRequest, post_id: ObjectId) -> Any:
    """Take back your vote on an answer; 404 when you had not voted."""
    user = acting_user(request)
    answer = votes.do_unvote(user, _target_post(user, post_id))
    answer.refresh_from_db()
    return _shown(answer)


@router.get(
    "wall/posts/{int:post_id}/answers", response=with_errors({200: list[PostOut]}, READ_ERRORS)
)
def question_answers(request: HttpRequest, post_id: ObjectId) -> list[Post]:
    """The answers of a question you may see: the accepted one first, then by votes, then
    oldest first."""
    user = acting_user(request)
    root = _target_post(user, post_id)
    replies = visible_to(
        user, Post.objects.filter(thread_root_id=root.pk, deleted_at__isnull=True)
    ).prefetch_related(*_POST_PREFETCH)
    return questions.ordered_answers(
        replies.select_related("author", "service", "team", "incident"), root.accepted_answer_id
    )


@router.get("wall/questions/unanswered", response=with_errors({200: list[PostOut]}, READ_ERRORS))
def unanswered_questions(request: HttpRequest, query: Query[PageQuery]) -> list[Post]:
    """Questions without an accepted answer, newest first: where helpers are needed."""
    found = (
        questions.unanswered(acting_user(request))
        .select_related("author", "service", "team", "incident")
        .prefetch_related(*_POST_PREFETCH)
    )
    return list(found[: query.limit])


@router.get(
    "wall/people/{int:person_id}/badges", response=with_errors({200: list[BadgeOut]}, READ_ERRORS)
)
def person_badges(request: HttpRequest, person_id: ObjectId) -> list[reputation.Badge]:
    """The badges a person earned from verified help (computed from confirmed awards)."""
    user = acting_user(request)
    person = visible_to(user, User.objects.filter(is_active=True)).filter(pk=person_id).first()
    if person is None:
        raise NotFound("No such person.")
    return reputation.badges(person)
