"""Every change to business calendars and SLA policies.

Administrators only (for now the catalogue permission: service levels are part of the service
catalogue's configuration). ``actor=None`` is the system (migrations, demo loader). Each action
validates, writes in one transaction with its audit row and tells staff with an event.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, time
from itertools import pairwise
from typing import Any

from django.db import transaction
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.catalog.models import Service
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, Forbidden, ValidationFailed
from hashdesk.core.events import send_event
from hashdesk.core.validation import full_clean_or_fail, require_text
from hashdesk.core.visibility import can_manage_catalog
from hashdesk.sla.choices import DEFAULT_WARNING_SHARE, Weekday
from hashdesk.sla.events import BusinessCalendarEvent, SlaPolicyEvent
from hashdesk.sla.models import (
    BusinessCalendar,
    Holiday,
    SlaPolicy,
    WorkingPeriod,
    period_minutes,
)

POLICY_FIELDS = (
    "name",
    "calendar",
    "response_minutes",
    "resolution_minutes",
    "warning_share",
    "is_active",
)


def _require_manager(actor: User | None) -> None:
    if actor is not None and not can_manage_catalog(actor):
        raise Forbidden("Only administrators can change calendars and SLA policies.")


def _period_label(start: time, end: time) -> str:
    return f"{start:%H:%M}-{'24:00' if end == time(0) else f'{end:%H:%M}'}"


def calendar_snapshot(calendar: BusinessCalendar) -> dict[str, Any]:
    return {
        "id": calendar.pk,
        "name": calendar.name,
        "time_zone": calendar.time_zone,
        "periods": [
            {"weekday": p.weekday, "hours": _period_label(p.start, p.end)}
            for p in calendar.periods.order_by("weekday", "start")
        ],
        "holidays": [{"date": h.date.isoformat(), "name": h.name} for h in calendar.holidays.all()],
    }


def policy_snapshot(policy: SlaPolicy) -> dict[str, Any]:
    return {
        "id": policy.pk,
        "name": policy.name,
        "priority": policy.priority,
        "service_id": policy.service_id,
        "calendar_id": policy.calendar_id,
        "response_minutes": policy.response_minutes,
        "resolution_minutes": policy.resolution_minutes,
        "warning_share": policy.warning_share,
        "is_active": policy.is_active,
    }


def _announce_calendar(calendar: BusinessCalendar, op: str, snapshot: dict[str, Any]) -> None:
    send_event(BusinessCalendarEvent(op=op, calendar=snapshot), streams=[streams.STAFF])


def _validated_periods(periods: Iterable[tuple[int, time, time]]) -> list[tuple[int, time, time]]:
    """Check weekdays, start < end (end 00:00 = 24:00) and no overlap within a weekday."""
    by_day: dict[int, list[tuple[int, int, time, time]]] = {}
    for weekday, start, end in periods:
        if weekday not in Weekday.values:
            raise ValidationFailed(
                f"Weekday {weekday} is not 0 (Monday) to 6 (Sunday).", field="periods"
            )
        if start.second or start.microsecond or end.second or end.microsecond:
            raise ValidationFailed("Working periods are in whole minutes.", field="periods")
        first, last = period_minutes(start, end)
        if first >= last:
            raise ValidationFailed(
                f"{Weekday(weekday).label}: a period must start before it ends "
                f"({_period_label(start, end)}).",
                field="periods",
            )
        by_day.setdefault(weekday, []).append((first, last, start, end))
    result: list[tuple[int, time, time]] = []
    for weekday, day in sorted(by_day.items()):
        day.sort()
        for (_, prev_last, prev_start, prev_end), (first, _, start, end) in pairwise(day):
            if first < prev_last:
                raise ValidationFailed(
                    f"{Weekday(weekday).label}: {_period_label(prev_start, prev_end)} overlaps "
                    f"{_period_label(start, end)}.",
                    field="periods",
                )
        result.extend((weekday, start, end) for _, _, start, end in day)
    return result


@transaction.atomic
def do_create_calendar(
    actor: User | None,
    *,
    name: str,
    time_zone: str = "Europe/London",
    description: str = "",
    periods: Iterable[tuple[int, time, time]] = (),
) -> BusinessCalendar:
    """Create a calendar, optionally with its weekly working periods (weekday, start, end)."""
    _require_manager(actor)
    label = require_text(name, field="name", max_length=100)
    if BusinessCalendar.objects.filter(name__iexact=label).exists():
        raise Conflict(f"A calendar named {label} already exists.", field="name")
    calendar = BusinessCalendar(
        name=label, time_zone=(time_zone or "").strip(), description=(description or "").strip()
    )
    full_clean_or_fail(calendar)
    rows = _validated_periods(periods)
    calendar.save()
    WorkingPeriod.objects.bulk_create(
        WorkingPeriod(calendar=calendar, weekday=w, start=s, end=e) for w, s, e in rows
    )
    snapshot = calendar_snapshot(calendar)
    trail.record(actor=actor, action="calendar.create", obj=calendar, after=snapshot)
    _announce_calendar(calendar, "create", snapshot)
    return calendar


@transaction.atomic
def do_set_working_periods(
    actor: User | None, calendar: BusinessCalendar, periods: Iterable[tuple[int, time, time]]
) -> BusinessCalendar:
    """Replace the calendar's weekly working periods. A calendar keeps at least one period,
    or no SLA on it could ever be reached."""
    _require_manager(actor)
    rows = _validated_periods(periods)
    if not rows:
        raise ValidationFailed("A calendar needs at least one working period.", field="periods")
    calendar = BusinessCalendar.objects.select_for_update().get(pk=calendar.pk)
    before = calendar_snapshot(calendar)
    calendar.periods.all().delete()
    WorkingPeriod.objects.bulk_create(
        WorkingPeriod(calendar=calendar, weekday=w, start=s, end=e) for w, s, e in rows
    )
    calendar.updated_at = timezone.now()
    calendar.save(update_fields=["updated_at"])
    after = calendar_snapshot(calendar)
    trail.record(
        actor=actor, action="calendar.set_periods", obj=calendar, before=before, after=after
    )
    _announce_calendar(calendar, "update", after)
    return calendar


@transaction.atomic
def do_add_holiday(
    actor: User | None, calendar: BusinessCalendar, *, date: date, name: str
) -> Holiday:
    _require_manager(actor)
    label = require_text(name, field="name", max_length=100)
    if Holiday.objects.filter(calendar=calendar, date=date).exists():
        raise Conflict(f"{calendar} already has a holiday on {date:%Y-%m-%d}.", field="date")
    holiday = Holiday(calendar=calendar, date=date, name=label)
    full_clean_or_fail(holiday, exclude=["calendar"])
    holiday.save()
    trail.record(
        actor=actor,
        action="calendar.add_holiday",
        obj=calendar,
        after={"date": date.isoformat(), "name": label},
    )
    _announce_calendar(calendar, "update", calendar_snapshot(calendar))
    return holiday


def _check_policy_unique(policy: SlaPolicy) -> None:
    others = SlaPolicy.objects.exclude(pk=policy.pk).filter(
        priority=policy.priority, service=policy.service_id
    )
    if others.exists():
        scope = f"service {policy.service}" if policy.service_id else "all services"
        raise Conflict(
            f"There already is a P{policy.priority} policy for {scope}.", field="priority"
        )


@transaction.atomic
def do_create_sla_policy(
    actor: User | None,
    *,
    name: str,
    priority: int,
    calendar: BusinessCalendar,
    response_minutes: int,
    resolution_minutes: int,
    service: Service | None = None,
    warning_share: float = DEFAULT_WARNING_SHARE,
    is_active: bool = True,
) -> SlaPolicy:
    """A policy for ``priority``; with ``service`` it overrides the general one there."""
    _require_manager(actor)
    policy = SlaPolicy(
        name=require_text(name, field="name", max_length=100),
        priority=priority,
        service=service,
        calendar=calendar,
        response_minutes=response_minutes,
        resolution_minutes=resolution_minutes,
        warning_share=warning_share,
        is_active=is_active,
    )
    _validate_policy(policy)
    policy.save()
    snapshot = policy_snapshot(policy)
    trail.record(actor=actor, action="sla_policy.create", obj=policy, after=snapshot)
    send_event(SlaPolicyEvent(op="create", policy=snapshot), streams=[streams.STAFF])
    return policy


def _validate_policy(policy: SlaPolicy) -> None:
    # Uniqueness first, so a duplicate reads as a Conflict rather than full_clean's message.
    _check_policy_unique(policy)
    full_clean_or_fail(policy, exclude=["service", "calendar"])
    if policy.resolution_minutes < policy.response_minutes:
        raise ValidationFailed(
            "The resolution target cannot be shorter than the response target.",
            field="resolution_minutes",
        )
    if not policy.calendar.periods.exists():
        raise ValidationFailed(
            f"The calendar {policy.calendar} has no working periods.", field="calendar"
        )


@transaction.atomic
def do_update_sla_policy(actor: User | None, policy: SlaPolicy, **changes: Any) -> SlaPolicy:
    """Change some fields of a policy. Priority and service identify it and cannot change:
    create another policy instead. Clocks already running keep their targets (the incidents
    app copies them when a clock starts)."""
    _require_manager(actor)
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        field = sorted(unknown)[0]
        raise ValidationFailed(f"Unknown or unchangeable field {field!r}.", field=field)
    policy = SlaPolicy.objects.select_for_update().get(pk=policy.pk)
    before = policy_snapshot(policy)
    for field, value in changes.items():
        setattr(policy, field, value)
    if "name" in changes:
        policy.name = require_text(policy.name, field="name", max_length=100)
    _validate_policy(policy)
    policy.updated_at = timezone.now()
    policy.save(update_fields=[*changes, "updated_at"])
    after = policy_snapshot(policy)
    trail.record(actor=actor, action="sla_policy.update", obj=policy, before=before, after=after)
    send_event(SlaPolicyEvent(op="update", policy=after), streams=[streams.STAFF])
    return policy
