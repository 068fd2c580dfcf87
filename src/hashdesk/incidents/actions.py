"""Every change to an incident (docs/incidents.md).

Each ``do_*`` checks permission (hashdesk.core.visibility), validates, and writes inside one
transaction: the change, a timeline entry per changed field, an audit row and an event. Changes
to the record itself name the ``expected_version`` they were based on; a stale version is a
Conflict and changes nothing. Work notes are published on the staff stream only.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from hashdesk.accounts.models import Team, User
from hashdesk.audit import trail
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import ConfigurationItem, Service
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.events import send_event
from hashdesk.core.markup import render_markdown
from hashdesk.core.redaction import redact
from hashdesk.core.validation import full_clean_or_fail, require_text
from hashdesk.core.visibility import can_view, is_signed_in, is_staff
from hashdesk.incidents import impact as impact_policy
from hashdesk.incidents import sla
from hashdesk.incidents.choices import (
    FINAL_STATES,
    Category,
    Channel,
    ImpactSource,
    ResolutionCode,
    State,
    TimelineKind,
)
from hashdesk.incidents.events import IncidentEvent
from hashdesk.incidents.lifecycle import check_transition
from hashdesk.incidents.models import (
    DESCRIPTION_MAX,
    TITLE_MAX,
    AffectedUser,
    Incident,
    IncidentFollower,
    TimelineEntry,
)
from hashdesk.incidents.priority import priority_for

# Fields staff may change with do_update_incident; requesters only REQUESTER_FIELDS.
# (Major status is declared and stood down through incidents.major, never edited directly.)
STAFF_FIELDS = (
    "title",
    "description",
    "service",
    "configuration_item",
    "category",
    "impact",
    "urgency",
    "visibility",
)
REQUESTER_FIELDS = ("title", "description")


# --- Snapshots and publishing -------------------------------------------------------------------


def incident_snapshot(incident: Incident) -> dict[str, Any]:
    """The incident as events and the audit trail show it (no work notes live on the record)."""
    return {
        "id": incident.pk,
        "number": incident.number,
        "title": incident.title,
        "service_id": incident.service_id,
        "configuration_item_id": incident.configuration_item_id,
        "category": incident.category,
        "reporter_id": incident.reporter_id,
        "impact": incident.impact,
        "impact_source": incident.impact_source,
        "urgency": incident.urgency,
        "priority": incident.priority,
        "assignment_group_id": incident.assignment_group_id,
        "assignee_id": incident.assignee_id,
        "state": incident.state,
        "hold_reason": incident.hold_reason,
        "resolution_code": incident.resolution_code,
        "source": incident.source,
        "visibility": incident.visibility,
        "is_major": incident.is_major,
        "version": incident.version,
    }


def entry_snapshot(entry: TimelineEntry) -> dict[str, Any]:
    return {
        "id": entry.pk,
        "kind": entry.kind,
        "author_id": entry.author_id,
        "body_html": entry.body_html,
        "is_public": entry.is_public,
        "data": entry.data,
        "created_at": entry.created_at.isoformat(),
    }


def audience(incident: Incident, *, public: bool) -> list[str]:
    """Streams for a change: always staff; for public changes also each involved person.

    Involved people are the reporter, the affected users and the followers, plus the incident's
    own stream, and only while the incident is not confidential (then only staff may know it).
    """
    names = {streams.STAFF}
    if public and incident.visibility != Visibility.CONFIDENTIAL:
        # The incident's own stream reaches whoever has its page open and may see it.
        names.add(streams.incident(incident.pk))
        people = {incident.reporter_id}
        people.update(
            AffectedUser.objects.filter(incident=incident).values_list("user_id", flat=True)
        )
        people.update(
            IncidentFollower.objects.filter(incident=incident).values_list("user_id", flat=True)
        )
        names.update(streams.user(pk) for pk in people)
    return sorted(names)


def new_incident_audience(incident: Incident) -> list[str]:
    """``audience(incident, public=True)`` for an incident just recorded, without its two
    queries: its reporter is then its only affected person and its only follower."""
    names = {streams.STAFF}
    if incident.visibility != Visibility.CONFIDENTIAL:
        names.update((streams.incident(incident.pk), streams.user(incident.reporter_id)))
    return sorted(names)


def _publish(
    incident: Incident,
    op: str,
    *,
    entry: TimelineEntry | None = None,
    public: bool = True,
    extra_streams: set[str] | None = None,
) -> None:
    event = IncidentEvent(
        op=op,
        incident=incident_snapshot(incident),
        entry=entry_snapshot(entry) if entry is not None else None,
    )
    send_event(event, streams=set(audience(incident, public=public)) | (extra_streams or set()))


def _note(
    incident: Incident,
    actor: User | None,
    kind: str,
    *,
    body: str = "",
    public: bool = True,
    **data: Any,
) -> TimelineEntry:
    redacted = redact(body)
    if redacted.changed:
        # What was removed (never the secret), so the page can tell the author.
        data["redactions"] = [
            {"kind": f.kind, "count": f.count, "label": f.label} for f in redacted.findings
        ]
    return TimelineEntry.objects.create(
        incident=incident,
        kind=kind,
        author=actor if is_signed_in(actor) else None,
        body=redacted.text,
        body_html=render_markdown(redacted.text),
        is_public=public,
        data=data,
    )


def scrub(text: str) -> str:
    """``text`` with secrets redacted (hashdesk.core.redaction): what incidents store."""
    return redact(text).text


# --- Shared checks ------------------------------------------------------------------------------


def _require_view(actor: User | None, incident: Incident) -> None:
    if actor is not None and not can_view(actor, incident):
        raise NotFound("No such incident.")


def _require_staff(actor: User | None, what: str) -> None:
    if actor is not None and not is_staff(actor):
        raise Forbidden(f"Only service desk staff can {what}.")


def _lock(incident: Incident, expected_version: int | None) -> Incident:
    """Re-read the incident under a row lock and check the version the caller based it on."""
    current = Incident.objects.select_for_update().get(pk=incident.pk)
    if expected_version is not None and current.version != expected_version:
        raise Conflict(
            f"{current.number} was changed by someone else (version {current.version}, "
            f"you had {expected_version}). Reload and try again.",
            field="version",
            current_version=current.version,
        )
    if current.state in FINAL_STATES:
        raise ValidationFailed(
            f"{current.number} is {current.get_state_display().lower()} and cannot change.",
            field="state",
        )
    return current


def _bump(incident: Incident, fields: list[str], now: datetime | None = None) -> None:
    incident.version += 1
    incident.updated_at = now or timezone.now()
    incident.save(update_fields=[*fields, "version", "updated_at"])


def _mark_first_response(incident: Incident, actor: User | None, fields: list[str]) -> None:
    if incident.first_response_at is None and actor is not None and is_staff(actor):
        incident.first_response_at = timezone.now()
        fields.append("first_response_at")


def _check_configuration_item(incident: Incident) -> None:
    item = incident.configuration_item
    if item is not None and item.service_id != incident.service_id:
        raise ValidationFailed(
            f"{item.name} does not belong to {incident.service.name}.",
            field="configuration_item",
        )


def _check_description(text: str) -> str:
    text = (text or "").strip()
    if len(text) > DESCRIPTION_MAX:
        raise ValidationFailed(
            f"Description is longer than {DESCRIPTION_MAX} characters.", field="description"
        )
    return scrub(text)


def raise_impact(
    incident: Incident, signals: impact_policy.Signals, fields: list[str]
) -> dict[str, Any] | None:
    """Raise impact (and so priority) on the record if ``signals`` meet the policy.

    Returns the data of the ``priority_change`` entry that records it, or None when the impact
    stays; the caller writes the entry (one at a time, or in bulk for a batch).
    """
    new_impact = impact_policy.rescored_impact(incident.impact, signals)
    if new_impact == incident.impact:
        return None
    old_impact, old_priority = incident.impact, incident.priority
    incident.impact = new_impact
    incident.impact_source = ImpactSource.POLICY
    incident.priority = priority_for(incident.impact, incident.urgency)
    fields += ["impact", "impact_source", "priority"]
    return {
        "reason": "impact_policy",
        "impact": [old_impact, new_impact],
        "priority": [old_priority, incident.priority],
    }


def _rescore(incident: Incident, actor: User | None, fields: list[str]) -> None:
    """Raise impact (and so priority) if the affected people now meet the policy."""
    change = raise_impact(incident, impact_policy.signals_for(incident.pk), fields)
    if change is not None:
        _note(incident, None, TimelineKind.PRIORITY_CHANGE, **change)


# --- Create and update --------------------------------------------------------------------------


def do_create_incident(
    actor: User | None,
    *,
    title: str,
    description: str,
    service: Service,
    configuration_item: ConfigurationItem | None = None,
    category: str = Category.OTHER,
    impact: int = 3,
    urgency: int = 3,
    source: str = Channel.WEB,
    reporter: User | None = None,
) -> Incident:
    """Record a new incident. The reporter (default: the actor) is its first affected user.

    A batch of one (incidents/intake.py records every new incident), with errors naming the
    field alone (``title``), as a form or a single API request expects.
    """
    # Imported here: intake builds on this module's snapshots, checks and impact rescoring.
    from hashdesk.incidents.intake import NewIncident, do_create_incidents

    item = NewIncident(
        title=title,
        description=description,
        service=service,
        configuration_item=configuration_item,
        category=category,
        impact=impact,
        urgency=urgency,
        source=source,
        reporter=reporter,
    )
    return do_create_incidents(actor, [item], indexed_fields=False)[0]


@transaction.atomic
def do_update_incident(
    actor: User | None, incident: Incident, *, expected_version: int, **changes: Any
) -> Incident:
    """Change fields of an incident; unknown fields and stale versions change nothing."""
    _require_view(actor, incident)
    unknown = set(changes) - set(STAFF_FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"Unknown field {name!r}.", field=name)
    if actor is not None and not is_staff(actor):
        if incident.reporter_id != actor.pk or incident.state != State.NEW:
            raise Forbidden("You can only edit your own incident while it is new.")
        if set(changes) - set(REQUESTER_FIELDS):
            name = sorted(set(changes) - set(REQUESTER_FIELDS))[0]
            raise Forbidden(f"Only service desk staff can change {name}.", field=name)
    incident = _lock(incident, expected_version)
    before = incident_snapshot(incident)
    # A change of visibility must reach the old audience too, so their pages drop what they
    # may no longer show.
    old_streams = set(audience(incident, public=True))
    changed: list[str] = []
    for field, value in changes.items():
        if field == "title":
            value = scrub(require_text(value, field="title", max_length=TITLE_MAX))
        elif field == "description":
            value = _check_description(value)
        if getattr(incident, field) != value:
            setattr(incident, field, value)
            changed.append(field)
    if not changed:
        return incident
    if "description" in changed:
        incident.description_html = render_markdown(incident.description)
        changed.append("description_html")
    if "impact" in changed:
        incident.impact_source = ImpactSource.MANUAL
        changed.append("impact_source")
    _check_configuration_item(incident)
    full_clean_or_fail(incident)
    old_priority = incident.priority
    incident.priority = priority_for(incident.impact, incident.urgency)
    for field in changed:
        if field in {"description_html", "impact_source"}:
            continue
        _note(
            incident,
            actor,
            TimelineKind.FIELD_CHANGE,
            field=field,
            old=_plain(before.get(f"{field}_id", before.get(field))),
            new=_plain(getattr(incident, f"{field}_id", getattr(incident, field))),
        )
    if incident.priority != old_priority:
        changed.append("priority")
        _note(
            incident,
            actor,
            TimelineKind.PRIORITY_CHANGE,
            priority=[old_priority, incident.priority],
        )
    now = timezone.now()
    if "priority" in changed or "service" in changed:
        changed += sla.retarget(incident, now)
    _bump(incident, changed, now)
    trail.record(
        actor=actor,
        action="incident.update",
        obj=incident,
        before=before,
        after=incident_snapshot(incident),
    )
    _publish(incident, "update", extra_streams=old_streams)
    return incident


def _plain(value: Any) -> Any:
    """A JSON-friendly timeline value (descriptions are not copied: the record has them)."""
    if isinstance(value, str) and len(value) > 200:
        return value[:200] + "…"
    return value


# --- Lifecycle and assignment -------------------------------------------------------------------


def _may_transition(actor: User | None, incident: Incident, to_state: str) -> None:
    """Staff move incidents; a reporter may cancel their new incident or reopen a resolved one."""
    if actor is None or is_staff(actor):
        return
    own = incident.reporter_id == actor.pk
    if own and incident.state == State.NEW and to_state == State.CANCELLED:
        return
    if own and incident.state == State.RESOLVED and to_state == State.IN_PROGRESS:
        return
    raise Forbidden("Only service desk staff can change the state of this incident.")


@transaction.atomic
def do_transition(
    actor: User | None,
    incident: Incident,
    to_state: str,
    *,
    expected_version: int | None,
    hold_reason: str | None = None,
    resolution_code: str | None = None,
    resolution_notes: str = "",
) -> Incident:
    """Move ``incident`` to ``to_state`` if the lifecycle allows it (``lifecycle.TRANSITIONS``).

    ``expected_version`` None is only for the system (auto-close), which re-reads under lock.
    """
    _require_view(actor, incident)
    _may_transition(actor, incident, to_state)
    if actor is not None and expected_version is None:
        raise ValidationFailed("Say which version of the incident you saw.", field="version")
    incident = _lock(incident, expected_version)
    notes = scrub((resolution_notes or "").strip())
    check_transition(
        incident,
        to_state,
        hold_reason=hold_reason,
        resolution_code=resolution_code,
        resolution_notes=notes,
    )
    if len(notes) > DESCRIPTION_MAX:
        raise ValidationFailed("Resolution notes are too long.", field="resolution_notes")
    before = incident_snapshot(incident)
    from_state = incident.state
    now = timezone.now()
    incident.state = to_state
    fields = ["state", "hold_reason"]
    incident.hold_reason = hold_reason or "" if to_state == State.ON_HOLD else ""
    if to_state in {State.RESOLVED, State.CANCELLED}:
        incident.resolution_code = (
            resolution_code or ""
            if to_state == State.RESOLVED
            else ResolutionCode.CANCELLED_BY_USER
        )
        incident.resolution_notes = notes
        incident.resolved_at = now
        fields += ["resolution_code", "resolution_notes", "resolved_at"]
    if to_state == State.CANCELLED:
        incident.closed_at = now
        fields.append("closed_at")
    if to_state == State.CLOSED:
        incident.closed_at = now
        fields.append("closed_at")
    if from_state == State.RESOLVED and to_state == State.IN_PROGRESS:
        # Reopened: the old resolution no longer holds.
        incident.resolution_code = ""
        incident.resolution_notes = ""
        incident.resolved_at = None
        fields += ["resolution_code", "resolution_notes", "resolved_at"]
    _mark_first_response(incident, actor, fields)
    fields += sla.on_transition(incident, from_state, to_state, now)
    entry = _note(
        incident,
        actor,
        TimelineKind.STATE_CHANGE,
        body=notes if to_state in {State.RESOLVED, State.CANCELLED} else "",
        old=from_state,
        new=to_state,
        hold_reason=incident.hold_reason,
    )
    _bump(incident, fields, now)
    trail.record(
        actor=actor,
        action="incident.transition",
        obj=incident,
        before=before,
        after=incident_snapshot(incident),
    )
    _publish(incident, "transition", entry=entry)
    if to_state in FINAL_STATES:
        # Its war room, if it had one, stays readable but takes no more messages.
        from hashdesk.chat.war_rooms import close_war_room

        close_war_room(incident)
    if to_state == State.RESOLVED:
        # Imported here: incidents.major and incidents.notices build on this module.
        from hashdesk.incidents.major import announce_major_resolution
        from hashdesk.incidents.notices import excerpt, tell_involved

        if incident.is_major:
            announce_major_resolution(incident)
        else:
            tell_involved(
                incident,
                actor,
                kind="incident.resolved",
                title=f"Resolved: {incident.number} {incident.title}",
                body=excerpt(incident.resolution_notes),
            )
            from hashdesk.incidents.announcements import announce_incident, resolution_key

            announce_incident(
                incident,
                "incident.resolved",
                key=resolution_key(incident),
                body=incident.resolution_notes,
            )
    return incident


@transaction.atomic
def do_assign(
    actor: User | None,
    incident: Incident,
    *,
    expected_version: int,
    group: Team | None = None,
    assignee: User | None = None,
) -> Incident:
    """Give the incident to a group and/or a person; a new incident becomes Assigned."""
    _require_view(actor, incident)
    _require_staff(actor, "assign incidents")
    if group is None and assignee is None:
        raise ValidationFailed("Assign to a group, a person or both.", field="assignee")
    if assignee is not None and not is_staff(assignee):
        raise ValidationFailed(
            f"{assignee} is not service desk staff and cannot be assigned.", field="assignee"
        )
    if (
        assignee is not None
        and group is not None
        and not group.memberships.filter(user=assignee).exists()
    ):
        raise ValidationFailed(f"{assignee} is not a member of {group}.", field="assignee")
    incident = _lock(incident, expected_version)
    before = incident_snapshot(incident)
    now = timezone.now()
    incident.assignment_group = group
    incident.assignee = assignee
    incident.assigned_at = now
    fields = ["assignment_group", "assignee", "assigned_at"]
    entry = _note(
        incident,
        actor,
        TimelineKind.FIELD_CHANGE,
        field="assignment",
        old=[before["assignment_group_id"], before["assignee_id"]],
        new=[incident.assignment_group_id, incident.assignee_id],
    )
    if incident.state == State.NEW:
        incident.state = State.ASSIGNED
        fields.append("state")
        _note(incident, actor, TimelineKind.STATE_CHANGE, old=State.NEW, new=State.ASSIGNED)
    _mark_first_response(incident, actor, fields)
    if assignee is not None:
        # Assignment to a person is a response; to a group alone is routing.
        fields += sla.stop_response(incident, now)
    _bump(incident, fields, now)
    trail.record(
        actor=actor,
        action="incident.assign",
        obj=incident,
        before=before,
        after=incident_snapshot(incident),
    )
    _publish(incident, "update", entry=entry)
    return incident


# --- People: affected users and followers -------------------------------------------------------


def _require_self_or_staff(actor: User | None, user: User, what: str) -> None:
    if actor is not None and actor.pk != user.pk and not is_staff(actor):
        raise Forbidden(f"Only service desk staff can {what} for someone else.")


@transaction.atomic
def do_add_affected_user(
    actor: User | None, incident: Incident, user: User, *, channel: str = Channel.WEB
) -> AffectedUser:
    """ "Me too": ``user`` is affected. They follow the incident, and the impact is rescored."""
    _require_view(actor, incident)
    _require_self_or_staff(actor, user, "add an affected person")
    if channel not in Channel.values:
        raise ValidationFailed(f"Unknown channel {channel!r}.", field="channel")
    incident = _lock(incident, None)
    if AffectedUser.objects.filter(incident=incident, user=user).exists():
        raise Conflict(f"{user} is already affected by {incident.number}.", field="user")
    affected = AffectedUser.objects.create(incident=incident, user=user, channel=channel)
    IncidentFollower.objects.get_or_create(incident=incident, user=user)
    entry = _note(incident, actor, TimelineKind.AFFECTED_USER, added=user.pk, channel=channel)
    fields: list[str] = []
    _rescore(incident, actor, fields)
    if fields:
        now = timezone.now()
        fields += sla.retarget(incident, now)
        _bump(incident, fields, now)
    trail.record(
        actor=actor,
        action="incident.affected_add",
        obj=incident,
        after={"user_id": user.pk, "channel": channel, "impact": incident.impact},
    )
    _publish(incident, "affected", entry=entry)
    return affected


@transaction.atomic
def do_remove_affected_user(actor: User | None, incident: Incident, user: User) -> None:
    """``user`` is no longer affected. The impact is not lowered by itself (docs/incidents.md)."""
    _require_view(actor, incident)
    _require_self_or_staff(actor, user, "remove an affected person")
    incident = _lock(incident, None)
    deleted, _ = AffectedUser.objects.filter(incident=incident, user=user).delete()
    if not deleted:
        raise NotFound(f"{user} is not affected by {incident.number}.", field="user")
    entry = _note(incident, actor, TimelineKind.AFFECTED_USER, removed=user.pk)
    trail.record(
        actor=actor, action="incident.affected_remove", obj=incident, before={"user_id": user.pk}
    )
    # Published before they stop following, so the person hears it too.
    _publish(incident, "affected", entry=entry)


@transaction.atomic
def do_follow(actor: User, incident: Incident) -> IncidentFollower:
    _require_view(actor, incident)
    follower, created = IncidentFollower.objects.get_or_create(incident=incident, user=actor)
    if not created:
        raise Conflict(f"You already follow {incident.number}.")
    trail.record(actor=actor, action="incident.follow", obj=incident)
    return follower


@transaction.atomic
def do_unfollow(actor: User, incident: Incident) -> None:
    _require_view(actor, incident)
    deleted, _ = IncidentFollower.objects.filter(incident=incident, user=actor).delete()
    if not deleted:
        raise NotFound(f"You do not follow {incident.number}.")
    trail.record(actor=actor, action="incident.unfollow", obj=incident)


# --- Timeline -----------------------------------------------------------------------------------


@transaction.atomic
def do_add_update(
    actor: User | None, incident: Incident, *, body: str, public: bool
) -> TimelineEntry:
    """A public update (seen by everyone who may see the incident) or an internal work note.

    Staff write both; ``actor`` None is the system (an integration's work note). A requester
    who may see the incident may add a public comment (their answer to "awaiting user", say)
    but never a work note.
    """
    _require_view(actor, incident)
    if not public:
        _require_staff(actor, "write work notes")
    text = require_text(body, field="body", max_length=DESCRIPTION_MAX)
    incident = _lock(incident, None)
    entry = _note(
        incident,
        actor,
        TimelineKind.PUBLIC_UPDATE if public else TimelineKind.WORK_NOTE,
        body=text,
        public=public,
    )
    fields = ["updated_at"]
    now = timezone.now()
    if public:
        _mark_first_response(incident, actor, fields)
        if is_staff(actor):
            fields += sla.stop_response(incident, now)
    incident.updated_at = now
    incident.save(update_fields=fields)
    trail.record(
        actor=actor,
        action="incident.update_add" if public else "incident.work_note_add",
        obj=incident,
        after={"entry_id": entry.pk, "public": public},
    )
    # Work notes go to the staff stream and nowhere else.
    _publish(incident, "timeline", entry=entry, public=public)
    if public and is_staff(actor):
        # The desk's public word also appears on the service's wall timeline (docs/wall.md)
        # and reaches everyone affected and following. Imported here: both build on this module.
        from hashdesk.incidents.notices import excerpt, tell_involved
        from hashdesk.wall.actions import publish_official_update

        publish_official_update(incident, entry)
        tell_involved(
            incident,
            actor,
            kind="incident.update",
            title=f"Update on {incident.number}: {incident.title}",
            body=excerpt(entry.body),  # the redacted text, never what was typed
        )
        from hashdesk.incidents.announcements import announce_incident

        announce_incident(
            incident,
            "incident.update",
            key=f"incident:{incident.pk}:update:{entry.pk}",
            body=entry.body,
        )
    return entry


# --- Scheduled ----------------------------------------------------------------------------------


def close_resolved_incidents(now: datetime | None = None) -> int:
    """Close incidents resolved more than ``INCIDENT_AUTO_CLOSE_DAYS`` ago; returns how many.

    Each incident closes in its own transaction, so one failure does not hold back the rest.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.INCIDENT_AUTO_CLOSE_DAYS)
    due = Incident.objects.filter(state=State.RESOLVED, resolved_at__lte=cutoff).values_list(
        "pk", flat=True
    )
    closed = 0
    for pk in list(due):
        incident = Incident.objects.get(pk=pk)
        do_transition(None, incident, State.CLOSED, expected_version=None)
        closed += 1
    return closed
