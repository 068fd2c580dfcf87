"""Incident endpoints: list, read, report, change, move through the lifecycle, assign, add
updates and work notes, "me too" and follow.

Reads go through ``core.visibility`` (an incident a person may not see is a 404, never a 403);
every write calls ``incidents.actions``, whose domain errors become problem details.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router, Status

from hashdesk.accounts.models import Team, User
from hashdesk.api.auth import acting_user
from hashdesk.api.pagination import Keyset, paginate
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, ObjectId, with_errors
from hashdesk.catalog.models import ConfigurationItem, Service
from hashdesk.core.errors import NotFound, ValidationFailed
from hashdesk.core.visibility import visible_to
from hashdesk.incidents import actions, intake
from hashdesk.incidents.choices import Channel
from hashdesk.incidents.intake import NewIncident
from hashdesk.incidents.models import AffectedUser, Incident, IncidentFollower, TimelineEntry
from hashdesk.incidents.schemas import (
    AffectedUserIn,
    AffectedUserOut,
    AssignIn,
    IncidentBatchIn,
    IncidentBatchOut,
    IncidentCreate,
    IncidentDetailOut,
    IncidentFilters,
    IncidentPage,
    IncidentUpdate,
    TimelineEntryOut,
    TimelineUpdateIn,
    TransitionIn,
)

router = Router(tags=["incidents"])

# Newest first; the index on created_at serves the range scan of each page.
INCIDENT_ORDER = Keyset(("-created_at", "-id"))


# --- Lookups (all through visibility) ----------------------------------------------------------


def _affected_count() -> Coalesce:
    # A correlated count rather than a join + GROUP BY, so a page stays one range scan.
    counts = (
        AffectedUser.objects.filter(incident=OuterRef("pk"))
        .order_by()
        .values("incident")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


def visible_incidents(user: User) -> QuerySet[Incident]:
    return visible_to(
        user,
        Incident.objects.select_related("service", "assignment_group", "assignee", "reporter"),
    ).annotate(affected_count=_affected_count())


def incident_for(user: User, number: str) -> Incident:
    """The incident ``number`` (``INC-000123``, any case) if ``user`` may see it."""
    incident = visible_to(user, Incident.objects.all()).filter(number=number.upper()).first()
    if incident is None:
        raise NotFound("No such incident.")
    return incident


def incident_detail_for(user: User, number: str) -> Incident:
    """An incident with the caller's relation to it and the timeline they may see: 2 queries."""
    timeline = visible_to(user, TimelineEntry.objects.select_related("author")).order_by(
        "created_at", "id"
    )
    incident = (
        visible_incidents(user)
        .select_related("configuration_item", "commander", "merged_into")
        .annotate(
            is_affected=Exists(
                AffectedUser.objects.filter(incident=OuterRef("pk"), user_id=user.pk)
            ),
            is_following=Exists(
                IncidentFollower.objects.filter(incident=OuterRef("pk"), user_id=user.pk)
            ),
        )
        .prefetch_related(Prefetch("timeline", queryset=timeline, to_attr="visible_timeline"))
        .filter(number=number.upper())
        .first()
    )
    if incident is None:
        raise NotFound("No such incident.")
    return incident


def _service(user: User, slug: str) -> Service:
    """A service named in a request body: unknown and invisible read the same."""
    service = visible_to(user, Service.objects.all()).filter(slug=slug).first()
    if service is None:
        raise ValidationFailed(f"There is no service {slug!r}.", field="service")
    return service


def _configuration_item(user: User, item_id: int | None) -> ConfigurationItem | None:
    if item_id is None:
        return None
    item = visible_to(user, ConfigurationItem.objects.all()).filter(pk=item_id).first()
    if item is None:
        raise ValidationFailed(
            f"There is no configuration item {item_id}.", field="configuration_item"
        )
    return item


def _person(user: User, person_id: int, *, field: str) -> User:
    person = visible_to(user, User.objects.all()).filter(pk=person_id).first()
    if person is None:
        raise ValidationFailed(f"There is no person {person_id}.", field=field)
    return person


