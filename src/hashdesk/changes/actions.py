"""Every change to a change record (docs/changes.md).

Each ``do_*`` checks permission, validates, and writes inside one transaction: the record, its
affected services, an audit row and a ``change`` event; the moments people must hear about
(scheduled, moved, started, completed, failed, cancelled) are handed to
``announcements.plan`` in the same transaction. Changes to the record name the
``expected_version`` they were based on; a stale version is a Conflict and changes nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.utils import timezone

from hashdesk.accounts.models import Team, User
from hashdesk.audit import trail
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.graph import dependents_index
from hashdesk.catalog.models import ConfigurationItem, Service, ServiceDependency
from hashdesk.changes import conflicts, lifecycle, risk
from hashdesk.changes.choices import AffectedReason, ChangeState, ChangeType
from hashdesk.changes.events import ChangeEvent
from hashdesk.changes.models import TEXT_MAX, AffectedService, Change, ChangeTemplate
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.events import send_event
from hashdesk.core.redaction import redact
from hashdesk.core.validation import redacted_text, require_text
from hashdesk.core.versioning import bump
from hashdesk.core.visibility import can_manage_changes, can_view, is_staff, visible_to

SUMMARY_MAX = 200
OVERRIDE_MAX = 2_000
TEXT_FIELDS = ("description", "reason", "implementation_plan", "backout_plan", "test_plan")
PLAN_FIELDS = ("implementation_plan", "backout_plan", "test_plan")
# What do_update_change accepts.
UPDATABLE = frozenset(
    {
        "summary",
        *TEXT_FIELDS,
        "planned_start",
        "planned_end",
        "time_zone",
        "services",
        "configuration_items",
        "risk_answers",
        "owner",
        "owner_team",
    }
)
# Announcement moments per target state (announcements.plan); see do_transition.
ANNOUNCED = {
    ChangeState.SCHEDULED: "scheduled",
    ChangeState.IMPLEMENTING: "started",
    ChangeState.REVIEW: "completed",
    ChangeState.FAILED: "failed",
    ChangeState.BACKED_OUT: "failed",
}


def format_number(pk: int) -> str:
    return f"CHG-{pk:06d}"


# --- Snapshots and publishing -------------------------------------------------------------------


def change_snapshot(change: Change) -> dict[str, Any]:
    """The change as events and the audit trail show it (no approvals: those are staff's)."""

    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": change.pk,
        "number": change.number,
        "type": change.type,
        "state": change.state,
        "summary": change.summary,
        "risk": change.risk,
        "risk_score": change.risk_score,
        "planned_start": when(change.planned_start),
        "planned_end": when(change.planned_end),
        "time_zone": change.time_zone,
        "actual_start": when(change.actual_start),
        "actual_end": when(change.actual_end),
        "requester_id": change.requester_id,
        "owner_id": change.owner_id,
        "owner_team_id": change.owner_team_id,
        "template_id": change.template_id,
        "sequence": change.sequence,
        "version": change.version,
    }


def publish(change: Change, op: str) -> None:
    """Send a ``change`` event: to staff always; once the change is scheduled or later (people
    are told about it then) also to ``service:<id>`` of every affected service — unless one of
    them is confidential, when only staff may know the change exists."""
    names = {streams.STAFF}
    if change.state not in lifecycle.PLANNING_STATES | {ChangeState.AUTHORISE}:
        affected = list(
            AffectedService.objects.filter(change=change).values_list(
                "service_id", "service__visibility"
            )
        )
        if all(level != Visibility.CONFIDENTIAL for _, level in affected):
            names.update(streams.service(service_id) for service_id, _ in affected)
    send_event(ChangeEvent(op=op, change=change_snapshot(change)), streams=names)


def _announce(
    change: Change, event: str, *, moved_from: tuple[datetime, datetime] | None = None
) -> None:
    """Hand a moment to the communication (changes/announcements.py), in this transaction."""
    # Imported here: announcements reads changes' snapshots and audiences built on this module.
    from hashdesk.changes import announcements

    announcements.plan(change, event, moved_from=moved_from)


# --- Shared checks ------------------------------------------------------------------------------


def _require_staff(actor: User, what: str) -> None:
    if not is_staff(actor):
        raise Forbidden(f"Only service desk staff can {what}.")


