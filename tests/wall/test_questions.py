"""Questions on the wall: marking, who accepts, the unanswered filter, workaround proposals,
badges and the department leaderboard (docs/wall.md, "Questions and answers")."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.test import Client, TestCase
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.core.errors import Conflict, Forbidden
from hashdesk.knowledge.choices import ArticleOrigin, ArticleState
from hashdesk.knowledge.models import Article
from hashdesk.notify.models import Notification
from hashdesk.problems.models import Problem
from hashdesk.wall import actions, answers, questions, reputation
from hashdesk.wall.choices import AwardReason, AwardState
from hashdesk.wall.models import Post, ReputationAward, WorkaroundProposal
from tests.api.support import ApiCaller, raw_token

committed = partial(TestCase.captureOnCommitCallbacks, execute=True)


@pytest.fixture
def as_token(db: Any) -> Any:
    def make(person: User) -> ApiCaller:
        return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person, 'write')}"})

    return make


@pytest.fixture
def client_for(db: Any) -> Any:
    def make(person: User) -> Client:
        client = Client()
        client.force_login(person)
        return client

    return make


@pytest.fixture
def helper(make_person: Any) -> User:
    return make_person("helper@example.test", roles=["requester"], department="Finance")


@pytest.fixture
def question(requester: User, vpn_service: Any) -> Post:
    return actions.do_post(
        requester, body="#vpn How do I reconnect after the update?", question=True
    )


@pytest.fixture
def answer(helper: User, question: Post) -> Post:
    return actions.do_post(
        helper, body="Restart the client, then sign in again.", reply_to=question
    )


def _verify_all() -> None:
    past = timezone.now() - timedelta(hours=49)
    ReputationAward.objects.filter(state=AwardState.PENDING).update(
        created_at=past, verify_after=past + timedelta(hours=48)
    )
    reputation.verify_due_awards(timezone.now())


def test_a_post_is_marked_as_a_question_when_posted_or_later_by_its_author(
    requester: User, other_requester: User, helper: User, capture_events: Any
) -> None:
    asked = actions.do_post(requester, body="Where is the budget sheet?", question=True)
    assert asked.is_question
    reply = actions.do_post(helper, body="In the drive", reply_to=asked, question=True)
    assert not reply.is_question  # a reply is never a question
    later = actions.do_post(requester, body="Printer on floor 3 is jammed")
    assert not later.is_question
    with pytest.raises(Forbidden, match="Only the person who posted it"):
        questions.do_mark_question(other_requester, later)
    with capture_events() as events:
        marked = questions.do_mark_question(requester, later)
    assert marked.is_question and Post.objects.get(pk=later.pk).is_question
    assert [(e.type, e.op) for e in events] == [("wall_post", "update")]
    assert AuditEntry.objects.filter(action="wall.question_marked").count() == 1
    with pytest.raises(Conflict, match="first post"):
        questions.do_mark_question(helper, reply)


def test_only_questions_take_accepted_answers_and_an_answered_one_stays_a_question(
    requester: User, helper: User, question: Post, answer: Post
) -> None:
    plain = actions.do_post(requester, body="The coffee machine is broken")
    reply = actions.do_post(helper, body="Use the one on floor 2", reply_to=plain)
    with pytest.raises(Conflict, match="Only a question takes an accepted answer"):
        answers.do_accept_answer(requester, reply)
    answers.do_accept_answer(requester, answer)
    with pytest.raises(Conflict, match="withdraw it first"):
        questions.do_mark_question(requester, question, question=False)


def test_an_agent_accepts_for_the_asker_and_a_colleague_may_not(
    requester: User, other_requester: User, vpn_agent: User, question: Post, answer: Post
) -> None:
    with pytest.raises(Forbidden, match="Only the person who asked, or a service desk agent"):
        answers.do_accept_answer(other_requester, answer)
    root = answers.do_accept_answer(vpn_agent, answer)
    assert root.accepted_answer_id == answer.pk
    award = ReputationAward.objects.get()
    assert award.beneficiary == requester  # the asker still benefits


def test_unanswered_lists_open_questions_only(
    requester: User, helper: User, question: Post, answer: Post, client_for: Any
) -> None:
    other = actions.do_post(requester, body="#vpn Which profile for the lab?", question=True)
    actions.do_post(requester, body="Not a question at all")
    assert list(questions.unanswered(helper)) == [other, question]
    answers.do_accept_answer(requester, answer)
    assert list(questions.unanswered(helper)) == [other]
    page = client_for(helper).get("/wall/questions/")
    text = page.content.decode()
    assert page.status_code == 200
    assert 'aria-current="page">Unanswered questions' in text
    assert f'id="post-{other.pk}"' in text and f'id="post-{question.pk}"' not in text
    assert "wall-badge--question" in text


def test_the_composer_checkbox_asks_a_question(requester: User, client_for: Any) -> None:
    client = client_for(requester)
    assert 'name="question"' in client.get("/wall/").content.decode()
    response = client.post(
        "/wall/posts/new/",
        {"body": "How do I map the share?", "audience": "everyone", "question": "on"},
    )
    assert response.status_code == 302
    assert Post.objects.get(body="How do I map the share?").is_question


def test_the_author_marks_a_question_on_the_thread_page(
    requester: User, other_requester: User, client_for: Any
) -> None:
    post = actions.do_post(requester, body="Teams keeps crashing")
    page = client_for(requester).get(f"/wall/posts/{post.pk}/").content.decode()
    assert "Mark as a question" in page
    assert (
        "Mark as a question"
        not in client_for(other_requester).get(f"/wall/posts/{post.pk}/").content.decode()
    )
    client_for(requester).post(f"/wall/posts/{post.pk}/question/", {"on": "yes"})
    assert Post.objects.get(pk=post.pk).is_question


def test_an_accepted_answer_is_proposed_as_the_workaround_of_a_matching_problem(
    requester: User, helper: User, problem_manager: User, vpn_service: Any, client_for: Any
) -> None:
    with committed():
        problem = Problem.objects.create(
            title="VPN tunnel drops with error 809 after the client update",
            description="The VPN client drops the tunnel, error 809, since the update",
            created_by=problem_manager,
            owner=problem_manager,
            number="PRB-77",
        )
        problem.services.add(vpn_service)
        solved = Problem.objects.create(
            title="VPN tunnel drops with error 809 on the old gateway",
            description="error 809 tunnel drops",
            workaround="Already known",
            created_by=problem_manager,
            number="PRB-78",
        )
    with committed():
        asked = actions.do_post(
            requester,
            body="#vpn My VPN tunnel drops with error 809 since the update",
            question=True,
        )
        reply = actions.do_post(
            helper, body="Error 809: switch the VPN client to the TCP profile.", reply_to=asked
        )
    with committed():
        answers.do_accept_answer(requester, reply)
    proposal = WorkaroundProposal.objects.get()
    assert (proposal.problem, proposal.answer) == (problem, reply)
    assert not WorkaroundProposal.objects.filter(problem=solved).exists()
    notice = Notification.objects.get(recipient=problem_manager, kind="wall.workaround_proposed")
    assert "PRB-77" in notice.title and notice.url.endswith(f"#post-{reply.pk}")
    page = client_for(problem_manager).get(f"/problems/{problem.pk}/").content.decode()
    assert "Proposed workarounds" in page and "switch the VPN client to the TCP profile" in page
    # Adopting it makes it the workaround; publishing the known error earns the points.
    client_for(problem_manager).post(f"/wall/workarounds/{proposal.pk}/adopt/")
    problem.refresh_from_db()
    assert problem.workaround == reply.body
    assert reputation.award_published(timezone.now()) == 0  # not published yet
    Problem.objects.filter(pk=problem.pk).update(known_error_published_at=timezone.now())
    assert reputation.award_published(timezone.now()) == 1
    award = ReputationAward.objects.get(reason=AwardReason.WORKAROUND)
    assert (award.person, award.state, award.points) == (helper, AwardState.CONFIRMED, 25)
    assert reputation.award_published(timezone.now()) == 0  # once
    assert "Workaround author" in [badge.name for badge in reputation.badges(helper)]


def test_a_published_article_from_an_answer_earns_points_and_a_badge(
    requester: User, helper: User, vpn_agent: User, question: Post, answer: Post
) -> None:
    answers.do_accept_answer(requester, answer)
    article = Article.objects.get(origin=ArticleOrigin.WALL_ANSWER, origin_id=answer.pk)
    assert reputation.award_published(timezone.now()) == 0
    Article.objects.filter(pk=article.pk).update(state=ArticleState.PUBLISHED)
    assert reputation.award_published(timezone.now()) == 1
    award = ReputationAward.objects.get(reason=AwardReason.ARTICLE)
    assert (award.person, award.state) == (helper, AwardState.CONFIRMED)
    assert [badge.slug for badge in reputation.badges(helper)] == [
        "first_prevented",
        "article_author",
    ]


def test_badges_and_the_department_leaderboard(
    requester: User,
    other_requester: User,
    helper: User,
    make_person: Any,
    question: Post,
    answer: Post,
    client_for: Any,
    django_assert_max_num_queries: Any,
) -> None:
    sales_helper = make_person("sales.helper@example.test", roles=["requester"], department="Sales")
    other_question = actions.do_post(other_requester, body="#vpn And on Linux?", question=True)
    answers.do_accept_answer(
        other_requester,
        actions.do_post(sales_helper, body="Same there.", reply_to=other_question),
    )
    answers.do_accept_answer(requester, answer)
    assert reputation.badges(helper) == []  # pending help earns nothing yet
    _verify_all()
    assert [badge.slug for badge in reputation.badges(helper)] == ["first_prevented"]
    finance = reputation.leaders(requester, department="finance")
    assert [leader.person for leader in finance] == [helper]
    assert [leader.person for leader in reputation.leaders(requester)] == [helper, sales_helper]
    assert reputation.departments(requester) == ["Finance", "Sales"]
    client = client_for(requester)
    with django_assert_max_num_queries(20):
        page = client.get("/wall/leaderboard/?department=Finance")
    text = page.content.decode()
    assert page.status_code == 200
    assert "Helper" in text and f'data-leader="{helper.pk}"' in text
    assert f'data-leader="{sales_helper.pk}"' not in text
    assert "First ticket prevented" in text
    profile = client.get(f"/wall/people/{helper.pk}/").content.decode()
    assert "First ticket prevented" in profile and "15 reputation" in profile
    assert "Leaderboard of Finance" in client.get("/wall/").content.decode()


def test_api_marks_questions_lists_unanswered_and_badges(
    as_token: Any, requester: User, helper: User, vpn_agent: User, question: Post, answer: Post
) -> None:
    api = as_token(requester)
    created = api.post("/api/v1/wall/posts", {"body": "How do I get a token?", "question": True})
    assert created.status_code == 201 and json.loads(created.content)["is_question"] is True
    plain = actions.do_post(requester, body="Just saying hi")
    marked = api.post(f"/api/v1/wall/posts/{plain.pk}/question", {"question": True})
    assert marked.status_code == 200 and json.loads(marked.content)["is_question"] is True
    refused = as_token(helper).post(f"/api/v1/wall/posts/{plain.pk}/question", {"question": False})
    assert refused.status_code == 403
    assert refused["Content-Type"].startswith("application/problem+json")
    ids = [item["id"] for item in json.loads(api.get("/api/v1/wall/questions/unanswered").content)]
    assert question.pk in ids and plain.pk in ids
    # An agent accepts for the asker; a colleague gets a clear 403.
    assert as_token(helper).post(f"/api/v1/wall/posts/{answer.pk}/accept").status_code == 403
    assert as_token(vpn_agent).post(f"/api/v1/wall/posts/{answer.pk}/accept").status_code == 200
    _verify_all()
    badges = json.loads(api.get(f"/api/v1/wall/people/{helper.pk}/badges").content)
    assert [badge["slug"] for badge in badges] == ["first_prevented"]
    leaders = json.loads(api.get("/api/v1/wall/reputation/leaders?department=Finance").content)
    assert [leader["person"]["id"] for leader in leaders] == [helper.pk]
    assert json.loads(api.get("/api/v1/wall/reputation/leaders?department=Sales").content) == []
