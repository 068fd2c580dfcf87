"""The demo's changes: a year of them with the CAB, freezes, what is coming and the incidents
the failed ones may have caused, scored by changes.correlation; silent and loaded only once.

One small demo (400 incidents, 120 changes) is loaded for the module inside a transaction that
is rolled back at the end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from hashdesk.audit.models import AuditEntry
from hashdesk.changes.choices import ApprovalDecision, ChangeState, ChangeType, WindowKind
from hashdesk.changes.correlation import score_incidents
from hashdesk.changes.models import AffectedService, Approval, Change, ChangeIncident, ChangeWindow
from hashdesk.cli import build_parser
from hashdesk.core.models import Event
from hashdesk.demo.changes import VPN_FIRMWARE, changes_for
from hashdesk.demo.incidents import LOCAL_ZONE
from hashdesk.demo.loader import DemoSummary, load_demo
from hashdesk.notify.models import Notification

INCIDENTS = 400
CHANGES = 120


@dataclass
class Loaded:
    summary: DemoSummary
    before: tuple[int, int, int]
    after: tuple[int, int, int]
    again: DemoSummary


def _silent_rows() -> tuple[int, int, int]:
    return Event.objects.count(), AuditEntry.objects.count(), Notification.objects.count()


@pytest.fixture(scope="module")
def demo(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Loaded]:
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo(incidents=INCIDENTS, posts=0, chat_messages=0, changes=0)
        before = _silent_rows()
        summary = load_demo(incidents=INCIDENTS, posts=0, chat_messages=0, changes=CHANGES)
        after = _silent_rows()
        again = load_demo(incidents=INCIDENTS, posts=0, chat_messages=0, changes=CHANGES)
        yield Loaded(summary, before, after, again)
        transaction.set_rollback(True)


def test_a_year_of_changes_with_some_failures(demo: Loaded, db: Any) -> None:
    assert demo.summary.created["changes"] == Change.objects.count() == CHANGES
    assert not Change.objects.filter(number__isnull=True).exists()
    states = Counter(Change.objects.values_list("state", flat=True))
    past = sum(
        n for state, n in states.items() if state not in ("scheduled", "authorise", "assess")
    )
    failed = states[ChangeState.FAILED] + states[ChangeState.BACKED_OUT]
    assert 0.03 <= failed / past <= 0.15
    oldest = Change.objects.order_by("planned_start").first()
    assert oldest is not None and oldest.planned_start is not None
    assert oldest.planned_start > timezone.now() - timedelta(days=366)
    # Every change names its service and carries the services depending on it.
    assert AffectedService.objects.filter(reason="chosen").count() == CHANGES
    assert AffectedService.objects.filter(reason="derived").exists()


def test_the_vpn_firmware_upgrade_is_next_week_on_saturday_night(demo: Loaded, db: Any) -> None:
    change = Change.objects.get(summary=VPN_FIRMWARE)
    assert change.state == ChangeState.SCHEDULED and change.planned_start is not None
    local = change.planned_start.astimezone(LOCAL_ZONE)
    assert (local.weekday(), local.hour) == (5, 22)
    assert timedelta(days=6) < change.planned_start - timezone.now() < timedelta(days=14)
    assert change.affected.filter(service__hashtag="vpn", reason="chosen").exists()
    assert Change.objects.filter(state=ChangeState.SCHEDULED).count() > 1


def test_normal_changes_carry_the_cab_approval(demo: Loaded, db: Any) -> None:
    decided = Change.objects.filter(type=ChangeType.NORMAL).exclude(
        state__in=[ChangeState.ASSESS, ChangeState.AUTHORISE]
    )
    assert decided.exists()
    approved = Approval.objects.filter(decision=ApprovalDecision.APPROVED)
    assert set(approved.values_list("change_id", flat=True)) >= set(
        decided.values_list("pk", flat=True)
    )
    assert not Approval.objects.filter(change__type=ChangeType.STANDARD).exists()


def test_freezes_include_year_end_and_only_emergencies_break_them(demo: Loaded, db: Any) -> None:
    freezes = list(ChangeWindow.objects.filter(kind=WindowKind.FREEZE))
    assert any("Year-end" in window.name for window in freezes)
    for window in freezes:
        inside = Change.objects.filter(
            planned_start__lt=window.ends_at, planned_end__gt=window.starts_at
        ).exclude(type=ChangeType.EMERGENCY)
        if window.services.exists():
            inside = inside.filter(
                affected__service__in=window.services.all(), affected__reason="chosen"
            )
        assert not inside.exists(), window.name


def test_failed_changes_have_incidents_scored_by_the_correlation(demo: Loaded, db: Any) -> None:
    failed = Change.objects.filter(state__in=[ChangeState.FAILED, ChangeState.BACKED_OUT])
    linked = ChangeIncident.objects.filter(change__in=failed)
    assert linked.exists()
    assert linked.filter(evidence__graph_distance=0).exists()
    assert demo.summary.created["change-incident links"] == ChangeIncident.objects.count()
    # The stored scores are the scorer's: rescoring changes nothing.
    change = linked.order_by("pk").first()
    assert change is not None
    stored = dict(
        ChangeIncident.objects.filter(change=change.change).values_list("incident_id", "score")
    )
    rescored = {link.incident_id: link.score for link in score_incidents(change.change)}
    assert rescored == stored


def test_seed_data_is_silent_and_loaded_once(demo: Loaded, db: Any) -> None:
    assert demo.after == demo.before
    assert "changes" not in demo.again.created
    assert changes_for(0) == 0 and changes_for(30_000) == 300
    args = build_parser().parse_args(["demo", "--changes", "5"])
    assert args.changes == 5
