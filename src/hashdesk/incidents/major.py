"""The major-incident process (docs/incidents.md, "Major incidents"; PRODUCT.md story 3).

Staff declare a major incident with a reason and a commander, who owes an official update every
``update_cadence_minutes``. Each declaration, official update, stand-down and resolution is
announced as a ``major_incident`` event on the streams :func:`major_streams` chooses — the hooks
for the status page, the wall and chat tools — and reaches the affected people, the followers
and the subscribers of the announced services as notifications (``notices.major_audience``).
The minute task reminds commanders whose next update is due.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.graph import affected_service_ids
from hashdesk.catalog.models import Service
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, ValidationFailed
from hashdesk.core.events import send_event
from hashdesk.core.validation import require_text
from hashdesk.core.visibility import is_staff, staff_condition, visible_to
from hashdesk.incidents import sla
from hashdesk.incidents.actions import (
    _bump,
    _lock,
    _mark_first_response,
    _note,
    _publish,
    _require_staff,
    _require_view,
    audience,
    entry_snapshot,
    incident_snapshot,
    scrub,
)
from hashdesk.incidents.announcements import announce_incident, resolution_key
from hashdesk.incidents.choices import OPEN_STATES, ImpactSource, Level, TimelineKind
from hashdesk.incidents.events import MajorIncidentEvent
from hashdesk.incidents.linking import incident_url, is_confidential
from hashdesk.incidents.models import (
    DESCRIPTION_MAX,
    Incident,
    TimelineEntry,
)
from hashdesk.incidents.notices import excerpt, tell_major_audience
from hashdesk.incidents.priority import priority_for
from hashdesk.notify.actions import do_notify

# States in which a major incident is still being worked and communicated.
DEFAULT_CADENCE_MINUTES = 30
MIN_CADENCE_MINUTES = 5
MAX_CADENCE_MINUTES = 24 * 60
# Visibility levels from the most open; a service stream's listeners are a subset of the
# incident's service's when the service is at least as closed.
_OPENNESS: dict[str, int] = {
    Visibility.PUBLIC: 0,
    Visibility.INTERNAL: 1,
    Visibility.CONFIDENTIAL: 2,
}


def is_open_major(incident: Incident) -> bool:
    return incident.is_major and incident.state in OPEN_STATES


def update_overdue(incident: Incident, now: datetime | None = None) -> bool:
    due = incident.next_update_due_at
    return is_open_major(incident) and due is not None and due <= (now or timezone.now())


def staff_people() -> QuerySet[User]:
    """Everyone who may command a major incident: active service desk staff."""
    return User.objects.filter(pk__in=User.objects.filter(staff_condition()).values("pk")).order_by(
        "display_name", "id"
    )


def open_major_incidents(viewer: Any) -> QuerySet[Incident]:
    """Open major incidents ``viewer`` may see, for the banner and lists.

    ``next_update_due_at`` is set on every declared major incident and cleared only by a
    stand-down, so the condition on it changes no answer; it is there so that one partial
    index on ``(state, next_update_due_at) WHERE is_major`` serves both this query and the
    reminders' (``_due_for_reminder``), reading a handful of rows instead of every open incident.
    """
    return visible_to(
        viewer,
        Incident.objects.filter(
            is_major=True, next_update_due_at__isnull=False, state__in=OPEN_STATES
        ),
    ).order_by("major_declared_at", "id")


# --- Announcements ------------------------------------------------------------------------------


def announced_service_ids(incident: Incident) -> list[int]:
    """The incident's service, then every service depending on it whose listeners may all see
    the incident's service (no wider audience hears of it through a dependent)."""
    own = incident.service
    dependents = affected_service_ids([own.pk])
    levels = dict(Service.objects.filter(pk__in=dependents).values_list("pk", "visibility"))
    floor = _OPENNESS.get(own.visibility, 2)
    return [own.pk] + [
        pk for pk in dependents if pk in levels and _OPENNESS.get(levels[pk], 2) >= floor
    ]


def major_streams(incident: Incident, service_ids: list[int]) -> set[str]:
    """Where a major incident is announced.

    Always ``staff``. A confidential incident (or one on a confidential service) nowhere else.
    A public one also on ``members`` and the ``service:<id>`` streams of its service and the
    services depending on it. An internal one (staff made it internal again after declaring)
    only reaches the people involved, like any public change of it.
    """
    if is_confidential(incident):
        return {streams.STAFF}
    if incident.visibility != Visibility.PUBLIC:
        return set(audience(incident, public=True))
    return {
        streams.STAFF,
        streams.MEMBERS,
        streams.incident(incident.pk),
        *(streams.service(pk) for pk in service_ids),
    }


