"""Answers on the wall: accepting a reply, "solved it for me too", and the awards they earn
(docs/wall.md, "Answers and reputation")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, Forbidden, NotFound
from hashdesk.notify.models import Notification
from hashdesk.wall import actions, answers, reputation
from hashdesk.wall.choices import AwardReason, AwardState, PostVisibility, ReactionKind
from hashdesk.wall.models import Post, ReputationAward


@pytest.fixture
def helper(make_person: Any) -> User:
    """Someone who answers other people's questions."""
    return make_person("helper@example.test", roles=["requester"])


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


def _fresh(post: Post) -> Post:
    return Post.objects.select_related("author", "service", "incident", "team").get(pk=post.pk)


def test_the_asker_accepts_a_reply_which_earns_a_pending_award(
    requester: User, helper: User, question: Post, answer: Post, vpn_service: Any, capture_events
) -> None:
    before = timezone.now()
    with capture_events() as events:
        root = answers.do_accept_answer(requester, answer)
    assert root.pk == question.pk
    assert root.accepted_answer_id == answer.pk and root.accepted_at is not None
    award = ReputationAward.objects.get()
    assert (award.person, award.beneficiary, award.answer_id, award.service) == (
        helper,
        requester,
        answer.pk,
        vpn_service,
    )
    assert (award.reason, award.points, award.state) == (
        AwardReason.ACCEPTED,
        answers.ACCEPTED_POINTS,
        AwardState.PENDING,
    )
    assert award.verify_after >= before + timedelta(hours=48)
    [event] = [e for e in events if e.type == "wall_post"]
    assert event.op == "answer_accepted"
    assert event.payload["post"]["id"] == question.pk
    assert event.payload["post"]["accepted_answer_id"] == answer.pk
    assert event.streams == sorted([streams.STAFF, streams.MEMBERS])
    notice = Notification.objects.get(recipient=helper, kind="wall.answer_accepted")
    assert notice.title == "Your answer was accepted"
    assert notice.url == f"/wall/posts/{question.pk}/#post-{answer.pk}"
    assert AuditEntry.objects.filter(action="wall.answer_accepted").count() == 1


def test_a_moderator_accepts_for_the_asker_and_the_asker_still_benefits(
    requester: User, vpn_agent: User, question: Post, answer: Post
) -> None:
    answers.do_accept_answer(vpn_agent, answer)
    assert ReputationAward.objects.get().beneficiary == requester
    entry = AuditEntry.objects.get(action="wall.answer_accepted")
    assert entry.after["for_asker"] is True


def test_someone_else_may_not_accept_and_invisible_replies_are_not_found(
    requester: User, other_requester: User, helper: User, finance_team: Any
) -> None:
    question = actions.do_post(requester, body="Where is the budget sheet?", question=True)
    reply = actions.do_post(helper, body="In the shared drive.", reply_to=question)
    with pytest.raises(Forbidden):
        answers.do_accept_answer(other_requester, reply)
    team_question = actions.do_post(
        requester,
        body="Team only",
        visibility=PostVisibility.TEAM,
        team=finance_team,
        question=True,
    )
    team_reply = actions.do_post(requester, body="still team only", reply_to=team_question)
    with pytest.raises(NotFound):
        answers.do_accept_answer(other_requester, team_reply)
    assert not ReputationAward.objects.exists()


def test_illegal_answers_are_conflicts(
    requester: User, helper: User, vpn_agent: User, question: Post, vpn_service: Any
) -> None:
    own = actions.do_post(requester, body="I found it myself", reply_to=question)
    with pytest.raises(Conflict):
        answers.do_accept_answer(requester, own)
    with pytest.raises(Conflict):  # a first post is no reply
        answers.do_accept_answer(requester, question)
    announcement = actions.do_announce(vpn_agent, "VPN maintenance tonight")
    reply = actions.do_post(helper, body="Thanks for telling us", reply_to=announcement)
    with pytest.raises(Conflict):
        answers.do_accept_answer(vpn_agent, reply)
    assert _fresh(question).accepted_answer_id is None
    assert not ReputationAward.objects.exists()


def test_a_nested_reply_can_be_the_answer_and_accepting_twice_is_a_conflict(
    requester: User, helper: User, other_requester: User, question: Post, answer: Post
) -> None:
    nested = actions.do_post(other_requester, body="Also clear the cache.", reply_to=answer)
    answers.do_accept_answer(requester, nested)
    assert _fresh(question).accepted_answer_id == nested.pk
    with pytest.raises(Conflict):
        answers.do_accept_answer(requester, nested)


def test_accepting_another_answer_replaces_it_and_voids_the_previous_award(
    requester: User, helper: User, other_requester: User, question: Post, answer: Post
) -> None:
    better = actions.do_post(other_requester, body="Update the client first.", reply_to=question)
    answers.do_accept_answer(requester, answer)
    answers.do_accept_answer(requester, better)
    assert _fresh(question).accepted_answer_id == better.pk
    old = ReputationAward.objects.get(answer=answer)
    assert (old.state, old.void_reason) == (AwardState.VOID, answers.REPLACED)
    assert ReputationAward.objects.get(answer=better).state == AwardState.PENDING
    # Accepting the first one again starts its award over, with a fresh window.
    answers.do_accept_answer(requester, answer)
    assert ReputationAward.objects.get(answer=answer).state == AwardState.PENDING
    assert ReputationAward.objects.get(answer=better).state == AwardState.VOID


