"""Votes on answers: one per person, not on one's own, toggled, ordering answers, live counts,
no reputation (docs/wall.md, "Questions and answers")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from hashdesk.accounts.models import User
from hashdesk.core.errors import Conflict, NotFound
from hashdesk.wall import actions, answers, questions, votes
from hashdesk.wall.models import AnswerVote, Post, ReputationAward
from tests.api.support import ApiCaller, raw_token


@pytest.fixture
def helper(make_person: Any) -> User:
    return make_person("helper@example.test", roles=["requester"])


@pytest.fixture
def question(requester: User, vpn_service: Any) -> Post:
    return actions.do_post(requester, body="#vpn How do I reconnect?", question=True)


@pytest.fixture
def answer(helper: User, question: Post) -> Post:
    return actions.do_post(helper, body="Restart the client.", reply_to=question)


@pytest.fixture
def client_for(db: Any) -> Any:
    def make(person: User) -> Client:
        client = Client()
        client.force_login(person)
        return client

    return make


def test_one_vote_per_person_toggled_with_live_counts(
    requester: User, other_requester: User, helper: User, answer: Post, capture_events: Any
) -> None:
    with capture_events() as events:
        voted = votes.do_vote(other_requester, answer)
    assert voted.vote_count == 1
    assert [(e.type, e.op) for e in events] == [("wall_post", "vote")]
    assert events[0].payload["post"]["vote_count"] == 1
    assert events[0].payload["post"]["counts"]["votes"] == 1
    with pytest.raises(Conflict, match="already voted"):
        votes.do_vote(other_requester, answer)
    with pytest.raises(Conflict, match="your own answer"):
        votes.do_vote(helper, answer)
    votes.do_vote(requester, answer)
    assert Post.objects.get(pk=answer.pk).vote_count == 2
    votes.do_unvote(other_requester, answer)
    assert Post.objects.get(pk=answer.pk).vote_count == 1
    assert list(AnswerVote.objects.values_list("voter_id", flat=True)) == [requester.pk]
    with pytest.raises(NotFound, match="not voted"):
        votes.do_unvote(other_requester, answer)
    # Votes alone earn no reputation.
    assert not ReputationAward.objects.exists()


def test_only_answers_to_questions_take_votes(
    requester: User, other_requester: User, helper: User, question: Post
) -> None:
    plain = actions.do_post(requester, body="Lunch is at noon")
    reply = actions.do_post(helper, body="Thanks", reply_to=plain)
    with pytest.raises(Conflict, match="answers to a question"):
        votes.do_vote(other_requester, reply)
    with pytest.raises(Conflict, match="answers to a question"):
        votes.do_vote(other_requester, question)


def test_answers_are_ordered_accepted_first_then_votes_then_time(
    requester: User, other_requester: User, helper: User, make_person: Any, question: Post
) -> None:
    third = make_person("third@example.test", roles=["requester"])
    first = actions.do_post(helper, body="Try the web client.", reply_to=question)
    second = actions.do_post(other_requester, body="Reinstall it.", reply_to=question)
    last = actions.do_post(third, body="Use the TCP profile.", reply_to=question)
    Post.objects.filter(pk=last.pk).update(created_at=first.created_at + timedelta(minutes=5))
    votes.do_vote(requester, second)
    votes.do_vote(third, second)
    votes.do_vote(requester, last)
    answers.do_accept_answer(requester, first)
    replies = list(Post.objects.filter(thread_root=question))
    assert [p.pk for p in questions.ordered_answers(replies, first.pk)] == [
        first.pk,
        second.pk,
        last.pk,
    ]
    assert [p.pk for p in questions.ordered_answers(replies, None)] == [
        second.pk,
        last.pk,
        first.pk,
    ]


def test_the_thread_page_votes_and_orders_answers(
    requester: User, other_requester: User, helper: User, question: Post, client_for: Any
) -> None:
    early = actions.do_post(other_requester, body="Early but unloved.", reply_to=question)
    liked = actions.do_post(helper, body="Later and liked.", reply_to=question)
    client = client_for(requester)
    response = client.post(f"/wall/posts/{liked.pk}/vote/", {"on": "yes"})
    assert response.status_code == 302
    page = client.get(f"/wall/posts/{question.pk}/").content.decode()
    assert page.index(f'id="post-{liked.pk}"') < page.index(f'id="post-{early.pk}"')
    assert 'aria-pressed="true">Helpful answer' in page
    # The author sees the count, without a button for their own answer.
    own = client_for(helper).get(f"/wall/posts/{question.pk}/").content.decode()
    assert f'action="/wall/posts/{liked.pk}/vote/"' in own
    assert own.count("Helpful answer") == 1  # only on the other person's answer
    client.post(f"/wall/posts/{liked.pk}/vote/", {"on": "no"})
    assert Post.objects.get(pk=liked.pk).vote_count == 0


def test_api_votes_twice_is_a_clear_409_and_answers_are_ordered(
    requester: User, other_requester: User, helper: User, question: Post, answer: Post
) -> None:
    api = ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(other_requester)}"})
    other = actions.do_post(requester, body="Me too, any idea?", reply_to=question)
    response = api.post(f"/api/v1/wall/posts/{answer.pk}/vote")
    assert response.status_code == 200 and response.json()["vote_count"] == 1
    again = api.post(f"/api/v1/wall/posts/{answer.pk}/vote")
    assert again.status_code == 409
    assert again["Content-Type"].startswith("application/problem+json")
    assert "already voted" in again.json()["detail"]
    listed = api.get(f"/api/v1/wall/posts/{question.pk}/answers").json()
    assert [item["id"] for item in listed] == [answer.pk, other.pk]
    assert api.delete(f"/api/v1/wall/posts/{answer.pk}/vote").json()["vote_count"] == 0
    assert api.delete(f"/api/v1/wall/posts/{answer.pk}/vote").status_code == 404
