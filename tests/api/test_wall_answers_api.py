"""Answers and reputation in the REST API: accepting a reply, a person's reputation and the
top helpers — through the same actions the pages use (docs/api.md, "Wall")."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from hashdesk.accounts import actions as account_actions
from hashdesk.wall import actions, answers, reputation
from hashdesk.wall.choices import AwardState, PostVisibility
from hashdesk.wall.models import Post, ReputationAward
from tests.api.support import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _roomy_post_limits(settings: Any) -> None:
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "wall_post": (1000, 60),
        "wall_post_ip": (1000, 60),
    }


@pytest.fixture
def helper(make_person):
    return make_person("helper@example.test", roles=["requester"])


@pytest.fixture
def question(requester, vpn_service):
    return actions.do_post(requester, body="#vpn How do I reconnect?", question=True)


@pytest.fixture
def answer(helper, question):
    return actions.do_post(helper, body="Restart the client.", reply_to=question)


def body(response):
    return json.loads(response.content)


def test_the_asker_accepts_and_withdraws_an_answer(
    as_token, requester, question, answer, capture_events
):
    api = as_token(requester)
    with capture_events() as events:
        response = api.post(f"/api/v1/wall/posts/{answer.pk}/accept")
    assert response.status_code == 200, response.content
    found = body(response)
    assert (found["id"], found["accepted_answer"], found["solved_count"]) == (
        question.pk,
        answer.pk,
        0,
    )
    assert "answer_accepted" in [event.op for event in events]
    assert body(api.get(f"/api/v1/wall/posts/{question.pk}"))["accepted_answer"] == answer.pk

    response = api.delete(f"/api/v1/wall/posts/{question.pk}/accept")
    assert response.status_code == 200, response.content
    assert body(response)["accepted_answer"] is None
    assert_problem(api.delete(f"/api/v1/wall/posts/{question.pk}/accept"), 404)


def test_a_moderator_may_accept_for_the_asker(as_token, vpn_agent, requester, answer):
    response = as_token(vpn_agent).post(f"/api/v1/wall/posts/{answer.pk}/accept")
    assert response.status_code == 200, response.content
    assert ReputationAward.objects.get().beneficiary == requester


def test_someone_else_is_refused_and_unseen_posts_are_404(
    as_token, requester, other_requester, helper, answer, nothing_changes
):
    other = as_token(other_requester)
    with nothing_changes():
        assert_problem(other.post(f"/api/v1/wall/posts/{answer.pk}/accept"), 403)
    team = account_actions.do_create_team(None, name="Finance")
    account_actions.do_add_team_member(None, team, requester)
    account_actions.do_add_team_member(None, team, helper)
    secret = actions.do_post(
        requester, body="Team question", visibility=PostVisibility.TEAM, team=team
    )
    secret_reply = actions.do_post(helper, body="Team answer", reply_to=secret)
    with nothing_changes():
        assert_problem(other.post(f"/api/v1/wall/posts/{secret_reply.pk}/accept"), 404)
        assert_problem(other.delete(f"/api/v1/wall/posts/{secret.pk}/accept"), 404)
        assert_problem(other.post("/api/v1/wall/posts/999999/accept"), 404)


def test_illegal_answers_are_409(as_token, requester, question, nothing_changes):
    api = as_token(requester)
    own = actions.do_post(requester, body="Never mind, found it", reply_to=question)
    with nothing_changes():
        assert_problem(api.post(f"/api/v1/wall/posts/{own.pk}/accept"), 409)
        assert_problem(api.post(f"/api/v1/wall/posts/{question.pk}/accept"), 409)
    assert Post.objects.get(pk=question.pk).accepted_answer_id is None


def test_solved_reaction_through_the_api(as_token, requester, other_requester, answer):
    answers.do_accept_answer(requester, answer)
    response = as_token(other_requester).post(f"/api/v1/wall/posts/{answer.pk}/reactions/solved")
    assert response.status_code == 200, response.content
    assert body(response)["solved_count"] == 1


def _confirm_all() -> None:
    past = timezone.now() - timedelta(hours=49)
    ReputationAward.objects.update(created_at=past, verify_after=past + timedelta(hours=48))
    reputation.verify_due_awards(timezone.now())


def test_reputation_and_leaders(
    as_token, requester, other_requester, vpn_agent, helper, question, answer
):
    answers.do_accept_answer(requester, answer)
    _confirm_all()
    second = actions.do_post(other_requester, body="#vpn Another question", question=True)
    answers.do_accept_answer(
        other_requester, actions.do_post(helper, body="Same fix.", reply_to=second)
    )

    response = as_token(helper).get(f"/api/v1/wall/people/{helper.pk}/reputation")
    assert response.status_code == 200, response.content
    assert body(response) == {
        "person": {"id": helper.pk, "display_name": helper.display_name},
        "points": 15,
        "answers": 1,
        "pending": 1,
    }
    assert (
        body(as_token(vpn_agent).get(f"/api/v1/wall/people/{helper.pk}/reputation"))["pending"] == 1
    )
    assert (
        body(as_token(requester).get(f"/api/v1/wall/people/{helper.pk}/reputation"))["pending"]
        is None
    )
    assert_problem(as_token(requester).get("/api/v1/wall/people/999999/reputation"), 404)

    leaders = body(as_token(requester).get("/api/v1/wall/reputation/leaders"))
    assert leaders == [
        {
            "person": {"id": helper.pk, "display_name": helper.display_name},
            "points": 15,
            "answers": 1,
        }
    ]
    assert ReputationAward.objects.filter(state=AwardState.PENDING).count() == 1
    assert_problem(as_token(requester).get("/api/v1/wall/reputation/leaders?limit=0"), 422)
