"""The change lifecycle: every legal move, illegal ones, what targets need, and conflicts."""

from __future__ import annotations

from typing import Any

import pytest

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.models import Service
from hashdesk.changes import actions, windows
from hashdesk.changes.choices import ChangeState, ChangeType, WindowKind
from hashdesk.changes.lifecycle import TRANSITIONS
from hashdesk.changes.models import Change
from hashdesk.core.errors import Conflict, Forbidden, ValidationFailed
from tests.changes.core_support import move, new_change, soon

S = ChangeState
DONE = "Went as planned."

# Every path through the table, from Draft; emergency changes have no CAB here, so
# Authorise → Scheduled is free (approvals are tested in test_approvals.py).
PATHS = [
    (ChangeType.NORMAL, [S.ASSESS, S.AUTHORISE, S.SCHEDULED, S.IMPLEMENTING, S.REVIEW, S.CLOSED]),
    (ChangeType.EMERGENCY, [S.AUTHORISE, S.SCHEDULED, S.IMPLEMENTING, S.FAILED]),
    (ChangeType.EMERGENCY, [S.AUTHORISE, S.SCHEDULED, S.IMPLEMENTING, S.BACKED_OUT]),
    (ChangeType.NORMAL, [S.CANCELLED]),
    (ChangeType.NORMAL, [S.ASSESS, S.CANCELLED]),
    (ChangeType.NORMAL, [S.ASSESS, S.AUTHORISE, S.CANCELLED]),
    (ChangeType.NORMAL, [S.ASSESS, S.AUTHORISE, S.ASSESS]),
    (ChangeType.EMERGENCY, [S.AUTHORISE, S.SCHEDULED, S.CANCELLED]),
]


@pytest.mark.parametrize(("kind", "path"), PATHS)
def test_every_legal_move(
    kind: str, path: list[ChangeState], vpn_agent: User, vpn_service: Service
) -> None:
    change = new_change(vpn_agent, [vpn_service], type=kind)
    for state in path:
        change = move(vpn_agent, change, state, notes=DONE)
        assert change.state == state
    assert AuditEntry.objects.filter(action="change.transition").count() == len(path)


def test_the_table_covers_every_state() -> None:
    assert set(TRANSITIONS) == set(ChangeState)


def test_times_and_notes_are_stamped(vpn_agent: User, vpn_service: Service) -> None:
    change = new_change(vpn_agent, [vpn_service], type=ChangeType.EMERGENCY)
    for state in (S.AUTHORISE, S.SCHEDULED):
        change = move(vpn_agent, change, state)
    change = move(vpn_agent, change, S.IMPLEMENTING)
    assert change.actual_start is not None and change.actual_end is None
    change = move(vpn_agent, change, S.REVIEW)
    assert change.actual_end is not None
    change = move(vpn_agent, change, S.CLOSED, notes=DONE)
    assert change.closure_notes == DONE


@pytest.mark.parametrize(
    ("kind", "path", "illegal"),
    [
        (ChangeType.NORMAL, [], S.SCHEDULED),  # a normal change is assessed and approved first
        (ChangeType.NORMAL, [], S.IMPLEMENTING),
        (ChangeType.STANDARD, [], S.ASSESS),  # standard changes are pre-approved
        (ChangeType.EMERGENCY, [S.AUTHORISE, S.SCHEDULED, S.IMPLEMENTING], S.CANCELLED),
        (ChangeType.EMERGENCY, [S.AUTHORISE, S.SCHEDULED], S.REVIEW),
        (ChangeType.NORMAL, [S.CANCELLED], S.DRAFT),
    ],
)
def test_illegal_moves_are_refused_and_change_nothing(
    kind: str,
    path: list[ChangeState],
    illegal: ChangeState,
    vpn_agent: User,
    vpn_service: Service,
    standard_template: Any,
    capture_events: Any,
) -> None:
    extra = {"template": standard_template} if kind == ChangeType.STANDARD else {}
    change = new_change(vpn_agent, [vpn_service], type=kind, **extra)
    for state in path:
        change = move(vpn_agent, change, state, notes=DONE)
    with capture_events() as events, pytest.raises(Conflict):
        move(vpn_agent, change, illegal, notes=DONE)
    before = change.version
    change.refresh_from_db()
    assert change.version == before and not events