def major_summary(incident: Incident) -> dict[str, Any]:
    """The incident as a status page or a chat tool needs it; nothing staff-only."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": incident.pk,
        "number": incident.number,
        "title": incident.title,
        "state": incident.state,
        "priority": incident.priority,
        "service_id": incident.service_id,
        "is_major": incident.is_major,
        "major_declared_at": iso(incident.major_declared_at),
        "commander_id": incident.commander_id,
        "update_cadence_minutes": incident.update_cadence_minutes,
        "next_update_due_at": iso(incident.next_update_due_at),
        "url": incident_url(incident),
    }


def _announce(incident: Incident, op: str, *, entry: TimelineEntry | None = None) -> list[int]:
    """Publish the major-incident event; returns the announced services (own, then dependents)."""
    service_ids = announced_service_ids(incident)
    send_event(
        MajorIncidentEvent(
            op=op,
            incident=major_summary(incident),
            services=service_ids,
            entry=entry_snapshot(entry) if entry is not None else None,
        ),
        streams=major_streams(incident, service_ids),
    )
    return service_ids


def _check_cadence(minutes: int) -> int:
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not MIN_CADENCE_MINUTES <= minutes <= MAX_CADENCE_MINUTES
    ):
        raise ValidationFailed(
            f"The update cadence is between {MIN_CADENCE_MINUTES} and {MAX_CADENCE_MINUTES} "
            "minutes.",
            field="cadence_minutes",
        )
    return minutes


def _require_open_major(incident: Incident, what: str) -> None:
    if not is_open_major(incident):
        raise ValidationFailed(
            f"{incident.number} is not an open major incident; {what} is for those.",
            field="is_major",
        )


# --- Declare, update, stand down ----------------------------------------------------------------


@transaction.atomic
def do_declare_major(
    actor: User | None,
    incident: Incident,
    *,
    reason: str,
    commander: User,
    cadence_minutes: int = DEFAULT_CADENCE_MINUTES,
    expected_version: int | None = None,
) -> Incident:
    """Declare ``incident`` a major incident led by ``commander`` (staff).

    It becomes P1 (impact and urgency high), recorded as a priority change, and — unless it is
    confidential — public, because a major incident is announced to everyone who may see its
    service. The first official update is due ``cadence_minutes`` from now.
    """
    _require_view(actor, incident)
    _require_staff(actor, "declare a major incident")
    text = scrub(require_text(reason, field="reason", max_length=DESCRIPTION_MAX))
    if not is_staff(commander) or not commander.is_active:
        raise ValidationFailed(
            f"{commander} is not service desk staff and cannot command an incident.",
            field="commander",
        )
    cadence = _check_cadence(cadence_minutes)
    incident = _lock(incident, expected_version)
    if incident.state not in OPEN_STATES:
        raise ValidationFailed(
            f"{incident.number} is {incident.get_state_display().lower()}; only an open "
            "incident can be declared major.",
            field="state",
        )
    if incident.is_major:
        raise Conflict(f"{incident.number} is already a major incident.", field="is_major")
    before = incident_snapshot(incident)
    now = timezone.now()
    incident.is_major = True
    incident.major_declared_at = now
    incident.major_reason = text
    incident.commander = commander
    incident.update_cadence_minutes = cadence
    incident.next_update_due_at = now + timedelta(minutes=cadence)
    incident.last_reminded_at = None
    fields = [
        "is_major",
        "major_declared_at",
        "major_reason",
        "commander",
        "update_cadence_minutes",
        "next_update_due_at",
        "last_reminded_at",
    ]
    old = (incident.impact, incident.urgency, incident.priority)
    incident.impact, incident.urgency = Level.HIGH, Level.HIGH
    incident.impact_source = ImpactSource.MANUAL
    incident.priority = priority_for(incident.impact, incident.urgency)
    fields += ["impact", "urgency", "impact_source", "priority"]
    if old != (incident.impact, incident.urgency, incident.priority):
        _note(
            incident,
            actor,
            TimelineKind.PRIORITY_CHANGE,
            reason="major_incident",
            impact=[old[0], incident.impact],
            urgency=[old[1], incident.urgency],
            priority=[old[2], incident.priority],
        )
        fields += sla.retarget(incident, now)
    if incident.visibility == Visibility.INTERNAL and not is_confidential(incident):
        incident.visibility = Visibility.PUBLIC
        fields.append("visibility")
        _note(
            incident,
            actor,
            TimelineKind.FIELD_CHANGE,
            field="visibility",
            old=Visibility.INTERNAL,
            new=Visibility.PUBLIC,
        )
    entry = _note(
        incident,
        actor,
        TimelineKind.MAJOR,
        body=text,
        op="declared",
        commander=commander.pk,
        cadence_minutes=cadence,
    )
    _bump(incident, fields, now)
    trail.record(
        actor=actor,
        action="incident.major_declare",
        obj=incident,
        before=before,
        after={**incident_snapshot(incident), "commander_id": commander.pk, "cadence": cadence},
    )
    _publish(incident, "major", entry=entry)
    service_ids = _announce(incident, "declared", entry=entry)
    # Status page subscribers and chat tools (incidents/announcements.py).
    announce_incident(
        incident,
        "incident.major_declared",
        key=f"incident:{incident.pk}:major:{entry.pk}",
        body=entry.body,
        service_ids=service_ids,
    )
    from hashdesk.wall.actions import publish_official_update

    publish_official_update(incident, entry)
    # Its war room, in two lanes (docs/chat.md, "War rooms").
    from hashdesk.chat.war_rooms import open_war_room

    open_war_room(incident, actor)
    # Everyone affected and following, and the subscribers of every announced service.
    tell_major_audience(
        incident,
        actor,
        service_ids,
        kind="incident.major_declared",
        title=f"Major incident {incident.number}: {incident.title}",
        body=excerpt(text),
    )
    if actor is None or commander.pk != actor.pk:
        do_notify(
            commander,
            kind="incident.major_commander",
            title=f"You command major incident {incident.number}",
            body=f"First official update due by {incident.next_update_due_at:%H:%M} UTC.",
            url=incident_url(incident),
        )
    return incident


@transaction.atomic
def do_post_official_update(actor: User | None, incident: Incident, *, body: str) -> TimelineEntry:
    """An official update on an open major incident (the commander or any staff).

    Everyone affected and following is told; the next update falls due one cadence from now.
    """
    _require_view(actor, incident)
    _require_staff(actor, "post official updates")
    text = require_text(body, field="body", max_length=DESCRIPTION_MAX)
    incident = _lock(incident, None)
    _require_open_major(incident, "an official update")
    now = timezone.now()
    entry = _note(incident, actor, TimelineKind.OFFICIAL_UPDATE, body=text)
    incident.next_update_due_at = now + timedelta(
        minutes=incident.update_cadence_minutes or DEFAULT_CADENCE_MINUTES
    )
    # The new due time gets its own reminder.
    incident.last_reminded_at = None
    incident.updated_at = now
    fields = ["next_update_due_at", "last_reminded_at", "updated_at"]
    _mark_first_response(incident, actor, fields)
    fields += sla.stop_response(incident, now)
    # Like any update to the timeline, not a change of the record: no version bump, so an
    # agent's open edit form does not turn stale because the commander spoke.
    incident.save(update_fields=fields)
    trail.record(
        actor=actor,
        action="incident.official_update",
        obj=incident,
        after={"entry_id": entry.pk, "next_update_due_at": incident.next_update_due_at},
    )
    _publish(incident, "timeline", entry=entry)
    service_ids = _announce(incident, "update", entry=entry)
    announce_incident(
        incident,
        "incident.official_update",
        key=f"incident:{incident.pk}:major:{entry.pk}",
        body=entry.body,
        service_ids=service_ids,
    )
    # Shown on the service's wall timeline as an official post (docs/wall.md).
    from hashdesk.wall.actions import publish_official_update

    publish_official_update(incident, entry)
    from hashdesk.chat.war_rooms import mirror_official_update

    mirror_official_update(incident, entry)
    tell_major_audience(
        incident,
        actor,
        service_ids,
        kind="incident.official_update",
        title=f"Update on {incident.number}: {incident.title}",
        body=excerpt(entry.body),
    )
    return entry


@transaction.atomic
def do_stand_down(
    actor: User | None, incident: Incident, *, reason: str, expected_version: int | None = None
) -> Incident:
    """End the major-incident process without resolving the incident (staff).

    The priority stays as it is: lowering it is a separate, explicit update.
    """
    _require_view(actor, incident)
    _require_staff(actor, "stand down a major incident")
    text = scrub(require_text(reason, field="reason", max_length=DESCRIPTION_MAX))
    incident = _lock(incident, expected_version)
    _require_open_major(incident, "standing down")
    before = incident_snapshot(incident)
    commander_id = incident.commander_id
    incident.is_major = False
    incident.major_declared_at = None
    incident.major_reason = ""
    incident.commander = None
    incident.update_cadence_minutes = None
    incident.next_update_due_at = None
    incident.last_reminded_at = None
    entry = _note(incident, actor, TimelineKind.MAJOR, body=text, op="stood_down")
    _bump(
        incident,
        [
            "is_major",
            "major_declared_at",
            "major_reason",
            "commander",
            "update_cadence_minutes",
            "next_update_due_at",
            "last_reminded_at",
        ],
    )
    trail.record(
        actor=actor,
        action="incident.major_stand_down",
        obj=incident,
        before={**before, "commander_id": commander_id},
        after={**incident_snapshot(incident), "reason": text},
    )
    _publish(incident, "major", entry=entry)
    _announce(incident, "stood_down", entry=entry)
    from hashdesk.chat.war_rooms import tell_war_room

    tell_war_room(incident, f"{incident.number} was stood down: {text}")
    return incident


def announce_major_resolution(incident: Incident) -> None:
    """Called by ``do_transition`` inside its transaction when a major incident is resolved:
    everyone affected and following hears it, and so does every stream of the announcement.

    The incident stays marked major (it was one); reminders stop because it is no longer open,
    and a reopened major incident owes updates again from its old due time.
    """
    if not incident.is_major:
        return
    service_ids = _announce(incident, "resolved")
    announce_incident(
        incident,
        "incident.major_resolved",
        key=resolution_key(incident, major=True),
        body=incident.resolution_notes,
        service_ids=service_ids,
    )
    from hashdesk.chat.war_rooms import tell_war_room

    tell_war_room(incident, f"{incident.number} is resolved.")
    tell_major_audience(
        incident,
        None,
        service_ids,
        kind="incident.major_resolved",
        title=f"Resolved: {incident.number} {incident.title}",
        body=excerpt(incident.resolution_notes),
    )


# --- The minute task ----------------------------------------------------------------------------


def _due_for_reminder(now: datetime) -> QuerySet[Incident]:
    """Open major incidents whose update is due and whose commander was not yet reminded of
    this due time: a reminder is at or after the due time it was for, and an official update
    (which sets a new due time) clears it."""
    return Incident.objects.filter(
        Q(last_reminded_at__isnull=True) | Q(last_reminded_at__lt=F("next_update_due_at")),
        is_major=True,
        state__in=OPEN_STATES,
        next_update_due_at__lte=now,
    )


def _remind(pk: int, now: datetime) -> bool:
    incident = _due_for_reminder(now).select_for_update().filter(pk=pk).first()
    if incident is None or incident.commander is None:
        # An official update or another run got there first.
        return False
    incident.last_reminded_at = now
    # No version bump: a reminder changes nothing anyone edits.
    incident.save(update_fields=["last_reminded_at"])
    due = incident.next_update_due_at
    do_notify(
        incident.commander,
        kind="incident.major_update_due",
        title=f"Official update due on {incident.number}",
        body=f"The next update on “{incident.title}” was due at {due:%H:%M} UTC.",
        url=incident_url(incident),
    )
    send_event(
        MajorIncidentEvent(
            op="update_due", incident=major_summary(incident), services=[incident.service_id]
        ),
        streams=[streams.STAFF],
    )
    return True


def remind_due_updates(now: datetime) -> int:
    """Remind the commander of each major incident whose official update is due; returns how
    many were reminded. Idempotent: a second run for the same due time reminds nobody.

    Each incident is handled in its own transaction under its row lock, like the actions.
    """
    reminded = 0
    due = _due_for_reminder(now).order_by("next_update_due_at").values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            reminded += _remind(pk, now)
    return reminded