def lock_change(change: Change, expected_version: int | None) -> Change:
    """Re-read the change under a row lock and check the version the caller based it on."""
    current = Change.objects.select_for_update(of=("self",)).get(pk=change.pk)
    if expected_version is not None and current.version != expected_version:
        raise Conflict(
            f"{current.number} was changed by someone else (version {current.version}, "
            f"you had {expected_version}). Reload and try again.",
            field="version",
            current_version=current.version,
        )
    if current.state in lifecycle.FINAL_STATES:
        raise Conflict(
            f"{current.number} is {current.get_state_display().lower()} and cannot change.",
            field="state",
        )
    return current


def _text(value: str | None, field: str) -> str:
    return redacted_text(value, field=field, max_length=TEXT_MAX)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"Unknown time zone {name!r}.", field="time_zone") from None


def _aware(value: datetime | None, zone: ZoneInfo) -> datetime | None:
    """A planned time; one without an offset is read in the change's own time zone."""
    if value is None or timezone.is_aware(value):
        return value
    return value.replace(tzinfo=zone)


def _check_plan_times(change: Change, *, now: datetime) -> None:
    start, end = change.planned_start, change.planned_end
    if start is not None and end is not None and end <= start:
        raise ValidationFailed(
            "The planned end must be after the planned start.", field="planned_end"
        )
    if start is not None and start < now:
        raise ValidationFailed("The planned start is in the past.", field="planned_start")


def _visible_services(actor: User, services: Iterable[Service]) -> list[Service]:
    wanted = list(dict.fromkeys(s.pk for s in services))
    found = visible_to(actor, Service.objects.filter(pk__in=wanted)).in_bulk()
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise NotFound(f"No such service: {missing[0]}.", field="services")
    return [found[pk] for pk in wanted]


def _visible_items(actor: User, items: Iterable[ConfigurationItem]) -> list[ConfigurationItem]:
    wanted = list(dict.fromkeys(i.pk for i in items))
    found = visible_to(actor, ConfigurationItem.objects.filter(pk__in=wanted)).in_bulk()
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise NotFound(f"No such configuration item: {missing[0]}.", field="configuration_items")
    return [found[pk] for pk in wanted]


def _check_owner(owner: User | None) -> None:
    if owner is not None and not is_staff(owner):
        raise ValidationFailed("The owner of a change must be service desk staff.", field="owner")


# --- Affected services and risk -----------------------------------------------------------------


def derive_affected(
    services: Sequence[Service], items: Sequence[ConfigurationItem]
) -> dict[int, tuple[str, int]]:
    """service id → (reason, distance): the chosen services (0); the services of chosen
    configuration items (derived, 0); and every service depending on any of those, directly
    or transitively (derived, hops from the nearest). One query for the graph."""
    affected: dict[int, tuple[str, int]] = {s.pk: (AffectedReason.CHOSEN, 0) for s in services}
    for item in items:
        affected.setdefault(item.service_id, (AffectedReason.DERIVED, 0))
    edges = list(ServiceDependency.objects.values_list("service_id", "depends_on_id"))
    dependents = dependents_index(edges)
    queue = deque((sid, 0) for sid in list(affected))
    while queue:
        node, distance = queue.popleft()
        for nxt in dependents.get(node, ()):
            if nxt not in affected:
                affected[nxt] = (AffectedReason.DERIVED, distance + 1)
                queue.append((nxt, distance + 1))
    return affected


def _write_affected(change: Change, affected: dict[int, tuple[str, int]]) -> None:
    AffectedService.objects.filter(change=change).delete()
    AffectedService.objects.bulk_create(
        AffectedService(change=change, service_id=sid, reason=reason, distance=distance)
        for sid, (reason, distance) in affected.items()
    )


def _assess(change: Change, affected: Iterable[int]) -> None:
    assessment = risk.assess(change.risk_answers, affected, change_id=change.pk)
    change.risk_score, change.risk = assessment.score, assessment.risk


# --- Create and update --------------------------------------------------------------------------


