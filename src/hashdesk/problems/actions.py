"""Every change to a problem record (docs/problems.md).

Each ``do_*`` checks permission, validates, and writes inside one transaction: the record, its
links, an audit row and a ``problem`` event to staff. Changes to the record name the
``expected_version`` they were based on; a stale version is a Conflict and changes nothing.
Publishing the known error lives in ``known_errors``; recurrence in ``recurrence``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from hashdesk.accounts.models import Team, User
from hashdesk.audit import trail
from hashdesk.catalog.models import ConfigurationItem, Service
from hashdesk.changes.models import Change
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.events import send_event
from hashdesk.core.redaction import redact
from hashdesk.core.validation import redacted_text, require_text
from hashdesk.core.versioning import bump
from hashdesk.core.visibility import can_manage_problems, can_view, is_staff, visible_to
from hashdesk.incidents.models import Incident
from hashdesk.problems import lifecycle
from hashdesk.problems.choices import ProblemState
from hashdesk.problems.events import ProblemEvent
from hashdesk.problems.models import TEXT_MAX, TITLE_MAX, Problem, ProblemIncident

TEXT_FIELDS = ("description", "root_cause", "workaround", "resolution")
UPDATABLE = frozenset(
    {
        "title",
        *TEXT_FIELDS,
        "services",
        "configuration_items",
        "owner",
        "owner_team",
        "fix_change",
    }
)
RELATED = frozenset({"owner", "owner_team", "fix_change"})
MAX_LINKS = 500


def format_number(pk: int) -> str:
    return f"PRB-{pk:06d}"


# --- Snapshots and publishing -------------------------------------------------------------------


def problem_snapshot(problem: Problem) -> dict[str, Any]:
    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": problem.pk,
        "number": problem.number,
        "title": problem.title,
        "state": problem.state,
        "owner_id": problem.owner_id,
        "owner_team_id": problem.owner_team_id,
        "fix_change_id": problem.fix_change_id,
        "known_error_article_id": problem.known_error_article_id,
        "known_error_published_at": when(problem.known_error_published_at),
        "resolved_at": when(problem.resolved_at),
        "closed_at": when(problem.closed_at),
        "watch_until": when(problem.watch_until),
        "recurrence_flagged_at": when(problem.recurrence_flagged_at),
        "version": problem.version,
    }


def publish(problem: Problem, op: str) -> None:
    """Send a ``problem`` event to staff (problems are staff's records)."""
    send_event(ProblemEvent(op=op, problem=problem_snapshot(problem)), streams=[streams.STAFF])


# --- Shared checks ------------------------------------------------------------------------------


def require_manager(actor: User | None, what: str) -> User:
    if actor is None or not can_manage_problems(actor):
        raise Forbidden(f"Only problem managers and agents can {what}.")
    return actor


def lock_problem(problem: Problem, expected_version: int | None) -> Problem:
    """Re-read the problem under a row lock and check the version the caller based it on."""
    current = Problem.objects.select_for_update(of=("self",)).get(pk=problem.pk)
    if expected_version is not None and current.version != expected_version:
        raise Conflict(
            f"{current.number} was changed by someone else (version {current.version}, "
            f"you had {expected_version}). Reload and try again.",
            field="version",
            current_version=current.version,
        )
    if current.state in lifecycle.FINAL_STATES:
        raise Conflict(f"{current.number} is closed and cannot change.", field="state")
    return current


def _text(value: str | None, field: str) -> str:
    return redacted_text(value, field=field, max_length=TEXT_MAX)


def _ids(values: Sequence[Any]) -> list[int]:
    return list(dict.fromkeys(int(getattr(v, "pk", v)) for v in values))


def _visible_services(actor: User, ids: Sequence[Any]) -> list[Service]:
    wanted = _ids(ids)
    found = visible_to(actor, Service.objects.filter(pk__in=wanted)).in_bulk()
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise NotFound(f"No such service: {missing[0]}.", field="service_ids")
    return [found[pk] for pk in wanted]


def _visible_items(actor: User, ids: Sequence[Any]) -> list[ConfigurationItem]:
    wanted = _ids(ids)
    found = visible_to(actor, ConfigurationItem.objects.filter(pk__in=wanted)).in_bulk()
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise NotFound(f"No such configuration item: {missing[0]}.", field="configuration_item_ids")
    return [found[pk] for pk in wanted]


def _visible_incidents(actor: User, ids: Sequence[Any]) -> list[Incident]:
    wanted = _ids(ids)
    if len(wanted) > MAX_LINKS:
        raise ValidationFailed(f"Link at most {MAX_LINKS} incidents at once.", field="incident_ids")
    found = visible_to(actor, Incident.objects.filter(pk__in=wanted)).in_bulk()
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise NotFound(f"No such incident: {missing[0]}.", field="incident_ids")
    return [found[pk] for pk in wanted]


def _check_owner(owner: User | None) -> None:
    if owner is not None and not is_staff(owner):
        raise ValidationFailed("The owner of a problem must be service desk staff.", field="owner")


# --- Create and update --------------------------------------------------------------------------


@transaction.atomic
def do_create_problem(
    actor: User,
    *,
    title: str,
    description: str = "",
    service_ids: Sequence[int] = (),
    incident_ids: Sequence[int] = (),
    configuration_item_ids: Sequence[int] = (),
    owner: User | None = None,
    owner_team: Team | None = None,
) -> Problem:
    """Record a new problem (New); its number is ``PRB-`` and its id. The services of the
    linked incidents are added to the services named."""
    require_manager(actor, "open problems")
    services = _visible_services(actor, service_ids)
    items = _visible_items(actor, configuration_item_ids)
    incidents = _visible_incidents(actor, incident_ids)
    owner = owner or actor
    _check_owner(owner)
    now = timezone.now()
    problem = Problem(
        title=redact(require_text(title, field="title", max_length=TITLE_MAX)).text,
        description=_text(description, "description"),
        owner=owner,
        owner_team=owner_team,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    problem.save()
    problem.number = format_number(problem.pk)
    problem.save(update_fields=["number"])
    service_pks = list(dict.fromkeys([s.pk for s in services] + [i.service_id for i in incidents]))
    problem.services.set(service_pks)
    problem.configuration_items.set(items)
    ProblemIncident.objects.bulk_create(
        ProblemIncident(problem=problem, incident=incident, linked_by=actor, linked_at=now)
        for incident in incidents
    )
    trail.record(
        actor=actor,
        action="problem.create",
        obj=problem,
        after={
            **problem_snapshot(problem),
            "services": sorted(service_pks),
            "configuration_items": sorted(i.pk for i in items),
            "incidents": sorted(i.pk for i in incidents),
        },
    )
    publish(problem, "create")
    return problem


@transaction.atomic
def do_update_problem(
    actor: User, problem: Problem, *, expected_version: int, **fields: Any
) -> Problem:
    """Change the fields given (title, texts, services, configuration items, owner, team, fix
    change). ``services``/``configuration_items`` are ids or objects."""
    require_manager(actor, "change problems")
    if not can_view(actor, problem):
        raise NotFound("No such problem.")
    unknown = sorted(set(fields) - UPDATABLE)
    if unknown:
        raise ValidationFailed(f"Unknown field {unknown[0]!r}.", field=unknown[0])
    problem = lock_problem(problem, expected_version)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}

    def audit_value(field: str) -> Any:
        value = getattr(problem, f"{field}_id" if field in RELATED else field)
        return value

    def put(field: str, value: Any) -> None:
        old = audit_value(field)
        setattr(problem, field, value)
        new = audit_value(field)
        if old != new:
            before[field], after[field] = old, new

    for field, value in fields.items():
        if field == "title":
            put(field, redact(require_text(value, field="title", max_length=TITLE_MAX)).text)
        elif field in TEXT_FIELDS:
            put(field, _text(value, field))
        elif field == "owner":
            _check_owner(value)
            put(field, value)
        elif field == "owner_team":
            put(field, value)
        elif field == "fix_change":
            if value is not None and not isinstance(value, Change):
                value = Change.objects.filter(pk=int(value)).first()
                if value is None:
                    raise NotFound("No such change.", field="fix_change")
            if value is not None and not can_view(actor, value):
                raise NotFound("No such change.", field="fix_change")
            put(field, value)
        elif field in ("services", "configuration_items"):
            chosen = sorted(
                x.pk
                for x in (
                    _visible_services(actor, value)
                    if field == "services"
                    else _visible_items(actor, value)
                )
            )
            manager = getattr(problem, field)
            old = sorted(manager.values_list("pk", flat=True))
            if chosen != old:
                manager.set(chosen)
                before[field], after[field] = old, chosen
    if not after:
        return problem
    bump(problem, [f for f in after if f not in ("services", "configuration_items")])
    after["version"] = problem.version
    trail.record(actor=actor, action="problem.update", obj=problem, before=before, after=after)
    publish(problem, "update")
    return problem


# --- Links to incidents ---------------------------------------------------------------------------


def _link(
    actor: User | None, problem: Problem, incidents: Sequence[Incident], now: datetime
) -> list[ProblemIncident]:
    """Link ``incidents`` not linked yet; a published known error is pushed to them now."""
    existing = set(
        ProblemIncident.objects.filter(
            problem=problem, incident__in=[i.pk for i in incidents]
        ).values_list("incident_id", flat=True)
    )
    fresh = [i for i in incidents if i.pk not in existing]
    links = ProblemIncident.objects.bulk_create(
        [
            ProblemIncident(problem=problem, incident=i, linked_by=actor, linked_at=now)
            for i in fresh
        ]
    )
    if fresh:
        known = set(problem.services.values_list("pk", flat=True))
        problem.services.add(*{i.service_id for i in fresh if i.service_id not in known})
    if links and problem.known_error_article_id is not None:
        from hashdesk.problems import known_errors

        links = list(ProblemIncident.objects.filter(pk__in=[link.pk for link in links]))
        known_errors.push_workaround(problem, links, now=now)
    return links


@transaction.atomic
def do_link_incidents(
    actor: User, problem: Problem, incident_ids: Sequence[int]
) -> list[ProblemIncident]:
    """Link the incidents (ids) to the problem; those already linked are left as they are.
    Returns the new links. When the problem's known error is published, the workaround goes to
    the new incidents' affected people at once (once per incident)."""
    require_manager(actor, "link incidents to problems")
    if not can_view(actor, problem):
        raise NotFound("No such problem.")
    incidents = _visible_incidents(actor, incident_ids)
    if not incidents:
        raise ValidationFailed("Name at least one incident.", field="incident_ids")
    problem = lock_problem(problem, None)
    now = timezone.now()
    links = _link(actor, problem, incidents, now)
    if not links:
        return []
    bump(problem, [], now)
    trail.record(
        actor=actor,
        action="problem.link",
        obj=problem,
        after={"incidents": sorted(link.incident_id for link in links), "version": problem.version},
    )
    publish(problem, "link")
    return links


@transaction.atomic
def do_unlink_incident(actor: User, problem: Problem, incident_id: int) -> None:
    require_manager(actor, "unlink incidents from problems")
    if not can_view(actor, problem):
        raise NotFound("No such problem.")
    problem = lock_problem(problem, None)
    deleted, _ = ProblemIncident.objects.filter(problem=problem, incident_id=incident_id).delete()
    if not deleted:
        raise NotFound("That incident is not linked to this problem.", field="incident_id")
    bump(problem, [])
    trail.record(
        actor=actor,
        action="problem.unlink",
        obj=problem,
        before={"incident": incident_id},
        after={"version": problem.version},
    )
    publish(problem, "unlink")


# --- Transitions --------------------------------------------------------------------------------


@transaction.atomic
def do_transition(
    actor: User,
    problem: Problem,
    to_state: str,
    *,
    expected_version: int | None = None,
    resolution: str = "",
) -> Problem:
    """Move the problem along the lifecycle. Resolving starts the recurrence watch
    (``watch_until``); reopening (resolved → investigating) clears the recurrence flag."""
    require_manager(actor, "move problems")
    if not can_view(actor, problem):
        raise NotFound("No such problem.")
    problem = lock_problem(problem, expected_version)
    target = lifecycle.check_transition(problem, to_state)
    before = problem_snapshot(problem)
    now = timezone.now()
    fields = ["state"]
    if resolution.strip():
        problem.resolution = _text(resolution, "resolution")
        fields.append("resolution")
    if target == ProblemState.RESOLVED:
        if not problem.resolution.strip() and problem.fix_change_id is None:
            raise ValidationFailed(
                "Say how it was fixed (a resolution or the fix change) to resolve it.",
                field="resolution",
            )
        from hashdesk.problems.recurrence import watch_days

        problem.resolved_at = now
        problem.watch_until = now + timedelta(days=watch_days())
        fields += ["resolved_at", "watch_until"]
    elif target == ProblemState.CLOSED:
        problem.closed_at = now
        fields.append("closed_at")
    elif target == ProblemState.INVESTIGATING and problem.state == ProblemState.RESOLVED:
        problem.resolved_at = None
        problem.watch_until = None
        problem.recurrence_flagged_at = None
        fields += ["resolved_at", "watch_until", "recurrence_flagged_at"]
    problem.state = target
    bump(problem, fields, now)
    after = problem_snapshot(problem)
    if "resolution" in fields:
        after["resolution"] = problem.resolution
    trail.record(actor=actor, action="problem.transition", obj=problem, before=before, after=after)
    publish(problem, "transition")
    return problem