@pytest.fixture
def standard_template(db: Any, vpn_service: Service) -> Any:
    template = actions.do_create_template(
        None,
        name="Rotate VPN certificates",
        implementation_plan="Runbook.",
        backout_plan="Restore.",
        services=[vpn_service],
    )
    return template


def test_a_standard_change_is_scheduled_from_draft(
    vpn_agent: User, vpn_service: Service, standard_template: Any
) -> None:
    change = new_change(
        vpn_agent, [vpn_service], type=ChangeType.STANDARD, template=standard_template
    )
    change = move(vpn_agent, change, S.SCHEDULED)
    assert change.state == S.SCHEDULED
    assert not change.approvals.exists()


def test_targets_need_their_fields(vpn_agent: User, vpn_service: Service) -> None:
    change = new_change(vpn_agent, [vpn_service], backout_plan="", type=ChangeType.EMERGENCY)
    with pytest.raises(ValidationFailed) as raised:
        move(vpn_agent, change, S.AUTHORISE)
    assert raised.value.field == "backout_plan"
    change = new_change(
        vpn_agent, [vpn_service], type=ChangeType.EMERGENCY, planned_start=None, planned_end=None
    )
    change = move(vpn_agent, change, S.AUTHORISE)
    with pytest.raises(ValidationFailed) as raised:
        move(vpn_agent, change, S.SCHEDULED)
    assert raised.value.field == "planned_start"
    with pytest.raises(ValidationFailed) as raised:
        move(vpn_agent, change, S.CANCELLED)
    assert raised.value.field == "notes"


def test_requesters_cannot_move_changes(
    vpn_agent: User, requester: User, vpn_service: Service
) -> None:
    change = new_change(vpn_agent, [vpn_service])
    with pytest.raises(Forbidden):
        actions.do_transition(requester, change, S.ASSESS, expected_version=change.version)


@pytest.fixture
def year_end_freeze(change_manager: User, vpn_service: Service) -> Any:
    return windows.do_create_window(
        change_manager,
        kind=WindowKind.FREEZE,
        name="Year-end freeze",
        starts_at=soon(days=5),
        ends_at=soon(days=15),
        services=[vpn_service],
    )


def test_a_conflict_blocks_scheduling_unless_a_change_manager_overrides_it(
    vpn_agent: User, change_manager: User, vpn_service: Service, year_end_freeze: Any
) -> None:
    change = new_change(vpn_agent, [vpn_service], type=ChangeType.EMERGENCY)
    change = move(vpn_agent, change, S.AUTHORISE)
    with pytest.raises(Conflict) as raised:
        move(vpn_agent, change, S.SCHEDULED)
    assert raised.value.extra["conflicts"][0]["kind"] == "freeze"
    with pytest.raises(Forbidden):
        move(vpn_agent, change, S.SCHEDULED, override_justification="Security fix.")
    change.refresh_from_db()
    assert change.state == S.AUTHORISE
    change = move(change_manager, change, S.SCHEDULED, override_justification="Security fix.")
    assert change.state == S.SCHEDULED
    assert change.conflict_override == "Security fix."
    assert change.conflict_overridden_by == change_manager


def test_entering_scheduled_is_announced_on_the_services_streams(
    vpn_agent: User, vpn_service: Service, capture_events: Any
) -> None:
    change = new_change(vpn_agent, [vpn_service], type=ChangeType.EMERGENCY)
    change = move(vpn_agent, change, S.AUTHORISE)
    with capture_events() as events:
        change = move(vpn_agent, change, S.SCHEDULED)
    ours = [e for e in events if e.type == "change" and e.op == "transition"]
    assert ours and set(ours[0].streams) == {"staff", f"service:{vpn_service.pk}"}
    assert change.announcements.exists()


def test_cancelling_a_scheduled_change_bumps_its_sequence(
    vpn_agent: User, vpn_service: Service
) -> None:
    change = new_change(vpn_agent, [vpn_service], type=ChangeType.EMERGENCY)
    for state in (S.AUTHORISE, S.SCHEDULED):
        change = move(vpn_agent, change, state)
    change = move(vpn_agent, change, S.CANCELLED, notes="Vendor withdrew the patch.")
    assert change.sequence == 1
    assert Change.objects.get(pk=change.pk).closure_notes == "Vendor withdrew the patch."