@transaction.atomic
def do_create_change(
    actor: User,
    *,
    type: str = ChangeType.NORMAL,  # the domain's word, as the model's field
    summary: str,
    description: str = "",
    reason: str = "",
    implementation_plan: str = "",
    backout_plan: str = "",
    test_plan: str = "",
    services: Sequence[Service] = (),
    configuration_items: Sequence[ConfigurationItem] = (),
    planned_start: datetime | None = None,
    planned_end: datetime | None = None,
    time_zone: str = "UTC",
    template: ChangeTemplate | None = None,
    risk_answers: dict[str, Any] | None = None,
    owner: User | None = None,
    owner_team: Team | None = None,
) -> Change:
    """Record a new change in Draft; its number is ``CHG-`` and its id."""
    _require_staff(actor, "request changes")
    if type not in ChangeType.values:
        raise ValidationFailed(f"Unknown change type {type!r}.", field="type")
    zone = _zone(time_zone)
    if type == ChangeType.STANDARD:
        if template is None or not template.is_active:
            raise ValidationFailed("A standard change needs an active template.", field="template")
    elif template is not None:
        raise ValidationFailed("Only standard changes are made from a template.", field="template")
    chosen = _visible_services(actor, services)
    items = _visible_items(actor, configuration_items)
    if template is not None and not chosen and not items:
        chosen = list(template.services.all())
    if not chosen and not items:
        raise ValidationFailed(
            "Name at least one affected service or configuration item.", field="services"
        )
    owner = owner or actor
    _check_owner(owner)
    now = timezone.now()
    change = Change(
        type=type,
        template=template,
        summary=redact(require_text(summary, field="summary", max_length=SUMMARY_MAX)).text,
        planned_start=_aware(planned_start, zone),
        planned_end=_aware(planned_end, zone),
        time_zone=time_zone,
        risk_answers=risk.check_answers(risk_answers or {}),
        requester=actor,
        owner=owner,
        owner_team=owner_team,
        created_at=now,
        updated_at=now,
    )
    given = {
        "description": description,
        "reason": reason,
        "implementation_plan": implementation_plan,
        "backout_plan": backout_plan,
        "test_plan": test_plan,
    }
    for field, value in given.items():
        if template is not None and field in PLAN_FIELDS and not (value or "").strip():
            value = getattr(template, field)  # the pre-approved plan
        setattr(change, field, _text(value, field))
    _check_plan_times(change, now=now)
    affected = derive_affected(chosen, items)
    _assess(change, affected)
    change.save()
    change.number = format_number(change.pk)
    change.save(update_fields=["number"])
    change.configuration_items.set(items)
    _write_affected(change, affected)
    trail.record(
        actor=actor,
        action="change.create",
        obj=change,
        after={
            **change_snapshot(change),
            "services": sorted(affected),
            "configuration_items": sorted(i.pk for i in items),
        },
    )
    publish(change, "create")
    return change