def test_unaccepting_voids_the_pending_award(
    requester: User, other_requester: User, question: Post, answer: Post, capture_events
) -> None:
    answers.do_accept_answer(requester, answer)
    with pytest.raises(Forbidden):
        answers.do_unaccept_answer(other_requester, question)
    with capture_events() as events:
        root = answers.do_unaccept_answer(requester, question)
    assert root.accepted_answer_id is None and root.accepted_at is None
    award = ReputationAward.objects.get()
    assert (award.state, award.void_reason) == (AwardState.VOID, answers.WITHDRAWN)
    assert [e.op for e in events] == ["answer_unaccepted"]
    assert events[0].payload["post"]["accepted_answer_id"] is None
    assert AuditEntry.objects.filter(action="wall.answer_unaccepted").count() == 1
    with pytest.raises(NotFound):
        answers.do_unaccept_answer(requester, question)


def test_solved_it_for_me_too_only_on_the_accepted_answer_by_other_people(
    requester: User,
    helper: User,
    other_requester: User,
    question: Post,
    answer: Post,
    vpn_service: Any,
    capture_events,
) -> None:
    with pytest.raises(Conflict):  # not accepted yet
        actions.do_react(other_requester, answer, ReactionKind.SOLVED)
    answers.do_accept_answer(requester, answer)
    with pytest.raises(Conflict):
        actions.do_react(helper, answer, ReactionKind.SOLVED)
    with pytest.raises(Conflict):
        actions.do_react(requester, answer, ReactionKind.SOLVED)
    with pytest.raises(Conflict):  # the question itself is no answer
        actions.do_react(other_requester, question, ReactionKind.SOLVED)
    with capture_events() as events:
        actions.do_react(other_requester, answer, ReactionKind.SOLVED)
    assert _fresh(answer).solved_count == 1
    [event] = events
    assert event.op == "reaction" and event.payload["post"]["counts"]["solved"] == 1
    award = ReputationAward.objects.get(reason=AwardReason.SOLVED)
    assert (award.person, award.beneficiary, award.points, award.service) == (
        helper,
        other_requester,
        answers.SOLVED_POINTS,
        vpn_service,
    )
    actions.do_unreact(other_requester, answer, ReactionKind.SOLVED)
    assert _fresh(answer).solved_count == 0
    award.refresh_from_db()
    assert (award.state, award.void_reason) == (AwardState.VOID, answers.UNREACTED)
    # Saying it again starts the award over.
    actions.do_react(other_requester, answer, ReactionKind.SOLVED)
    award.refresh_from_db()
    assert award.state == AwardState.PENDING


def test_deleting_or_hiding_the_answer_voids_its_pending_awards(
    requester: User, helper: User, other_requester: User, vpn_agent: User, question: Post
) -> None:
    first = actions.do_post(helper, body="Try the web client.", reply_to=question)
    answers.do_accept_answer(requester, first)
    actions.do_react(other_requester, first, ReactionKind.SOLVED)
    actions.do_hide_post(vpn_agent, first, "Advertises a tool we do not support")
    assert set(ReputationAward.objects.values_list("state", "void_reason")) == {
        (AwardState.VOID, answers.HIDDEN)
    }
    # A hidden answer stays accepted (a moderator may show it again); a deleted one does not.
    assert _fresh(question).accepted_answer_id == first.pk
    second = actions.do_post(helper, body="Reinstall the client.", reply_to=question)
    answers.do_accept_answer(requester, second)
    actions.do_delete_post(helper, second)
    assert ReputationAward.objects.get(answer=second).void_reason == answers.DELETED
    assert _fresh(question).accepted_answer_id is None


def test_confirmed_awards_stay_when_the_acceptance_moves(
    requester: User, helper: User, other_requester: User, question: Post, answer: Post
) -> None:
    answers.do_accept_answer(requester, answer)
    ReputationAward.objects.update(state=AwardState.CONFIRMED)
    better = actions.do_post(other_requester, body="Or use the new profile.", reply_to=question)
    answers.do_accept_answer(requester, better)
    assert ReputationAward.objects.get(answer=answer).state == AwardState.CONFIRMED


# --- Pages --------------------------------------------------------------------------------------


@pytest.fixture
def client_for(db: Any) -> Any:
    def make(person: User) -> Client:
        client = Client()
        client.force_login(person)
        return client

    return make


def _html(response: Any) -> str:
    return str(response.content.decode())


