"""Reputation: verifying awards against tickets raised, scores, summaries and the top helpers
(docs/wall.md, "Answers and reputation")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.models import AffectedUser, Incident
from hashdesk.notify.models import Notification
from hashdesk.wall import actions, answers, reputation
from hashdesk.wall.choices import AwardState, ReactionKind
from hashdesk.wall.models import Post, ReputationAward
from hashdesk.wall.tasks import verify_reputation

HOUR = timedelta(hours=1)


@pytest.fixture
def helper(make_person: Any) -> User:
    return make_person("helper@example.test", roles=["requester"])


def _answered(asker: User, helper: User, text: str = "#vpn It drops") -> Post:
    """A question by ``asker`` whose answer by ``helper`` was accepted; returns the answer."""
    question = actions.do_post(asker, body=text, question=True)
    answer = actions.do_post(helper, body="Restart the client.", reply_to=question)
    answers.do_accept_answer(asker, answer)
    return answer


def _window_passed(hours_ago: int = 49) -> tuple[Any, Any]:
    """Move every award's window into the past: earned ``hours_ago``, due an hour ago."""
    now = timezone.now()
    start = now - timedelta(hours=hours_ago)
    ReputationAward.objects.update(created_at=start, verify_after=now - HOUR)
    return start, now


def _incident(reporter: User, service: Any, at: Any) -> Incident:
    incident = incident_actions.do_create_incident(
        reporter, title="It is broken", description="Still broken.", service=service
    )
    Incident.objects.filter(pk=incident.pk).update(created_at=at)
    return incident


def test_an_award_without_a_ticket_in_its_window_is_confirmed_and_told(
    requester: User, helper: User, vpn_service: Any
) -> None:
    _answered(requester, helper)
    _, now = _window_passed()
    assert reputation.verify_due_awards(now) == 1
    award = ReputationAward.objects.get()
    assert (award.state, award.decided_at) == (AwardState.CONFIRMED, now)
    assert reputation.score(helper) == answers.ACCEPTED_POINTS
    notice = Notification.objects.get(recipient=helper, kind="wall.reputation")
    assert notice.title == "Your answer prevented a ticket: +15 reputation"
    assert AuditEntry.objects.filter(action="wall.reputation_confirmed").count() == 1
    assert reputation.verify_due_awards(now) == 0


def test_a_ticket_on_the_same_service_in_the_window_voids_the_award(
    requester: User, helper: User, vpn_service: Any
) -> None:
    _answered(requester, helper)
    start, now = _window_passed()
    incident = _incident(requester, vpn_service, start + 2 * HOUR)
    reputation.verify_due_awards(now)
    award = ReputationAward.objects.get()
    assert (award.state, award.void_reason) == (AwardState.VOID, f"raised {incident.number}")
    assert reputation.score(helper) == 0
    assert not Notification.objects.filter(kind="wall.reputation").exists()
    assert AuditEntry.objects.filter(action="wall.reputation_void").count() == 1


def test_being_added_as_affected_user_counts_as_a_ticket(
    requester: User, other_requester: User, helper: User, vpn_agent: User, vpn_service: Any
) -> None:
    answer = _answered(requester, helper)
    actions.do_react(other_requester, answer, ReactionKind.SOLVED)
    start, now = _window_passed()
    incident = _incident(vpn_agent, vpn_service, start + HOUR)
    incident_actions.do_add_affected_user(vpn_agent, incident, other_requester)
    AffectedUser.objects.filter(user=other_requester).update(added_at=start + 2 * HOUR)
    reputation.verify_due_awards(now)
    by_beneficiary = dict(ReputationAward.objects.values_list("beneficiary_id", "void_reason"))
    assert by_beneficiary == {
        requester.pk: "",
        other_requester.pk: f"affected by {incident.number}",
    }


def test_saying_me_too_to_an_older_incident_in_the_window_counts_from_then(
    requester: User, helper: User, vpn_agent: User, vpn_service: Any
) -> None:
    """The outage was recorded before the answer; joining it afterwards was the asker's ticket."""
    _answered(requester, helper)
    start, now = _window_passed()
    outage = _incident(vpn_agent, vpn_service, start - 10 * HOUR)
    incident_actions.do_add_affected_user(vpn_agent, outage, requester)
    AffectedUser.objects.filter(user=requester).update(added_at=start + 3 * HOUR)
    reputation.verify_due_awards(now)
    award = ReputationAward.objects.get()
    assert (award.state, award.void_reason) == (AwardState.VOID, f"affected by {outage.number}")