def _new_incidents(user: User, reports: list[IncidentCreate]) -> list[NewIncident]:
    """A batch's reports with their services, configuration items and reporters looked up
    through visibility, one query each for the whole batch. An unknown or invisible one is
    a 422 naming the report (``incidents[3].service``)."""
    services = {
        service.slug: service
        for service in visible_to(
            user, Service.objects.filter(slug__in={r.service for r in reports})
        )
    }
    item_ids = {r.configuration_item for r in reports if r.configuration_item is not None}
    items = (
        visible_to(user, ConfigurationItem.objects.filter(pk__in=item_ids)).in_bulk()
        if item_ids
        else {}
    )
    person_ids = {r.reporter for r in reports if r.reporter is not None}
    people = (
        visible_to(user, User.objects.filter(pk__in=person_ids)).in_bulk() if person_ids else {}
    )
    batch = []
    for index, report in enumerate(reports):
        try:
            service = services.get(report.service)
            if service is None:
                raise ValidationFailed(f"There is no service {report.service!r}.", field="service")
            item = None
            if report.configuration_item is not None:
                item = items.get(report.configuration_item)
                if item is None:
                    raise ValidationFailed(
                        f"There is no configuration item {report.configuration_item}.",
                        field="configuration_item",
                    )
            reporter = None
            if report.reporter is not None:
                reporter = people.get(report.reporter)
                if reporter is None:
                    raise ValidationFailed(
                        f"There is no person {report.reporter}.", field="reporter"
                    )
        except ValidationFailed as error:
            raise intake.item_error(error, index) from error
        batch.append(
            NewIncident(
                title=report.title,
                description=report.description,
                service=service,
                configuration_item=item,
                category=report.category,
                impact=report.impact,
                urgency=report.urgency,
                source=report.source,
                reporter=reporter,
            )
        )
    return batch


def _team(user: User, slug: str) -> Team:
    team = visible_to(user, Team.objects.all()).filter(slug=slug).first()
    if team is None:
        raise ValidationFailed(f"There is no team {slug!r}.", field="group")
    return team


# --- Reading ------------------------------------------------------------------------------------


def _filtered(user: User, filters: IncidentFilters) -> QuerySet[Incident]:
    incidents = visible_incidents(user)
    if filters.state:
        states = {name for value in filters.state for name in value.split(",")}
        incidents = incidents.filter(state__in=sorted(states))
    if filters.priority is not None:
        incidents = incidents.filter(priority=filters.priority)
    if filters.service is not None:
        incidents = incidents.filter(service__slug=filters.service)
    if filters.assignment_group is not None:
        incidents = incidents.filter(assignment_group__slug=filters.assignment_group)
    if filters.assignee is not None:
        assignee = user.pk if filters.assignee == "me" else int(filters.assignee)
        incidents = incidents.filter(assignee_id=assignee)
    if filters.reporter == "me":
        incidents = incidents.filter(reporter_id=user.pk)
    if filters.affected == "me":
        # A subquery, not a join: the affected-count annotation must see every affected row.
        mine = AffectedUser.objects.filter(user_id=user.pk).values("incident_id")
        incidents = incidents.filter(pk__in=mine)
    if filters.is_major is not None:
        incidents = incidents.filter(is_major=filters.is_major)
    if filters.q and filters.q.strip():
        text = filters.q.strip()
        incidents = incidents.filter(Q(title__icontains=text) | Q(number__iexact=text))
    return incidents


@router.get("incidents", response=with_errors({200: IncidentPage}, READ_ERRORS))
def list_incidents(
    request: HttpRequest, response: HttpResponse, filters: Query[IncidentFilters]
) -> dict[str, Any]:
    """Incidents you may see, newest first."""
    incidents = _filtered(acting_user(request), filters)
    return paginate(request, response, incidents, INCIDENT_ORDER, filters, ids_first=True)