def test_only_the_asker_and_moderators_see_accept_as_answer(
    client_for: Any,
    requester: User,
    other_requester: User,
    vpn_agent: User,
    question: Post,
    answer: Post,
) -> None:
    own = actions.do_post(requester, body="Thanks, trying it", reply_to=question)
    url = f"/wall/posts/{question.pk}/"
    asker_page = _html(client_for(requester).get(url))
    assert asker_page.count("Accept as answer") == 1  # the helper's reply, not the asker's own
    assert f'action="/wall/posts/{answer.pk}/accept/"' in asker_page
    assert f'action="/wall/posts/{own.pk}/accept/"' not in asker_page
    assert "Accept as answer" in _html(client_for(vpn_agent).get(url))
    assert "Accept as answer" not in _html(client_for(other_requester).get(url))


def test_accepting_on_the_page_shows_the_answer_first_with_its_badge(
    client_for: Any,
    requester: User,
    helper: User,
    other_requester: User,
    question: Post,
    answer: Post,
) -> None:
    later = actions.do_post(other_requester, body="Me too, any idea?", reply_to=question)
    client = client_for(requester)
    response = client.post(f"/wall/posts/{answer.pk}/accept/", {"on": "yes"})
    assert response.status_code == 302
    assert response["Location"] == f"/wall/posts/{question.pk}/#post-{answer.pk}"
    assert _fresh(question).accepted_answer_id == answer.pk

    # A later reply is accepted instead: it moves up, right under the question.
    client.post(f"/wall/posts/{later.pk}/accept/", {"on": "yes"})
    page = _html(client.get(f"/wall/posts/{question.pk}/"))
    assert page.index(f'id="post-{question.pk}"') < page.index(f'id="post-{later.pk}"')
    assert page.index(f'id="post-{later.pk}"') < page.index(f'id="post-{answer.pk}"')
    assert "Accepted answer" in page and "Withdraw acceptance" in page
    # The asker's acceptance counts already: no "Solved it for me too" button for them.
    assert "Solved it for me too" not in page

    other_page = _html(client_for(helper).get(f"/wall/posts/{question.pk}/"))
    assert "Solved it for me too" in other_page
    assert "Withdraw acceptance" not in other_page

    timeline = _html(client_for(helper).get("/wall/everyone/"))
    assert "Answered" in timeline


def test_a_refused_acceptance_re_renders_the_conversation(
    client_for: Any, requester: User, question: Post, other_requester: User
) -> None:
    own = actions.do_post(requester, body="Found it myself", reply_to=question)
    response = client_for(requester).post(f"/wall/posts/{own.pk}/accept/", {"on": "yes"})
    assert response.status_code == 400
    assert "The asker&#x27;s own reply cannot be the accepted answer." in _html(response)
    assert _fresh(question).accepted_answer_id is None
    reply = actions.do_post(other_requester, body="Try again", reply_to=question)
    assert client_for(other_requester).post(f"/wall/posts/{reply.pk}/accept/").status_code == 403


def test_solved_it_for_me_too_from_the_page(
    client_for: Any, requester: User, other_requester: User, question: Post, answer: Post
) -> None:
    answers.do_accept_answer(requester, answer)
    client = client_for(other_requester)
    client.post(f"/wall/posts/{answer.pk}/react/", {"kind": "solved", "on": "yes"})
    assert _fresh(answer).solved_count == 1
    page = _html(client.get(f"/wall/posts/{question.pk}/"))
    assert 'aria-pressed="true">Solved it for me too' in page


def test_person_page_shows_reputation_and_the_wall_its_top_helpers(
    client_for: Any,
    requester: User,
    other_requester: User,
    helper: User,
    question: Post,
    answer: Post,
) -> None:
    answers.do_accept_answer(requester, answer)
    past = timezone.now() - timedelta(hours=49)
    ReputationAward.objects.update(created_at=past, verify_after=past + timedelta(hours=48))
    reputation.verify_due_awards(timezone.now())
    other_question = actions.do_post(other_requester, body="#vpn And on Linux?", question=True)
    answers.do_accept_answer(
        other_requester, actions.do_post(helper, body="Same there.", reply_to=other_question)
    )

    own = _html(client_for(helper).get(f"/wall/people/{helper.pk}/"))
    assert "15 reputation · 1 answer that prevented a ticket · 1 pending verification" in own
    seen = _html(client_for(requester).get(f"/wall/people/{helper.pk}/"))
    assert "15 reputation · 1 answer that prevented a ticket" in seen
    assert "pending verification" not in seen

    home = _html(client_for(requester).get("/wall/"))
    assert "Top helpers" in home
    assert f'href="/wall/people/{helper.pk}/">{helper.display_name}</a>' in home


def test_a_conversation_with_an_accepted_answer_costs_the_same_queries_for_3_and_30_replies(
    client_for: Any,
    requester: User,
    other_requester: User,
    question: Post,
    answer: Post,
    query_count: Any,
) -> None:
    answers.do_accept_answer(requester, answer)
    client = client_for(other_requester)

    def queries_for(total: int) -> int:
        while Post.objects.count() < total:
            actions.do_post(other_requester, body="Same here", reply_to=question)
        with query_count() as ctx:
            response = client.get(f"/wall/posts/{question.pk}/")
        assert response.status_code == 200
        return len(ctx)

    assert queries_for(3) == queries_for(30)
