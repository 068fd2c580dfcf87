"""Telling people about a change, by itself (docs/changes.md, "Communication").

The change actions call :func:`plan` inside their transaction when a change is scheduled, moved,
cancelled, started, completed or fails. A notice that is due now is sent at once; the ones
before the start (``settings.CHANGE_ANNOUNCE_BEFORE``, 3 days and 1 hour by default) and at
the planned start are ``ChangeAnnouncement`` rows the worker sends when due (:func:`send_due`,
every minute). Each row is sent once: under its row lock, and only while ``sent_at`` is empty.

A notice is an official post on each affected service's wall timeline and an in-app
notification to everyone who uses or follows an affected service (changes.audience). A change
on a confidential service is announced to staff only, and on the confidential services'
timelines only: nobody else may see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hashdesk.audit import trail
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.changes.audience import is_restricted, people_concerned
from hashdesk.changes.choices import ChangeState
from hashdesk.changes.models import Change, ChangeAnnouncement
from hashdesk.notify.actions import Notice, do_send_notices
from hashdesk.notify.announcements import Announcement, announce
from hashdesk.wall.actions import publish_change_notice

# What the change actions report (the ``event`` of plan()).
SCHEDULED = "scheduled"
MOVED = "moved"
CANCELLED = "cancelled"
STARTED = "started"
COMPLETED = "completed"
FAILED = "failed"
EVENTS = (SCHEDULED, MOVED, CANCELLED, STARTED, COMPLETED, FAILED)

# Moments (ChangeAnnouncement.moment) besides "before_<n>d" / "before_<n>h" / "before_<n>m".
START = "start"
DONE = "done"
MOMENT_OF = {
    SCHEDULED: SCHEDULED,
    MOVED: MOVED,
    CANCELLED: CANCELLED,
    STARTED: START,
    COMPLETED: DONE,
    FAILED: FAILED,
}
# While a change is in one of these states its planned notices still make sense.
ANNOUNCEABLE = (ChangeState.SCHEDULED, ChangeState.IMPLEMENTING)
SEND_BATCH = 100
CHANGE_URL = "/changes/{number}/"
CHECK_HOURS = 24


def before_moment(lead: timedelta) -> str:
    """``before_3d``, ``before_1h``, ``before_90m``: the row's name for a lead time."""
    minutes = int(lead.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"before_{minutes // (24 * 60)}d"
    if minutes % 60 == 0:
        return f"before_{minutes // 60}h"
    return f"before_{minutes}m"


def _lead_text(lead: timedelta) -> str:
    minutes = int(lead.total_seconds() // 60)
    for size, unit in ((24 * 60, "day"), (60, "hour"), (1, "minute")):
        if minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{minutes} minutes"  # pragma: no cover - minutes divide by 1


# --- Planning -----------------------------------------------------------------------------------


def plan(
    change: Change,
    event: str,
    *,
    now: datetime | None = None,
    moved_from: tuple[datetime, datetime] | None = None,
) -> ChangeAnnouncement | None:
    """Plan and send what ``event`` calls for; returns the announcement sent now, if any.

    Runs inside the caller's transaction (a change action), after it saved ``change``.
    ``moved_from``: the previous (start, end) for a move, so the notice says what changed;
    without it the previous start is read from the planned start notice of the old plan.
    """
    if event not in EVENTS:
        raise ValueError(f"Unknown change event {event!r}")
    now = now or timezone.now()
    with transaction.atomic():
        pending = ChangeAnnouncement.objects.filter(change=change, sent_at__isnull=True)
        if event == MOVED and moved_from is None:
            moved_from = _previous_plan(change)
        if event in (SCHEDULED, MOVED):
            # A move makes the old plan's notices moot; the new plan gets its own.
            pending.filter(sequence__lt=change.sequence).delete()
            _plan_ahead(change, now)
        elif event == STARTED:
            # The planned start notice goes out now (unless it already did), the rest are moot.
            pending.exclude(moment=START, sequence=change.sequence).delete()
        else:
            pending.delete()
        row, created = ChangeAnnouncement.objects.get_or_create(
            change=change,
            moment=MOMENT_OF[event],
            sequence=change.sequence,
            defaults={"due_at": now},
        )
        if row.sent_at is not None:
            return None
        if not created:
            row.due_at = now
        _send(row, change, now, moved_from=moved_from)
        return row


def _plan_ahead(change: Change, now: datetime) -> None:
    """Rows for the notices before the start and at it; only those still in the future."""
    start = change.planned_start
    if start is None:
        return
    leads: Sequence[timedelta] = settings.CHANGE_ANNOUNCE_BEFORE
    wanted = [(before_moment(lead), start - lead) for lead in leads] + [(START, start)]
    ChangeAnnouncement.objects.bulk_create(
        [
            ChangeAnnouncement(
                change=change, moment=moment, sequence=change.sequence, due_at=due_at
            )
            for moment, due_at in wanted
            if due_at > now
        ],
        ignore_conflicts=True,
    )


def _previous_plan(change: Change) -> tuple[datetime, datetime] | None:
    previous = (
        ChangeAnnouncement.objects.filter(change=change, moment=START, sequence__lt=change.sequence)
        .order_by("-sequence")
        .values_list("due_at", flat=True)
        .first()
    )
    if previous is None or change.planned_start is None or change.planned_end is None:
        return None
    # Only the start is known; a move keeps its length unless told otherwise.
    return previous, previous + (change.planned_end - change.planned_start)


# --- Sending ------------------------------------------------------------------------------------


def send_due(now: datetime, *, batch: int = SEND_BATCH) -> int:
    """Send every planned notice due at ``now``; returns how many were sent. Each runs in its
    own transaction under its row lock, so two workers never send one twice."""
    sent = 0
    while True:
        due = list(
            ChangeAnnouncement.objects.filter(sent_at__isnull=True, due_at__lte=now)
            .order_by("due_at", "pk")
            .values_list("pk", flat=True)[:batch]
        )
        for pk in due:
            with transaction.atomic():
                sent += _send_due_one(pk, now)
        if len(due) < batch:
            return sent


def _send_due_one(pk: int, now: datetime) -> bool:
    row = (
        ChangeAnnouncement.objects.select_for_update(of=("self",))
        .select_related("change__owner", "change__requester")
        .filter(pk=pk, sent_at__isnull=True)
        .first()
    )
    if row is None:
        return False  # another worker sent it, or the plan changed
    change = row.change
    if (
        row.sequence != change.sequence
        or change.state not in ANNOUNCEABLE
        or (row.moment != START and change.planned_start and now >= change.planned_start)
    ):
        # A notice for an old plan, a change that no longer happens, or a "3 days before" the
        # worker only reaches after the start: telling it now would mislead.
        row.delete()
        return False
    _send(row, change, now)
    return True


def _send(
    row: ChangeAnnouncement,
    change: Change,
    now: datetime,
    *,
    moved_from: tuple[datetime, datetime] | None = None,
) -> None:
    services = list(
        Service.objects.filter(affecting_changes__change=change).order_by(
            "affecting_changes__distance", "name"
        )
    )
    title, body = notice_text(change, row.moment, services, moved_from=moved_from)
    author = change.owner or change.requester
    restricted = is_restricted(services)
    for service in services:
        if restricted and service.visibility != Visibility.CONFIDENTIAL:
            continue
        publish_change_notice(service, author, f"**{title}**\n\n{body}")
    people = list(people_concerned(services, now=now, change=change))
    url = change_url(change)
    do_send_notices(
        Notice(recipient=person, kind=f"change.{row.moment}", title=title, body=body, url=url)
        for person in people
    )
    # Status page subscribers and chat tools (notify/announcements.py): public only when every
    # affected service is.
    public = bool(services) and all(s.visibility == Visibility.PUBLIC for s in services)
    audience = Visibility.CONFIDENTIAL if restricted else Visibility.INTERNAL
    announce(
        Announcement(
            kind=f"change.{row.moment}",
            key=f"change:{row.pk}",
            service_ids=tuple(service.pk for service in services),
            title=title,
            body=body,
            url=url,
            audience=Visibility.PUBLIC if public else audience,
            thread=f"change/{change.number or change.pk}",
        )
    )
    row.sent_at = now
    row.recipients = len(people)
    row.save()
    trail.record(
        actor=None,
        action="changes.announce",
        obj=change,
        after={"moment": row.moment, "sequence": row.sequence, "recipients": len(people)},
    )


# --- Texts --------------------------------------------------------------------------------------


def change_url(change: Change) -> str:
    return CHANGE_URL.format(number=change.number or change.pk)


def _zone(change: Change) -> ZoneInfo:
    try:
        return ZoneInfo(change.time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def when_text(change: Change, start: datetime | None, end: datetime | None) -> str:
    """``Sat 28 Nov 2026 22:00 to 23:30 (Europe/Madrid, CET)`` in the change's own time zone."""
    if start is None:
        return "at a time still to be set"
    zone = _zone(change)
    local_start = start.astimezone(zone)
    text = f"{local_start:%a %d %b %Y %H:%M}"
    if end is not None:
        local_end = end.astimezone(zone)
        same_day = local_end.date() == local_start.date()
        text += f" to {local_end:%H:%M}" if same_day else f" to {local_end:%a %d %b %Y %H:%M}"
    abbreviation = f"{local_start:%Z}"
    named = zone.key if abbreviation == zone.key else f"{zone.key}, {abbreviation}"
    return f"{text} ({named})"


def notice_text(
    change: Change,
    moment: str,
    services: Sequence[Service],
    *,
    moved_from: tuple[datetime, datetime] | None = None,
) -> tuple[str, str]:
    """The title and body of a notice: what, when (local time), what is affected, and for a
    move what changed."""
    label = f"{change.number} {change.summary}" if change.number else change.summary
    when = when_text(change, change.planned_start, change.planned_end)
    affected = ", ".join(service.name for service in services) or "no service"
    titles = {
        SCHEDULED: f"Planned change: {label}",
        MOVED: f"Change moved: {label}",
        CANCELLED: f"Change cancelled: {label}",
        START: f"Change starting now: {label}",
        DONE: f"Change completed: {label}",
        FAILED: f"Change failed: {label}",
    }
    leads = {before_moment(lead): lead for lead in settings.CHANGE_ANNOUNCE_BEFORE}
    if moment in leads:
        title = f"Change in {_lead_text(leads[moment])}: {label}"
    else:
        title = titles.get(moment, f"Change: {label}")
    if moment == MOVED:
        was = when_text(change, *moved_from) if moved_from else "its earlier time"
        lines = [f"Moved from {was} to {when}."]
    elif moment == CANCELLED:
        lines = [f"It was planned for {when} and will not happen."]
    elif moment == DONE:
        lines = [
            f"It was planned for {when} and is complete.",
            f"Did it break anything for you? Tell us within {CHECK_HOURS} hours.",
        ]
    elif moment == FAILED:
        lines = [f"It was planned for {when} and did not complete; the service desk is on it."]
    else:
        lines = [f"When: {when}."]
    lines.append(f"Affects: {affected}.")
    return title, "\n".join(lines)


def announcements_for(change: Change) -> list[ChangeAnnouncement]:
    """The change's notices, sent and planned, oldest first (for its page and the API)."""
    return list(ChangeAnnouncement.objects.filter(change=change).order_by("due_at", "pk"))
