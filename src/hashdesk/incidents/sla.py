"""SLA clocks of incidents: start, pause, stop and re-target them, and announce warnings and
breaches (docs/incidents.md, "SLA clocks").

The arithmetic lives in hashdesk.sla (``read_clock``); this module persists what happened to
each clock and caches its last reading. The hooks take the incident already locked by the
calling action and an explicit ``now``, and return the incident fields they changed, so the
action saves them with its own update. Warnings and breaches go to the staff stream and the
assignment group's team stream only, each once per clock (``warned_at`` / ``breached_at``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q

from hashdesk.core import streams
from hashdesk.core.events import send_event
from hashdesk.core.markup import render_markdown
from hashdesk.incidents.choices import SlaKind, SlaState, State, TimelineKind
from hashdesk.incidents.events import IncidentEvent
from hashdesk.incidents.models import Incident, IncidentSlaClock, TimelineEntry
from hashdesk.sla.business_time import CalendarSnapshot
from hashdesk.sla.clock import ClockReading, Pause, read_clock
from hashdesk.sla.models import SlaPolicy, policy_for

SUMMARY_FIELDS = ["sla_state", "sla_due_at"]
CACHED_FIELDS = [
    "policy",
    "calendar",
    "target_minutes",
    "warning_share",
    "stopped_at",
    "paused_since",
    "pauses",
    "state",
    "due_at",
    "warning_at",
    "warned_at",
    "breached_at",
]
# The incident shows the most urgent state any of its clocks is in.
URGENCY = (SlaState.BREACHED, SlaState.WARNING, SlaState.RUNNING, SlaState.PAUSED, SlaState.MET)
STOPPING_STATES = frozenset({State.RESOLVED, State.CANCELLED, State.CLOSED})
WARNING = "sla_warning"
BREACH = "sla_breach"

Calendars = dict[int, CalendarSnapshot]


def _target(policy: SlaPolicy, kind: str) -> int:
    return policy.response_minutes if kind == SlaKind.RESPONSE else policy.resolution_minutes


def _apply_policy(clock: IncidentSlaClock, policy: SlaPolicy) -> None:
    """Copy the policy's targets, so a later edit of the policy leaves this clock alone."""
    clock.policy = policy
    clock.calendar = policy.calendar
    clock.target_minutes = _target(policy, clock.kind)
    clock.warning_share = policy.warning_share


def _read(clock: IncidentSlaClock, calendars: Calendars, now: datetime) -> ClockReading:
    if clock.calendar_id not in calendars:
        calendars[clock.calendar_id] = clock.calendar.snapshot()
    pauses = [Pause(datetime.fromisoformat(a), datetime.fromisoformat(b)) for a, b in clock.pauses]
    if clock.paused_since is not None:
        pauses.append(Pause(clock.paused_since))
    return read_clock(
        calendars[clock.calendar_id],
        target_minutes=clock.target_minutes,
        warning_share=clock.warning_share,
        started_at=clock.started_at,
        now=now,
        pauses=pauses,
        stopped_at=clock.stopped_at,
    )


def _record_state(clock: IncidentSlaClock, state: str, now: datetime) -> str | None:
    """Set the clock's state; returns the op to announce, if a warning or breach is new.

    A recorded breach stands even if a longer target would now be met: it was announced. A
    breach found before its warning was sent supersedes the warning. A clock back to running
    (a longer target after a priority change) may warn again.
    """
    op = None
    if clock.breached_at is not None:
        state = SlaState.BREACHED
    elif state == SlaState.BREACHED:
        clock.breached_at = now
        op = BREACH
    elif state == SlaState.WARNING and clock.warned_at is None:
        clock.warned_at = now
        op = WARNING
    elif state == SlaState.RUNNING:
        clock.warned_at = None
    clock.state = state
    return op


def _close_pause(clock: IncidentSlaClock, now: datetime) -> None:
    if clock.paused_since is not None:
        clock.pauses = [*clock.pauses, [clock.paused_since.isoformat(), now.isoformat()]]
        clock.paused_since = None


def _summarise(incident: Incident, clocks: Iterable[IncidentSlaClock]) -> list[str]:
    """Denormalise the clocks onto the incident, for lists that must not query clocks."""
    clocks = list(clocks)
    states = {clock.state for clock in clocks}
    incident.sla_state = next((s for s in URGENCY if s in states), "")
    counting = [c.due_at for c in clocks if c.stopped_at is None and c.paused_since is None]
    incident.sla_due_at = min(counting, default=None)
    return list(SUMMARY_FIELDS)


def sla_streams(incident: Incident) -> list[str]:
    """Staff and the assignment group: never requesters, whom SLA alarms do not concern."""
    names = [streams.STAFF]
    if incident.assignment_group_id is not None:
        names.append(streams.team(incident.assignment_group_id))
    return names


def clock_snapshot(clock: IncidentSlaClock) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "kind": clock.kind,
        "state": clock.state,
        "policy_id": clock.policy_id,
        "target_minutes": clock.target_minutes,
        "started_at": iso(clock.started_at),
        "due_at": iso(clock.due_at),
        "warning_at": iso(clock.warning_at),
        "warned_at": iso(clock.warned_at),
        "breached_at": iso(clock.breached_at),
    }


