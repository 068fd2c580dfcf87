"""CAB approval: who is asked, quorum, rejections, own changes, twice, the emergency CAB."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.models import Service
from hashdesk.changes import actions, approvals
from hashdesk.changes.choices import ApprovalDecision, ChangeState, ChangeType, Risk
from hashdesk.changes.models import Approval, ApproverGroup, Change
from hashdesk.core.errors import Conflict, Forbidden, ValidationFailed
from hashdesk.notify.models import Notification
from tests.changes.core_support import move, new_change

S = ChangeState


@pytest.fixture
def cab_members(make_person: Callable[..., User]) -> list[User]:
    return [make_person(f"cab{n}@example.test", roles=[Role.CHANGE_MANAGER]) for n in range(1, 4)]


@pytest.fixture
def cab(cab_members: list[User], vpn_agent: User) -> ApproverGroup:
    """The normal CAB: two of its four members must approve (the requester is one of them)."""
    return approvals.do_create_approver_group(
        None, name="CAB", members=[*cab_members, vpn_agent], change_types=["normal"], quorum=2
    )


@pytest.fixture
def ecab(cab_members: list[User]) -> ApproverGroup:
    """The emergency CAB: every member must approve."""
    return approvals.do_create_approver_group(
        None, name="Emergency CAB", members=cab_members[:2], change_types=["emergency"], quorum=0
    )


def submitted(actor: User, services: list[Service], **fields: Any) -> Change:
    change = new_change(actor, services, **fields)
    if change.type == ChangeType.NORMAL:
        change = move(actor, change, S.ASSESS)
    return move(actor, change, S.AUTHORISE)


def test_entering_authorise_asks_every_member_but_the_requester(
    vpn_agent: User,
    vpn_service: Service,
    cab: ApproverGroup,
    ecab: ApproverGroup,
    cab_members: list[User],
) -> None:
    change = submitted(vpn_agent, [vpn_service])
    rows = Approval.objects.filter(change=change)
    assert {(r.group.name, r.approver_id) for r in rows} == {("CAB", m.pk) for m in cab_members}
    assert {r.decision for r in rows} == {ApprovalDecision.PENDING}
    asked = Notification.objects.filter(kind="change.approval_requested")
    assert {n.recipient_id for n in asked} == {m.pk for m in cab_members}
    assert approvals.missing_groups(change) == ["CAB"]


def test_quorum_then_scheduling(
    vpn_agent: User, vpn_service: Service, cab: ApproverGroup, cab_members: list[User]
) -> None:
    change = submitted(vpn_agent, [vpn_service])
    approvals.do_decide(cab_members[0], change, approve=True, comment="Fine.")
    with pytest.raises(Conflict) as raised:
        move(vpn_agent, change, S.SCHEDULED)
    assert raised.value.extra["missing_groups"] == ["CAB"]
    assert "CAB" in raised.value.detail
    change.refresh_from_db()
    assert change.state == S.AUTHORISE
    approvals.do_decide(cab_members[1], change, approve=True)
    assert approvals.missing_groups(change) == []
    assert Notification.objects.filter(
        recipient=vpn_agent, kind="change.approval", title__contains="approved"
    ).exists()
    assert move(vpn_agent, change, S.SCHEDULED).state == S.SCHEDULED


def test_quorum_zero_means_every_member(
    vpn_agent: User, vpn_service: Service, ecab: ApproverGroup, cab_members: list[User]
) -> None:
    change = submitted(vpn_agent, [vpn_service], type=ChangeType.EMERGENCY)
    assert approvals.missing_groups(change) == ["Emergency CAB"]
    approvals.do_decide(cab_members[0], change, approve=True)
    assert approvals.missing_groups(change) == ["Emergency CAB"]
    approvals.do_decide(cab_members[1], change, approve=True)
    assert approvals.missing_groups(change) == []


def test_a_rejection_sends_the_change_back_to_assess(
    vpn_agent: User,
    vpn_service: Service,
    cab: ApproverGroup,
    cab_members: list[User],
    capture_events: Any,
) -> None:
    change = submitted(vpn_agent, [vpn_service])
    with pytest.raises(ValidationFailed) as raised:
        approvals.do_decide(cab_members[0], change, approve=False, comment=" ")
    assert raised.value.field == "comment"
    with capture_events() as events:
        change = approvals.do_decide(
            cab_members[0], change, approve=False, comment="No back-out test."
        )
    assert change.state == S.ASSESS
    assert [(e.type, e.op) for e in events if e.type == "change"] == [("change", "approval")]
    assert AuditEntry.objects.filter(action="change.reject").exists()
    # Submitted again, the CAB is asked afresh.
    change = move(vpn_agent, change, S.AUTHORISE)
    assert set(Approval.objects.filter(change=change).values_list("decision", flat=True)) == {
        ApprovalDecision.PENDING
    }


def test_approving_twice_ones_own_change_or_uninvited_is_refused(
    vpn_agent: User,
    problem_manager: User,
    vpn_service: Service,
    cab: ApproverGroup,
    cab_members: list[User],
) -> None:
    change = submitted(vpn_agent, [vpn_service])
    approvals.do_decide(cab_members[0], change, approve=True)
    with pytest.raises(Conflict):
        approvals.do_decide(cab_members[0], change, approve=True)
    with pytest.raises(Forbidden):
        approvals.do_decide(vpn_agent, change, approve=True)  # a CAB member, but the requester
    with pytest.raises(Forbidden):
        approvals.do_decide(problem_manager, change, approve=True)
    assert Approval.objects.filter(change=change, decision=ApprovalDecision.APPROVED).count() == 1
    assert AuditEntry.objects.filter(action="change.approve").count() == 1


def test_groups_are_chosen_by_type_and_risk(
    vpn_agent: User,
    vpn_service: Service,
    cab: ApproverGroup,
    ecab: ApproverGroup,
    cab_members: list[User],
) -> None:
    board = approvals.do_create_approver_group(
        None, name="Board", members=[cab_members[2]], change_types=["normal"], min_risk=Risk.HIGH
    )
    low = submitted(vpn_agent, [vpn_service])
    assert board.name not in approvals.missing_groups(low)
    high = submitted(vpn_agent, [vpn_service], risk_answers={})
    assert high.risk == Risk.HIGH
    assert approvals.missing_groups(high) == ["Board", "CAB"]
    emergency = submitted(vpn_agent, [vpn_service], type=ChangeType.EMERGENCY)
    assert approvals.missing_groups(emergency) == ["Emergency CAB"]


def test_a_standard_change_needs_no_approval(
    vpn_agent: User, vpn_service: Service, cab: ApproverGroup
) -> None:
    template = actions.do_create_template(
        None, name="Restart", implementation_plan="x", backout_plan="y"
    )
    change = new_change(vpn_agent, [vpn_service], type=ChangeType.STANDARD, template=template)
    assert move(vpn_agent, change, S.SCHEDULED).state == S.SCHEDULED
    assert not Approval.objects.filter(change=change).exists()


def test_only_change_managers_set_up_groups(vpn_agent: User) -> None:
    with pytest.raises(Forbidden):
        approvals.do_create_approver_group(
            vpn_agent, name="Mine", members=[], change_types=["normal"]
        )
    with pytest.raises(ValidationFailed):
        approvals.do_create_approver_group(None, name="Odd", members=[], change_types=["weird"])
