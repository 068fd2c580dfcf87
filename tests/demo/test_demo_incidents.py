"""The demo's year of incidents: planned from the seed, written in bulk, consistent with what the
actions would have left, silent (no events, no audit rows) and loaded only once.

One small history (300 incidents) is loaded for the module inside a transaction that is rolled
back at the end; the plan itself is checked without a database.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.choices import Visibility
from hashdesk.cli import build_parser, main
from hashdesk.core.models import Event
from hashdesk.demo.incident_loader import load_incident_history
from hashdesk.demo.incidents import LOCAL_ZONE, plan_history
from hashdesk.demo.loader import DemoSummary, load_demo
from hashdesk.incidents.actions import close_resolved_incidents
from hashdesk.incidents.choices import (
    FINAL_STATES,
    LinkKind,
    ResolutionCode,
    SlaState,
    State,
    TimelineKind,
)
from hashdesk.incidents.models import (
    AffectedUser,
    Incident,
    IncidentFollower,
    IncidentLink,
    IncidentSlaClock,
    TimelineEntry,
    format_number,
)
from hashdesk.incidents.priority import priority_for
from hashdesk.incidents.sla import URGENCY, refresh_sla_clocks

SIZE = 300
SEED = 2024
NOW = datetime(2025, 3, 12, 15, 40, tzinfo=UTC)
OPEN_STATES = {State.NEW, State.ASSIGNED, State.IN_PROGRESS, State.ON_HOLD}


@dataclass
class Loaded:
    summary: DemoSummary
    # Events and audit rows before and after the history was added.
    events: tuple[int, int]
    audit: tuple[int, int]
    seconds: float


@pytest.fixture(scope="module")
def history(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Loaded]:
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo(incidents=0)
        events, audit = Event.objects.count(), AuditEntry.objects.count()
        summary = load_demo(incidents=SIZE)
        yield Loaded(
            summary,
            (events, Event.objects.count()),
            (audit, AuditEntry.objects.count()),
            summary.seconds,
        )
        transaction.set_rollback(True)


# --- What was written ---------------------------------------------------------------------------


def test_the_history_has_the_incidents_and_everything_that_belongs_to_them(
    history: Loaded, db: Any
) -> None:
    created = history.summary.created
    assert Incident.objects.count() == created["incidents"] == SIZE
    assert IncidentSlaClock.objects.count() == created["SLA clocks"] == 2 * SIZE
    assert TimelineEntry.objects.count() == created["timeline entries"] > 4 * SIZE
    assert AffectedUser.objects.count() == created["affected users"] >= SIZE
    assert IncidentFollower.objects.count() == created["followers"]
    assert history.summary.describe().startswith("Demo organisation loaded")
    # Every incident has both clocks; every incident not merged away has its reporter among
    # its affected people and followers (merged duplicates moved theirs to the survivor).
    assert not Incident.objects.annotate(n=Count("sla_clocks")).exclude(n=2).exists()
    for incident in Incident.objects.filter(merged_into=None):
        assert incident.affected.filter(user_id=incident.reporter_id).exists(), incident.number
        assert incident.followers.filter(user_id=incident.reporter_id).exists(), incident.number


def test_numbers_follow_the_primary_keys_in_creation_order(history: Loaded, db: Any) -> None:
    rows = list(Incident.objects.order_by("id").values_list("id", "number", "created_at"))
    ids = [pk for pk, _number, _created in rows]
    assert ids == list(range(ids[0], ids[0] + SIZE))
    assert all(number == format_number(pk) for pk, number, _created in rows)
    created = [moment for _pk, _number, moment in rows]
    assert created == sorted(created)


def test_the_year_looks_like_an_office(history: Loaded, db: Any) -> None:
    now = timezone.now()
    created = list(Incident.objects.exclude(source="alert").values_list("created_at", flat=True))
    assert min(created) >= now - timedelta(days=366)
    local = [moment.astimezone(LOCAL_ZONE) for moment in created]
    office = [t for t in local if t.weekday() < 5 and 7 <= t.hour < 19]
    assert len(office) > 0.75 * len(local)
    # Many services, many people, every channel.
    assert Incident.objects.values("service").distinct().count() >= 20
    assert Incident.objects.values("reporter").distinct().count() >= 100
    assert set(Incident.objects.values_list("source", flat=True)) >= {
        "web", "email", "wall", "chat", "alert",
    }  # fmt: skip
    titles = Counter(Incident.objects.values_list("title", flat=True))
    assert len(titles) >= 60


def test_priorities_follow_the_matrix_and_impact_policy(history: Loaded, db: Any) -> None:
    for impact, urgency, priority in Incident.objects.values_list("impact", "urgency", "priority"):
        assert priority == priority_for(impact, urgency)
    raised = TimelineEntry.objects.filter(
        kind=TimelineKind.PRIORITY_CHANGE, data__reason="impact_policy"
    )
    assert raised.exists()
    assert Counter(Incident.objects.values_list("priority", flat=True)).keys() >= {2, 3, 4, 5}


def test_the_lifecycle_is_consistent(history: Loaded, db: Any) -> None:
    states = Counter(Incident.objects.values_list("state", flat=True))
    # Most of a year is behind us; what is still being worked on is recent (or waits on a
    # supplier).
    assert states[State.CLOSED] > 0.8 * SIZE
    quarter_ago = timezone.now() - timedelta(days=90)
    stale = Incident.objects.filter(state__in=OPEN_STATES, created_at__lt=quarter_ago)
    assert not stale.exclude(state=State.ON_HOLD).exists()
    assert not Incident.objects.filter(closed_at__lt=F("resolved_at")).exists()
    assert not Incident.objects.filter(resolved_at__lt=F("created_at")).exists()
    for state in (State.RESOLVED, State.CLOSED, State.CANCELLED):
        assert not Incident.objects.filter(state=state, resolved_at=None).exists()
    for state in (State.CLOSED, State.CANCELLED):
        assert not Incident.objects.filter(state=state, closed_at=None).exists()
    assert not Incident.objects.filter(state__in=OPEN_STATES).exclude(resolved_at=None).exists()
    assert not Incident.objects.filter(state=State.ON_HOLD, hold_reason="").exists()
    assigned = Incident.objects.exclude(state__in=[State.NEW, State.CANCELLED]).exclude(
        merged_into__isnull=False
    )
    for incident in assigned.select_related("assignment_group", "service"):
        assert incident.assignment_group_id == incident.service.owner_team_id, incident.number
        assert incident.assignment_group.memberships.filter(user=incident.assignee_id).exists()
        assert incident.first_response_at is not None
    # Entries are in time order and say what the record says.
    incident = Incident.objects.filter(state=State.CLOSED, merged_into=None).first()
    assert incident is not None
    changes = list(
        incident.timeline.filter(kind=TimelineKind.STATE_CHANGE).values_list("data", flat=True)
    )
    assert changes[-1]["new"] == State.CLOSED
    assert [c["new"] for c in changes][:2] == [State.ASSIGNED, State.IN_PROGRESS]


def test_clocks_and_their_summary_agree(history: Loaded, db: Any) -> None:
    now = timezone.now()
    clocks_of: dict[int, list[IncidentSlaClock]] = {}
    for clock in IncidentSlaClock.objects.all():
        clocks_of.setdefault(clock.incident_id, []).append(clock)
    for incident in Incident.objects.all():
        clocks = clocks_of[incident.pk]
        states = {c.state for c in clocks}
        assert incident.sla_state == next(s for s in URGENCY if s in states), incident.number
        counting = [c.due_at for c in clocks if c.stopped_at is None and c.paused_since is None]
        assert incident.sla_due_at == min(counting, default=None)
        if incident.state in FINAL_STATES or incident.state == State.RESOLVED:
            assert all(c.stopped_at is not None for c in clocks), incident.number
    clocks = IncidentSlaClock.objects.all()
    # Some incidents missed their targets, most did not; each breach has its internal entry.
    breached = clocks.filter(state=SlaState.BREACHED)
    assert 0 < breached.count() < 0.3 * clocks.count()
    assert not breached.filter(breached_at=None).exists()
    assert (
        TimelineEntry.objects.filter(kind=TimelineKind.SLA_BREACH, is_public=False).count()
        == breached.count()
    )
    # Nothing is left for the minute task to announce about the past.
    assert not clocks.filter(state=SlaState.RUNNING, warning_at__lte=now).exists()
    assert not clocks.filter(state=SlaState.WARNING, warned_at=None).exists()


def test_past_major_incidents_and_merged_duplicates(history: Loaded, db: Any) -> None:
    major = Incident.objects.filter(is_major=True)
    assert major.exists()
    # (One declared in the last day might still be running; the year's others are over.)
    for incident in major.filter(created_at__lt=timezone.now() - timedelta(days=1)):
        assert incident.priority == 1
        assert incident.commander_id is not None and incident.major_reason
        assert incident.state in {State.RESOLVED, State.CLOSED}
        assert incident.next_update_due_at is None
        updates = incident.timeline.filter(kind=TimelineKind.OFFICIAL_UPDATE, is_public=True)
        assert updates.count() >= 2
        assert incident.affected.count() >= 5
        assert incident.timeline.filter(kind=TimelineKind.MAJOR).exists()
    merged = Incident.objects.exclude(merged_into=None)
    assert merged.exists()
    for duplicate in merged.select_related("merged_into"):
        assert duplicate.state == State.CLOSED
        assert duplicate.resolution_code == ResolutionCode.DUPLICATE
        assert duplicate.merged_into is not None
        assert duplicate.merged_into.number in duplicate.resolution_notes
        assert IncidentLink.objects.filter(
            from_incident=duplicate, to_incident=duplicate.merged_into, kind=LinkKind.MERGED_INTO
        ).exists()
        assert duplicate.merged_into.affected.filter(user_id=duplicate.reporter_id).exists()
        assert duplicate.merged_into.timeline.filter(
            kind=TimelineKind.MERGE, data__duplicate=duplicate.number
        ).exists()


def test_visibility_follows_the_service(history: Loaded, db: Any) -> None:
    confidential = Incident.objects.filter(service__visibility=Visibility.CONFIDENTIAL)
    assert not confidential.exclude(visibility=Visibility.CONFIDENTIAL).exists()
    assert not Incident.objects.filter(
        visibility=Visibility.PUBLIC, service__visibility=Visibility.CONFIDENTIAL
    ).exists()


# --- Silent, and once ---------------------------------------------------------------------------


def test_history_writes_no_events_and_no_audit_rows(history: Loaded, db: Any) -> None:
    assert history.events[0] == history.events[1]
    assert history.audit[0] == history.audit[1]


def test_the_periodic_tasks_find_nothing_to_replay(history: Loaded, db: Any) -> None:
    events = Event.objects.count()
    now = timezone.now()
    assert refresh_sla_clocks(now) == 0
    assert close_resolved_incidents(now) == 0
    assert Event.objects.count() == events


def test_loading_again_adds_nothing(history: Loaded, db: Any) -> None:
    before = Incident.objects.count(), TimelineEntry.objects.count()
    again = load_demo(incidents=SIZE)
    assert not again.changed
    assert load_incident_history(seed=SEED, count=SIZE) == {}
    assert (Incident.objects.count(), TimelineEntry.objects.count()) == before


def test_hashdesk_demo_twice_is_a_no_op(
    history: Loaded, db: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    before = Incident.objects.count(), Event.objects.count(), AuditEntry.objects.count()
    assert main(["demo", "--incidents", "50"]) == 0
    assert "already complete; nothing changed" in capsys.readouterr().out
    assert (Incident.objects.count(), Event.objects.count(), AuditEntry.objects.count()) == before


def test_the_incidents_option_takes_a_count() -> None:
    parser = build_parser()
    assert parser.parse_args(["demo", "--incidents", "1200"]).incidents == 1200
    assert parser.parse_args(["demo"]).incidents is None
    for bad in ("-1", "many"):
        with pytest.raises(SystemExit):
            parser.parse_args(["demo", "--incidents", bad])


def test_writing_costs_a_few_statements_per_batch_not_per_incident(
    history: Loaded, db: Any, query_count: Any
) -> None:
    """The bulk path: the number of queries does not grow with the number of incidents."""
    from hashdesk.demo.incident_loader import _Writer

    sizes = []
    for size in (60, 240):
        plan = plan_history(SEED, size, now=timezone.now())
        with query_count() as ctx:
            _Writer(plan, timezone.now()).write(lambda _line: None)
        sizes.append(len(ctx))
    assert sizes[0] == sizes[1]


# --- The plan: pure and reproducible ------------------------------------------------------------


def test_the_same_seed_gives_the_same_history() -> None:
    first = plan_history(SEED, SIZE, now=NOW)
    again = plan_history(SEED, SIZE, now=NOW)
    assert [(i.key, i.title, i.created_at, i.state) for i in first] == [
        (i.key, i.title, i.created_at, i.state) for i in again
    ]
    assert [i.key for i in first] == list(range(SIZE))
    # What is reported does not depend on the day the plan is made; another seed differs.
    later = plan_history(SEED, SIZE, now=NOW + timedelta(days=40))
    assert Counter(i.title for i in later) == Counter(i.title for i in first)
    other = plan_history(SEED + 1, SIZE, now=NOW)
    assert Counter(i.title for i in other) != Counter(i.title for i in first)


def test_the_plan_keeps_people_unique_and_times_in_order() -> None:
    for incident in plan_history(SEED, SIZE, now=NOW):
        emails = [a.email for a in incident.affected]
        assert len(emails) == len(set(emails)), incident.key
        followers = [f.email for f in incident.followers]
        assert len(followers) == len(set(followers)), incident.key
        times = [entry.at for entry in incident.timeline]
        assert times == sorted(times)
        assert all(incident.created_at <= t <= NOW for t in times)
        if incident.resolved_at and incident.closed_at:
            assert incident.resolved_at <= incident.closed_at


def test_counts_are_exact_at_any_size() -> None:
    for size in (0, 1, 39, 41, 777):
        assert len(plan_history(SEED, size, now=NOW)) == size