def _incident_summary(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.pk,
        "number": incident.number,
        "title": incident.title,
        "priority": incident.priority,
        "state": incident.state,
        "service_id": incident.service_id,
        "assignment_group_id": incident.assignment_group_id,
        "assignee_id": incident.assignee_id,
        "sla_state": incident.sla_state,
        "sla_due_at": incident.sla_due_at.isoformat() if incident.sla_due_at else None,
    }


def _announce(incident: Incident, clock: IncidentSlaClock, op: str) -> None:
    if op == BREACH:
        body = (
            f"The {clock.get_kind_display().lower()} target of {clock.target_minutes} business "
            f"minutes was missed (due {clock.due_at:%Y-%m-%d %H:%M} UTC)."
        )
        # A work-note-like entry: SLA alarms are the desk's business, not the requester's.
        TimelineEntry.objects.create(
            incident=incident,
            kind=TimelineKind.SLA_BREACH,
            body=body,
            body_html=render_markdown(body),
            is_public=False,
            data={"clock": clock.kind, "due_at": clock.due_at.isoformat()},
        )
    send_event(
        IncidentEvent(op=op, incident=_incident_summary(incident), sla=clock_snapshot(clock)),
        streams=sla_streams(incident),
    )


def _settle(
    incident: Incident,
    clocks: list[IncidentSlaClock],
    touched: list[IncidentSlaClock],
    now: datetime,
) -> list[str]:
    """Read the touched clocks, store them, sum up the incident and announce what is new."""
    calendars: Calendars = {}
    pending: list[tuple[IncidentSlaClock, str]] = []
    for clock in touched:
        reading = _read(clock, calendars, now)
        clock.due_at, clock.warning_at = reading.due_at, reading.warning_at
        op = _record_state(clock, reading.state, now)
        if op is not None:
            pending.append((clock, op))
    if touched:
        IncidentSlaClock.objects.bulk_update(touched, CACHED_FIELDS)
    fields = _summarise(incident, clocks)
    for clock, op in pending:
        _announce(incident, clock, op)
    return fields


def _clocks(incident: Incident) -> list[IncidentSlaClock]:
    return list(incident.sla_clocks.select_related("calendar"))


# --- Hooks called by the actions, inside their transaction --------------------------------------


def _policies_for(pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], SlaPolicy]:
    """The active policy of each ``(priority, service id)`` pair, in one query.

    The rule of ``SlaPolicy.objects.policy_for``: a service's own policy for the priority wins
    over the general one (service null). Pairs without an active policy are left out.
    """
    wanted = set(pairs)
    if not wanted:
        return {}
    rows = (
        SlaPolicy.objects.filter(
            Q(service__isnull=True) | Q(service_id__in={service for _, service in wanted}),
            priority__in={priority for priority, _ in wanted},
            is_active=True,
        )
        .select_related("calendar")
        .order_by()
    )
    general: dict[int, SlaPolicy] = {}
    own: dict[tuple[int, int], SlaPolicy] = {}
    for policy in rows:
        if policy.service_id is None:
            general[policy.priority] = policy
        else:
            own[(policy.priority, policy.service_id)] = policy
    found = {}
    for pair in wanted:
        chosen = own.get(pair) or general.get(pair[0])
        if chosen is not None:
            found[pair] = chosen
    return found


def new_clocks(incidents: Sequence[Incident], now: datetime) -> list[IncidentSlaClock]:
    """Start the response and resolution clocks of incidents being recorded, at ``now``.

    ``start_clocks`` for many: one policy query for them all, one calendar snapshot per
    calendar and one reading per policy and kind (every clock starts at ``now``). Sets each
    incident's ``sla_state`` and ``sla_due_at`` and returns the clocks unsaved, for the caller
    to insert once the incidents exist. An incident without an active policy for its priority
    (and service) gets no clocks and keeps a blank ``sla_state``.

    A clock that starts now has used none of its target: it is running (paused, on hold), so
    it has no warning or breach to announce.
    """
    policies = _policies_for((incident.priority, incident.service_id) for incident in incidents)
    calendars: Calendars = {}
    readings: dict[tuple[int, str, bool], ClockReading] = {}
    started: list[IncidentSlaClock] = []
    for incident in incidents:
        policy = policies.get((incident.priority, incident.service_id))
        if policy is None:
            continue
        clocks = []
        for kind in SlaKind.values:
            clock = IncidentSlaClock(incident=incident, kind=kind, started_at=now)
            _apply_policy(clock, policy)
            if incident.state == State.ON_HOLD:
                clock.paused_since = now
            key = (policy.pk, kind, clock.paused_since is not None)
            if key not in readings:
                readings[key] = _read(clock, calendars, now)
            reading = readings[key]
            clock.due_at, clock.warning_at = reading.due_at, reading.warning_at
            _record_state(clock, reading.state, now)
            clocks.append(clock)
        _summarise(incident, clocks)
        started += clocks
    return started


