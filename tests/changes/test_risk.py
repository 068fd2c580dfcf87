"""The risk questionnaire, affected services' criticality and the failure history."""

from __future__ import annotations

from typing import Any

import pytest

from hashdesk.accounts.models import User
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.models import Service
from hashdesk.changes import risk
from hashdesk.changes.choices import ChangeState, ChangeType, Risk
from tests.changes.core_support import ALL_ANSWERS_SAFE, move, new_change

ALL_RISKY = {q.key: q.risky_answer for q in risk.QUESTIONS}


def test_the_questionnaire_is_documented_and_weighted() -> None:
    assert 5 <= len(risk.QUESTIONS) <= 6
    assert risk.questionnaire_points(ALL_ANSWERS_SAFE) == 0
    assert risk.questionnaire_points(ALL_RISKY) == sum(q.points for q in risk.QUESTIONS) == 70
    # An unanswered question counts as its risky answer.
    assert risk.questionnaire_points({}) == 70


@pytest.mark.parametrize(
    ("score", "level"),
    [(0, Risk.LOW), (29, Risk.LOW), (30, Risk.MEDIUM), (59, Risk.MEDIUM), (60, Risk.HIGH)],
)
def test_thresholds(score: int, level: Risk) -> None:
    assert risk.level(score) == level


def test_criticality_of_affected_services_counts(
    vpn_agent: User, vpn_service: Service, sso_service: Service
) -> None:
    # VPN is high (3), SSO critical (4): 2 x 3 and 2 x (3 + 4).
    assert new_change(vpn_agent, [vpn_service]).risk_score == 6
    both = new_change(vpn_agent, [vpn_service, sso_service])
    assert both.risk_score == 14 and both.risk == Risk.LOW


def test_many_critical_services_are_capped(vpn_agent: User, db: Any) -> None:
    services = [
        catalog_actions.do_create_service(
            None, name=f"Core {n}", hashtag=f"core{n}", criticality="critical"
        )
        for n in range(6)
    ]
    assert new_change(vpn_agent, services).risk_score == risk.SERVICE_POINTS_MAX


def test_risky_answers_raise_the_risk(vpn_agent: User, vpn_service: Service) -> None:
    change = new_change(vpn_agent, [vpn_service], risk_answers=ALL_RISKY)
    assert change.risk_score == 76 and change.risk == Risk.HIGH


def test_failed_changes_on_the_services_raise_the_risk(
    vpn_agent: User, vpn_service: Service
) -> None:
    for end in (ChangeState.FAILED, ChangeState.BACKED_OUT):
        failed = new_change(vpn_agent, [vpn_service], type=ChangeType.EMERGENCY)
        for state in (ChangeState.AUTHORISE, ChangeState.SCHEDULED, ChangeState.IMPLEMENTING):
            failed = move(vpn_agent, failed, state)
        move(vpn_agent, failed, end, notes="Broke sign-in.")
    change = new_change(vpn_agent, [vpn_service])
    assert change.risk_score == 6 + 2 * risk.FAILURE_POINTS
    assert risk.assess(ALL_ANSWERS_SAFE, [vpn_service.pk]).parts == {
        "questions": 0,
        "services": 6,
        "history": 20,
    }


def test_answers_changed_later_rescore_the_change(vpn_agent: User, vpn_service: Service) -> None:
    from hashdesk.changes import actions

    change = new_change(vpn_agent, [vpn_service])
    change = actions.do_update_change(
        vpn_agent,
        change,
        expected_version=1,
        risk_answers={**ALL_ANSWERS_SAFE, "outage_expected": True},
    )
    assert change.risk_score == 26 and change.risk == Risk.LOW