@transaction.atomic
def do_update_change(
    actor: User,
    change: Change,
    *,
    expected_version: int,
    override_justification: str = "",
    **fields: Any,
) -> Change:
    """Change the fields given. Services, configuration items and risk answers may change
    while the change is planned (Draft, Assess) and re-derive its affected services and risk;
    planned times until it starts. Moving a scheduled change bumps its ``sequence``, is checked
    for conflicts again (as scheduling is) and is announced ("moved")."""
    _require_staff(actor, "change changes")
    if not can_view(actor, change):
        raise NotFound("No such change.")
    unknown = sorted(set(fields) - UPDATABLE)
    if unknown:
        raise ValidationFailed(f"Unknown field {unknown[0]!r}.", field=unknown[0])
    change = lock_change(change, expected_version)
    before = change_snapshot(change)
    old_plan = (change.planned_start, change.planned_end)
    state = ChangeState(change.state)
    rework = {"services", "configuration_items", "risk_answers"} & set(fields)
    if rework and state not in lifecycle.PLANNING_STATES:
        name = sorted(rework)[0]
        raise ValidationFailed(
            f"{name.replace('_', ' ').capitalize()} can change only in Draft or Assess.",
            field=name,
        )
    times = {"planned_start", "planned_end", "time_zone"} & set(fields)
    if times and state not in lifecycle.MOVABLE_STATES:
        raise ValidationFailed(
            f"{change.number} has started; its plan cannot move.", field=sorted(times)[0]
        )
    zone = _zone(fields.get("time_zone", change.time_zone))
    changed: list[str] = []

    def put(field: str, value: Any) -> None:
        if getattr(change, field) != value:
            setattr(change, field, value)
            changed.append(field)

    for field, value in fields.items():
        if field == "summary":
            put(field, redact(require_text(value, field="summary", max_length=SUMMARY_MAX)).text)
        elif field in TEXT_FIELDS:
            put(field, _text(value, field))
        elif field in {"planned_start", "planned_end"}:
            put(field, _aware(value, zone))
        elif field == "time_zone":
            put(field, value)
        elif field == "risk_answers":
            put(field, risk.check_answers(value))
        elif field == "owner":
            _check_owner(value)
            put(field, value)
        elif field == "owner_team":
            put(field, value)
    now = timezone.now()
    if {"planned_start", "planned_end"} & set(changed):
        _check_plan_times(change, now=now)
    services_changed = False
    if "services" in fields or "configuration_items" in fields:
        chosen = (
            _visible_services(actor, fields["services"])
            if "services" in fields
            else list(
                Service.objects.filter(
                    affecting_changes__change=change,
                    affecting_changes__reason=AffectedReason.CHOSEN,
                )
            )
        )
        items = (
            _visible_items(actor, fields["configuration_items"])
            if "configuration_items" in fields
            else list(change.configuration_items.all())
        )
        if not chosen and not items:
            raise ValidationFailed(
                "Name at least one affected service or configuration item.", field="services"
            )
        affected = derive_affected(chosen, items)
        old = dict(
            AffectedService.objects.filter(change=change).values_list("service_id", "reason")
        )
        old_items = set(change.configuration_items.values_list("pk", flat=True))
        if old != {sid: r for sid, (r, _) in affected.items()} or old_items != {
            i.pk for i in items
        }:
            services_changed = True
            change.configuration_items.set(items)
            _write_affected(change, affected)
    if services_changed or "risk_answers" in changed:
        old_risk = (change.risk_score, change.risk)
        _assess(
            change,
            AffectedService.objects.filter(change=change).values_list("service_id", flat=True),
        )
        if (change.risk_score, change.risk) != old_risk:
            changed += ["risk_score", "risk"]
    if not changed and not services_changed:
        return change
    moved = state == ChangeState.SCHEDULED and bool({"planned_start", "planned_end"} & set(changed))
    if moved:
        change.sequence += 1
        changed.append("sequence")
        _check_conflicts(actor, change, override_justification, changed)
    bump(change, changed, now)
    trail.record(
        actor=actor,
        action="change.update",
        obj=change,
        before=before,
        after={**change_snapshot(change), "fields": sorted(set(changed))},
    )
    if moved:
        start, end = old_plan
        _announce(change, "moved", moved_from=(start, end) if start and end else None)
    publish(change, "update")
    return change


def _check_conflicts(actor: User, change: Change, justification: str, fields: list[str]) -> None:
    """Refuse a plan that conflicts (Conflict 409 listing them) unless a change manager
    overrides it with a justification, which is stored with who gave it."""
    found = conflicts.find_conflicts(change)
    if not found:
        return
    justification = (justification or "").strip()
    if not justification:
        raise Conflict(
            f"{change.number} conflicts with: " + "; ".join(c.detail for c in found),
            field="planned_start",
            conflicts=[c.as_dict() for c in found],
        )
    if not can_manage_changes(actor):
        raise Forbidden(
            "Only a change manager can override conflicts.",
            field="override_justification",
            conflicts=[c.as_dict() for c in found],
        )
    if len(justification) > OVERRIDE_MAX:
        raise ValidationFailed(
            f"The justification is at most {OVERRIDE_MAX} characters.",
            field="override_justification",
        )
    change.conflict_override = justification
    change.conflict_overridden_by = actor
    fields += ["conflict_override", "conflict_overridden_by"]


# --- Lifecycle ----------------------------------------------------------------------------------