def start_clocks(incident: Incident, now: datetime) -> list[str]:
    """Start the response and resolution clocks with the incident's policy, if it has one.

    Without an active policy for the priority (and service) the incident has no clocks and a
    blank ``sla_state``.
    """
    clocks = new_clocks([incident], now)
    if not clocks:
        return []
    IncidentSlaClock.objects.bulk_create(clocks)
    return list(SUMMARY_FIELDS)


def stop_response(incident: Incident, now: datetime) -> list[str]:
    """The desk responded (first staff public update, or assignment to a person)."""
    clocks = _clocks(incident)
    touched = [c for c in clocks if c.kind == SlaKind.RESPONSE and c.stopped_at is None]
    for clock in touched:
        _close_pause(clock, now)
        clock.stopped_at = now
    return _settle(incident, clocks, touched, now) if touched else []


def on_transition(incident: Incident, from_state: str, to_state: str, now: datetime) -> list[str]:
    """On hold pauses every running clock, leaving it resumes them; resolving, cancelling and
    closing stop them; reopening restarts the resolution clock where it stopped (the time
    while resolved counts as a pause)."""
    clocks = _clocks(incident)
    touched = []
    for clock in clocks:
        if clock.stopped_at is None:
            if to_state == State.ON_HOLD:
                if clock.paused_since is not None:
                    continue
                clock.paused_since = now
            else:
                if clock.paused_since is None and to_state not in STOPPING_STATES:
                    continue
                _close_pause(clock, now)
                if to_state in STOPPING_STATES:
                    clock.stopped_at = now
            touched.append(clock)
        elif (
            from_state == State.RESOLVED
            and to_state == State.IN_PROGRESS
            and clock.kind == SlaKind.RESOLUTION
        ):
            clock.pauses = [*clock.pauses, [clock.stopped_at.isoformat(), now.isoformat()]]
            clock.stopped_at = None
            touched.append(clock)
    return _settle(incident, clocks, touched, now) if touched else []


def retarget(incident: Incident, now: datetime) -> list[str]:
    """After a change of priority or service: clocks still counting keep their start and
    pauses and take the new policy's calendar and targets. Without a policy for the new
    priority the clocks stay as they are; an incident without clocks gets them now."""
    policy = policy_for(incident.priority, incident.service)
    if policy is None:
        return []
    clocks = _clocks(incident)
    if not clocks:
        return start_clocks(incident, now) if incident.state not in STOPPING_STATES else []
    touched = []
    for clock in clocks:
        if clock.stopped_at is None and (
            clock.policy_id != policy.pk
            or clock.target_minutes != _target(policy, clock.kind)
            or clock.warning_share != policy.warning_share
        ):
            _apply_policy(clock, policy)
            touched.append(clock)
    return _settle(incident, clocks, touched, now) if touched else []


# --- The minute task ----------------------------------------------------------------------------


def _due_incidents(now: datetime, limit: int) -> list[int]:
    """Incidents with a counting clock whose warning or due time has passed (two indexes)."""
    due = IncidentSlaClock.objects.filter(
        Q(state=SlaState.RUNNING, warning_at__lte=now)
        | Q(state__in=[SlaState.RUNNING, SlaState.WARNING], due_at__lt=now)
    ).order_by("due_at")
    return list(dict.fromkeys(due.values_list("incident_id", flat=True)[:limit]))


def _refresh_incident(pk: int, now: datetime) -> int:
    """Move the incident's counting clocks to warning or breached; returns announcements."""
    incident = Incident.objects.select_for_update().get(pk=pk)
    clocks = list(incident.sla_clocks.all())
    pending: list[tuple[IncidentSlaClock, str]] = []
    touched = []
    for clock in clocks:
        if clock.stopped_at is not None or clock.paused_since is not None:
            continue
        # The cached times stay right while a clock runs: only an action changes them.
        if now > clock.due_at:
            state = SlaState.BREACHED
        elif now >= clock.warning_at:
            state = SlaState.WARNING
        else:
            continue
        op = _record_state(clock, state, now)
        touched.append(clock)
        if op is not None:
            pending.append((clock, op))
    if touched:
        IncidentSlaClock.objects.bulk_update(touched, ["state", "warned_at", "breached_at"])
        # No version bump: the record did not change, and an agent's edit must not get a 409.
        incident.save(update_fields=_summarise(incident, clocks))
    for clock, op in pending:
        _announce(incident, clock, op)
    return len(pending)


def refresh_sla_clocks(now: datetime, *, batch_size: int = 500) -> int:
    """Announce every warning and breach due at ``now``; returns how many were announced.

    Each incident is handled in its own transaction under its row lock, like the actions, so a
    clock that an action just stopped or paused is not announced.
    """
    announced = 0
    seen: set[int] = set()
    while True:
        batch = [pk for pk in _due_incidents(now, batch_size) if pk not in seen]
        if not batch:
            return announced
        for pk in batch:
            seen.add(pk)
            with transaction.atomic():
                announced += _refresh_incident(pk, now)