def test_tickets_on_other_services_or_after_the_window_do_not_count(
    requester: User, other_requester: User, helper: User, vpn_service: Any, sso_service: Any
) -> None:
    _answered(requester, helper)
    _answered(other_requester, helper)
    start, now = _window_passed()
    _incident(requester, sso_service, start + HOUR)  # another service
    _incident(other_requester, vpn_service, now - HOUR / 2)  # after the window closed
    _incident(other_requester, vpn_service, start - HOUR)  # before the answer
    reputation.verify_due_awards(now)
    assert set(ReputationAward.objects.values_list("state", flat=True)) == {AwardState.CONFIRMED}
    assert reputation.score(helper) == 2 * answers.ACCEPTED_POINTS


def test_a_question_without_a_service_is_voided_by_a_ticket_on_any_service(
    requester: User, helper: User, sso_service: Any
) -> None:
    _answered(requester, helper, text="My laptop will not start")
    start, now = _window_passed()
    _incident(requester, sso_service, start + HOUR)
    reputation.verify_due_awards(now)
    assert ReputationAward.objects.get().state == AwardState.VOID


def test_awards_still_in_their_window_wait(requester: User, helper: User, vpn_service: Any) -> None:
    _answered(requester, helper)
    assert reputation.verify_due_awards(timezone.now()) == 0
    assert ReputationAward.objects.get().state == AwardState.PENDING


def test_verification_costs_the_same_queries_for_3_and_30_awards(
    make_person: Any, helper: User, vpn_service: Any, query_count: Any
) -> None:
    def queries_for(total: int) -> int:
        ReputationAward.objects.update(state=AwardState.CONFIRMED)
        for n in range(total):
            asker = make_person(f"asker{total}-{n}@example.test", roles=["requester"])
            _answered(asker, helper)
            if n % 3 == 0:  # some raise a ticket anyway
                _incident(asker, vpn_service, timezone.now())
        ReputationAward.objects.filter(state=AwardState.PENDING).update(
            created_at=timezone.now() - 2 * HOUR
        )
        due = timezone.now() + timedelta(hours=49)
        with query_count() as ctx:
            assert reputation.verify_due_awards(due) == total
        return len(ctx)

    assert queries_for(3) == queries_for(30)


def test_the_hourly_task_decides_every_due_award(
    requester: User, helper: User, vpn_service: Any
) -> None:
    _answered(requester, helper)
    _window_passed()
    assert verify_reputation.call_local() == 1
    assert ReputationAward.objects.get().state == AwardState.CONFIRMED


def test_summary_shows_pending_awards_only_to_the_person_and_staff(
    requester: User, other_requester: User, helper: User, vpn_agent: User, vpn_service: Any
) -> None:
    _answered(requester, helper)
    _window_passed()
    reputation.verify_due_awards(timezone.now())
    _answered(other_requester, helper)  # pending
    assert reputation.summary(helper, viewer=helper) == reputation.Summary(15, 1, 1)
    assert reputation.summary(helper, viewer=vpn_agent).pending == 1
    assert reputation.summary(helper, viewer=requester) == reputation.Summary(15, 1, None)


def test_leaders_rank_confirmed_points_in_one_query(
    requester: User,
    other_requester: User,
    helper: User,
    make_person: Any,
    vpn_service: Any,
    django_assert_num_queries: Any,
) -> None:
    second = make_person("second.helper@example.test", roles=["requester"])
    _answered(requester, helper)
    _answered(other_requester, helper)
    _answered(requester, second)
    _window_passed()
    reputation.verify_due_awards(timezone.now())
    _answered(other_requester, second)  # pending: not counted
    with django_assert_num_queries(1):
        found = reputation.leaders(requester)
    assert [(leader.person, leader.points, leader.answers) for leader in found] == [
        (helper, 30, 2),
        (second, 15, 1),
    ]
    assert reputation.leaders(requester, since=timezone.now()) == []
    assert len(reputation.leaders(requester, limit=1)) == 1