@transaction.atomic
def do_transition(
    actor: User,
    change: Change,
    to_state: str,
    *,
    expected_version: int,
    notes: str = "",
    override_justification: str = "",
) -> Change:
    """Move ``change`` to ``to_state`` if the lifecycle allows it (``lifecycle.TRANSITIONS``).

    Entering Authorise asks the CAB (``approvals.open_round``); Authorise → Scheduled needs
    every group's quorum; scheduling checks conflicts; Implementing stamps ``actual_start``,
    Review / Failed / Backed out ``actual_end``; the notes of Closed, Failed, Backed out and
    Cancelled become ``closure_notes``.
    """
    from hashdesk.changes import approvals

    _require_staff(actor, "move changes through their lifecycle")
    if not can_view(actor, change):
        raise NotFound("No such change.")
    change = lock_change(change, expected_version)
    notes = _text(notes, "notes")
    target = lifecycle.check_transition(change, to_state, notes=notes)
    before = change_snapshot(change)
    from_state = ChangeState(change.state)
    now = timezone.now()
    fields = ["state"]
    if target == ChangeState.SCHEDULED:
        if from_state == ChangeState.AUTHORISE:
            missing = approvals.missing_groups(change)
            if missing:
                raise Conflict(
                    f"{change.number} still needs the approval of: {', '.join(missing)}.",
                    field="state",
                    missing_groups=missing,
                )
        if change.planned_start is not None and change.planned_start < now:
            raise ValidationFailed(
                "The planned start is in the past; move the change first.", field="planned_start"
            )
        _check_conflicts(actor, change, override_justification, fields)
    change.state = target
    if target == ChangeState.IMPLEMENTING:
        change.actual_start = now
        fields.append("actual_start")
    if target in {ChangeState.REVIEW, ChangeState.FAILED, ChangeState.BACKED_OUT}:
        change.actual_end = now
        fields.append("actual_end")
    if notes and target in lifecycle.NEEDS_NOTES | {ChangeState.REVIEW}:
        change.closure_notes = notes
        fields.append("closure_notes")
    if target == ChangeState.CANCELLED:
        # Calendar clients must follow a cancellation too (STATUS:CANCELLED, SEQUENCE+1).
        change.sequence += 1
        fields.append("sequence")
    bump(change, fields, now)
    if target == ChangeState.AUTHORISE:
        approvals.open_round(change)
    trail.record(
        actor=actor,
        action="change.transition",
        obj=change,
        before=before,
        after={**change_snapshot(change), "notes": notes},
    )
    if target in ANNOUNCED:
        _announce(change, ANNOUNCED[target])
    elif target == ChangeState.CANCELLED and from_state == ChangeState.SCHEDULED:
        # Only a change people were told about is announced as cancelled.
        _announce(change, "cancelled")
    publish(change, "transition")
    return change


# --- Templates of standard changes --------------------------------------------------------------


@transaction.atomic
def do_create_template(
    actor: User | None,
    *,
    name: str,
    implementation_plan: str,
    backout_plan: str,
    test_plan: str = "",
    description: str = "",
    services: Sequence[Service] = (),
) -> ChangeTemplate:
    """A pre-approved standard change (change managers; ``None`` for the system)."""
    if actor is not None and not can_manage_changes(actor):
        raise Forbidden("Only change managers can pre-approve standard changes.")
    label = require_text(name, field="name", max_length=200)
    if ChangeTemplate.objects.filter(name__iexact=label).exists():
        raise Conflict(f"A template named {label} already exists.", field="name")
    template = ChangeTemplate.objects.create(
        name=label,
        description=_text(description, "description"),
        implementation_plan=require_text(
            implementation_plan, field="implementation_plan", max_length=TEXT_MAX
        ),
        backout_plan=require_text(backout_plan, field="backout_plan", max_length=TEXT_MAX),
        test_plan=_text(test_plan, "test_plan"),
    )
    template.services.set(services)
    trail.record(
        actor=actor,
        action="change.template_create",
        obj=template,
        after={"name": label, "services": sorted(s.pk for s in services)},
    )
    return template


@transaction.atomic
def do_retire_template(actor: User | None, template: ChangeTemplate) -> ChangeTemplate:
    """No new standard changes from ``template``; those made from it keep it."""
    if actor is not None and not can_manage_changes(actor):
        raise Forbidden("Only change managers can retire standard change templates.")
    if template.is_active:
        template.is_active = False
        template.save(update_fields=["is_active"])
        trail.record(actor=actor, action="change.template_retire", obj=template)
    return template