# Declared before "incidents/{number}": Django tries paths in order, and that one would take
# "batch" for a number (and answer a POST with 405).
@router.post("incidents/batch", response=with_errors({201: IncidentBatchOut}, WRITE_ERRORS))
def create_incidents(request: HttpRequest, payload: IncidentBatchIn) -> Status[dict[str, Any]]:
    """Report up to 500 incidents at once (alert storms, imports): all are recorded or none.

    Each report is what ``POST /incidents`` takes. An error names the report and its field
    (``incidents[3].service``, pointer ``/incidents/3/service``) and records nothing. The
    answer lists each new incident's id, number and address, in the order sent.
    """
    user = acting_user(request)
    incidents = intake.do_create_incidents(user, _new_incidents(user, payload.incidents))
    return Status(
        201,
        {
            "incidents": [
                {
                    "id": incident.pk,
                    "number": incident.number,
                    "url": reverse("api:get_incident", kwargs={"number": incident.number}),
                }
                for incident in incidents
            ]
        },
    )


@router.get("incidents/{number}", response=with_errors({200: IncidentDetailOut}, READ_ERRORS))
def get_incident(request: HttpRequest, number: str) -> Incident:
    """One incident with its timeline (work notes only for service desk staff)."""
    return incident_detail_for(acting_user(request), number)


# --- Reporting and changing ---------------------------------------------------------------------


@router.post("incidents", response=with_errors({201: IncidentDetailOut}, WRITE_ERRORS))
def create_incident(request: HttpRequest, payload: IncidentCreate) -> Status[Incident]:
    """Report an incident; you are its first affected person (staff may name the reporter)."""
    user = acting_user(request)
    incident = actions.do_create_incident(
        user,
        title=payload.title,
        description=payload.description,
        service=_service(user, payload.service),
        configuration_item=_configuration_item(user, payload.configuration_item),
        category=payload.category,
        impact=payload.impact,
        urgency=payload.urgency,
        source=payload.source,
        reporter=(
            _person(user, payload.reporter, field="reporter")
            if payload.reporter is not None
            else None
        ),
    )
    return Status(201, _created_detail(user, incident))


def _created_detail(user: User, incident: Incident) -> Incident:
    """The new incident as its detail shows it, from the instance the action returned: its
    related records are already loaded, the reporter is its one affected follower, and only
    the timeline is read (one query instead of re-reading the whole detail)."""
    incident.affected_count = 1  # type: ignore[attr-defined]
    incident.is_affected = incident.is_following = incident.reporter_id == user.pk  # type: ignore[attr-defined]
    incident.visible_timeline = list(  # type: ignore[attr-defined]
        visible_to(user, TimelineEntry.objects.select_related("author"))
        .filter(incident=incident)
        .order_by("created_at", "id")
    )
    return incident


@router.patch("incidents/{number}", response=with_errors({200: IncidentDetailOut}, WRITE_ERRORS))
def update_incident(request: HttpRequest, number: str, payload: IncidentUpdate) -> Incident:
    """Change the fields sent, based on ``version`` (the reporter: title and description while
    new; staff: everything)."""
    user = acting_user(request)
    incident = incident_for(user, number)
    changes = payload.model_dump(exclude_unset=True)
    version = changes.pop("version")
    if not changes:
        raise ValidationFailed("Send at least one field to change.")
    if "service" in changes:
        changes["service"] = _service(user, changes["service"])
    if "configuration_item" in changes:
        changes["configuration_item"] = _configuration_item(user, changes["configuration_item"])
    actions.do_update_incident(user, incident, expected_version=version, **changes)
    return incident_detail_for(user, number)


@router.post(
    "incidents/{number}/transition",
    response=with_errors({200: IncidentDetailOut}, WRITE_ERRORS),
)
def transition_incident(request: HttpRequest, number: str, payload: TransitionIn) -> Incident:
    """Move the incident to another state of its lifecycle (docs/incidents.md)."""
    user = acting_user(request)
    actions.do_transition(
        user,
        incident_for(user, number),
        payload.to,
        expected_version=payload.version,
        hold_reason=payload.hold_reason,
        resolution_code=payload.resolution_code,
        resolution_notes=payload.resolution_notes,
    )
    return incident_detail_for(user, number)


