"""Change endpoints: list, read, request, change, move through the lifecycle, CAB decisions,
templates (docs/api.md, "Changes").

Reads go through ``core.visibility`` (a change a person may not see is a 404); every write
calls ``changes.actions`` or ``changes.approvals``, whose domain errors become problem details.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from hashdesk.accounts.models import Team, User
from hashdesk.api.auth import acting_user
from hashdesk.api.pagination import Keyset, paginate
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, with_errors
from hashdesk.catalog.models import ConfigurationItem, Service
from hashdesk.changes import actions, approvals
from hashdesk.changes.models import AffectedService, Approval, Change, ChangeTemplate
from hashdesk.changes.schemas import (
    ApprovalsOut,
    ChangeCreate,
    ChangeDetailOut,
    ChangeFilters,
    ChangePage,
    ChangeTransitionIn,
    ChangeUpdate,
    DecisionIn,
    TemplateOut,
)
from hashdesk.core.errors import NotFound
from hashdesk.core.visibility import is_staff, visible_to

router = Router(tags=["changes"])

# Newest first, as the incident list.
CHANGE_ORDER = Keyset(("-created_at", "-id"))


# --- Lookups (all through visibility) ----------------------------------------------------------


def _visible_changes(user: User) -> QuerySet[Change]:
    return visible_to(user, Change.objects.select_related("requester", "owner"))


def change_for(user: User, number: str) -> Change:
    """The change ``number`` (``CHG-000123``, any case) if ``user`` may see it."""
    change = visible_to(user, Change.objects.all()).filter(number=number.upper()).first()
    if change is None:
        raise NotFound("No such change.")
    return change


def change_detail_for(user: User, number: str) -> Change:
    """A change with its affected services and configuration items: 3 queries."""
    change = (
        _visible_changes(user)
        .select_related("template", "owner_team")
        .prefetch_related(
            Prefetch(
                "affected",
                queryset=AffectedService.objects.select_related("service").order_by(
                    "distance", "service__name"
                ),
                to_attr="affected_rows",
            ),
            Prefetch(
                "configuration_items",
                queryset=ConfigurationItem.objects.order_by("name"),
                to_attr="item_rows",
            ),
        )
        .filter(number=number.upper())
        .first()
    )
    if change is None:
        raise NotFound("No such change.")
    return change


def _services(user: User, slugs: list[str]) -> list[Service]:
    """Services named in a body: unknown and invisible read the same (404 naming the field)."""
    found = {s.slug: s for s in visible_to(user, Service.objects.filter(slug__in=set(slugs)))}
    for slug in slugs:
        if slug not in found:
            raise NotFound(f"There is no service {slug!r}.", field="services")
    return [found[slug] for slug in dict.fromkeys(slugs)]


def _items(user: User, ids: list[int]) -> list[ConfigurationItem]:
    found = visible_to(user, ConfigurationItem.objects.filter(pk__in=set(ids))).in_bulk()
    for pk in ids:
        if pk not in found:
            raise NotFound(f"There is no configuration item {pk}.", field="configuration_items")
    return [found[pk] for pk in dict.fromkeys(ids)]


def _person(user: User, person_id: int, *, field: str) -> User:
    person = visible_to(user, User.objects.all()).filter(pk=person_id).first()
    if person is None:
        raise NotFound(f"There is no person {person_id}.", field=field)
    return person


def _team(user: User, slug: str) -> Team:
    team = visible_to(user, Team.objects.all()).filter(slug=slug).first()
    if team is None:
        raise NotFound(f"There is no team {slug!r}.", field="owner_team")
    return team


def _template(template_id: int) -> ChangeTemplate:
    template = ChangeTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise NotFound(f"There is no change template {template_id}.", field="template")
    return template


# --- Reading ------------------------------------------------------------------------------------


@router.get("changes", response=with_errors({200: ChangePage}, READ_ERRORS))
def list_changes(
    request: HttpRequest, response: HttpResponse, filters: Query[ChangeFilters]
) -> dict[str, Any]:
    """Changes you may see, newest first; filter by state, affected service and planned time."""
    changes = _visible_changes(acting_user(request))
    if filters.state:
        states = {name for value in filters.state for name in value.split(",")}
        changes = changes.filter(state__in=sorted(states))
    if filters.service is not None:
        changes = changes.filter(
            pk__in=AffectedService.objects.filter(service__slug=filters.service).values("change_id")
        )
    if filters.from_ is not None:
        changes = changes.filter(planned_end__gt=filters.from_)
    if filters.to is not None:
        changes = changes.filter(planned_start__lt=filters.to)
    return paginate(request, response, changes, CHANGE_ORDER, filters)


# Declared before "changes/{number}", which would take "templates" for a number.
@router.get("changes/templates", response=with_errors({200: list[TemplateOut]}, READ_ERRORS))
def list_change_templates(request: HttpRequest) -> list[ChangeTemplate]:
    """Active templates of standard (pre-approved) changes; staff only."""
    if not is_staff(acting_user(request)):
        return []
    return list(ChangeTemplate.objects.filter(is_active=True))


@router.get("changes/{number}", response=with_errors({200: ChangeDetailOut}, READ_ERRORS))
def get_change(request: HttpRequest, number: str) -> Change:
    """One change with its plans and affected services."""
    return change_detail_for(acting_user(request), number)


# --- Requesting and changing --------------------------------------------------------------------


@router.post("changes", response=with_errors({201: ChangeDetailOut}, WRITE_ERRORS))
def create_change(request: HttpRequest, payload: ChangeCreate) -> Status[Change]:
    """Request a change (staff); it starts as a draft. Affected services are derived."""
    user = acting_user(request)
    change = actions.do_create_change(
        user,
        type=payload.type,
        summary=payload.summary,
        description=payload.description,
        reason=payload.reason,
        implementation_plan=payload.implementation_plan,
        backout_plan=payload.backout_plan,
        test_plan=payload.test_plan,
        services=_services(user, payload.services),
        configuration_items=_items(user, payload.configuration_items),
        planned_start=payload.planned_start,
        planned_end=payload.planned_end,
        time_zone=payload.time_zone,
        template=_template(payload.template) if payload.template is not None else None,
        risk_answers={str(key): answer for key, answer in payload.risk_answers.items()},
        owner=_person(user, payload.owner, field="owner") if payload.owner is not None else None,
        owner_team=_team(user, payload.owner_team) if payload.owner_team is not None else None,
    )
    return Status(201, change_detail_for(user, change.number or ""))


@router.patch("changes/{number}", response=with_errors({200: ChangeDetailOut}, WRITE_ERRORS))
def update_change(request: HttpRequest, number: str, payload: ChangeUpdate) -> Change:
    """Change the fields sent, based on ``version``."""
    user = acting_user(request)
    change = change_for(user, number)
    fields = payload.model_dump(exclude_unset=True)
    version = fields.pop("version")
    justification = fields.pop("override_justification", "")
    if "services" in fields:
        fields["services"] = _services(user, fields["services"])
    if "configuration_items" in fields:
        fields["configuration_items"] = _items(user, fields["configuration_items"])
    if "owner" in fields:
        fields["owner"] = _person(user, fields["owner"], field="owner")
    if "owner_team" in fields:
        slug = fields["owner_team"]
        fields["owner_team"] = _team(user, slug) if slug is not None else None
    actions.do_update_change(
        user, change, expected_version=version, override_justification=justification, **fields
    )
    return change_detail_for(user, number)


@router.post(
    "changes/{number}/transition", response=with_errors({200: ChangeDetailOut}, WRITE_ERRORS)
)
def transition_change(request: HttpRequest, number: str, payload: ChangeTransitionIn) -> Change:
    """Move the change through its lifecycle (docs/changes.md, "Lifecycle")."""
    user = acting_user(request)
    actions.do_transition(
        user,
        change_for(user, number),
        payload.to,
        expected_version=payload.version,
        notes=payload.notes,
        override_justification=payload.override_justification,
    )
    return change_detail_for(user, number)


# --- Approvals ----------------------------------------------------------------------------------


def _approvals(user: User, change: Change) -> dict[str, Any]:
    rows = visible_to(user, Approval.objects.select_related("group", "approver")).filter(
        change=change
    )
    return {
        "approvals": list(rows),
        "missing_groups": approvals.missing_groups(change) if is_staff(user) else [],
    }


@router.get("changes/{number}/approvals", response=with_errors({200: ApprovalsOut}, READ_ERRORS))
def list_change_approvals(request: HttpRequest, number: str) -> dict[str, Any]:
    """The current round of CAB approvals and the groups still to reach their quorum (staff)."""
    user = acting_user(request)
    return _approvals(user, change_for(user, number))


@router.post("changes/{number}/decision", response=with_errors({200: ApprovalsOut}, WRITE_ERRORS))
def decide_change(request: HttpRequest, number: str, payload: DecisionIn) -> dict[str, Any]:
    """Approve or reject (with a comment) a change you are asked to approve."""
    user = acting_user(request)
    change = approvals.do_decide(
        user, change_for(user, number), approve=payload.approve, comment=payload.comment
    )
    return _approvals(user, change)