@router.post(
    "incidents/{number}/assign", response=with_errors({200: IncidentDetailOut}, WRITE_ERRORS)
)
def assign_incident(request: HttpRequest, number: str, payload: AssignIn) -> Incident:
    """Give the incident to a team and/or a staff member (staff)."""
    user = acting_user(request)
    incident = incident_for(user, number)
    actions.do_assign(
        user,
        incident,
        expected_version=payload.version,
        group=_team(user, payload.group) if payload.group is not None else None,
        assignee=(
            _person(user, payload.assignee, field="assignee")
            if payload.assignee is not None
            else None
        ),
    )
    return incident_detail_for(user, number)


@router.post(
    "incidents/{number}/updates", response=with_errors({201: TimelineEntryOut}, WRITE_ERRORS)
)
def add_incident_update(
    request: HttpRequest, number: str, payload: TimelineUpdateIn
) -> Status[TimelineEntry]:
    """A public update, or a work note (``public: false``, staff only)."""
    user = acting_user(request)
    entry = actions.do_add_update(
        user, incident_for(user, number), body=payload.body, public=payload.public
    )
    return Status(201, entry)


# --- People: affected and followers -------------------------------------------------------------


@router.post(
    "incidents/{number}/affected", response=with_errors({201: AffectedUserOut}, WRITE_ERRORS)
)
def add_me_as_affected(request: HttpRequest, number: str) -> Status[AffectedUser]:
    """ "Me too": you are affected too (and follow the incident)."""
    user = acting_user(request)
    incident = incident_for(user, number)
    return Status(201, actions.do_add_affected_user(user, incident, user, channel=Channel.API))


@router.delete("incidents/{number}/affected", response=with_errors({204: None}, WRITE_ERRORS))
def remove_me_as_affected(request: HttpRequest, number: str) -> Status[None]:
    """You are no longer affected."""
    user = acting_user(request)
    actions.do_remove_affected_user(user, incident_for(user, number), user)
    return Status(204, None)


@router.post(
    "incidents/{number}/affected-users",
    response=with_errors({201: AffectedUserOut}, WRITE_ERRORS),
)
def add_affected_user(
    request: HttpRequest, number: str, payload: AffectedUserIn
) -> Status[AffectedUser]:
    """Record someone else as affected (staff)."""
    user = acting_user(request)
    incident = incident_for(user, number)
    person = _person(user, payload.user, field="user")
    affected = actions.do_add_affected_user(user, incident, person, channel=Channel.API)
    return Status(201, affected)


@router.delete(
    "incidents/{number}/affected-users/{int:user_id}",
    response=with_errors({204: None}, WRITE_ERRORS),
)
def remove_affected_user(request: HttpRequest, number: str, user_id: ObjectId) -> Status[None]:
    """Someone is no longer affected (staff, or yourself)."""
    user = acting_user(request)
    incident = incident_for(user, number)
    person = visible_to(user, User.objects.all()).filter(pk=user_id).first()
    if person is None:
        raise NotFound("No such person.")
    actions.do_remove_affected_user(user, incident, person)
    return Status(204, None)


@router.post("incidents/{number}/follow", response=with_errors({204: None}, WRITE_ERRORS))
def follow_incident(request: HttpRequest, number: str) -> Status[None]:
    """Hear about public changes to this incident."""
    user = acting_user(request)
    actions.do_follow(user, incident_for(user, number))
    return Status(204, None)


@router.delete("incidents/{number}/follow", response=with_errors({204: None}, WRITE_ERRORS))
def unfollow_incident(request: HttpRequest, number: str) -> Status[None]:
    """Stop following this incident."""
    user = acting_user(request)
    actions.do_unfollow(user, incident_for(user, number))
    return Status(204, None)
