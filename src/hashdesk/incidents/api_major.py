"""Endpoints for links between incidents, merges and the major-incident process.

Lookups go through ``core.visibility`` (an incident or link the caller may not see is a 404);
every write calls incidents.linking or incidents.major, the same actions the incident page
calls, whose domain errors become problem details. docs/api.md, "Links, merges and major
incidents".
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import Field

from hashdesk.accounts.models import User
from hashdesk.api.auth import acting_user
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, Input, ObjectId, Output, with_errors
from hashdesk.core.errors import NotFound
from hashdesk.core.visibility import visible_to
from hashdesk.incidents import linking, major
from hashdesk.incidents.api import _person, incident_detail_for, incident_for
from hashdesk.incidents.models import DESCRIPTION_MAX, Incident, IncidentLink, TimelineEntry
from hashdesk.incidents.schemas import (
    IncidentDetailOut,
    LinkKindName,
    PersonRef,
    StateName,
    TimelineEntryOut,
)

router = Router(tags=["incidents"])

NUMBER = r"^[Ii][Nn][Cc]-[0-9]{6,18}$"


# --- Shapes -------------------------------------------------------------------------------------


class LinkedIncidentRef(Output):
    number: str
    title: str
    state: StateName


class IncidentLinkOut(Output):
    """A link as seen from the incident in the path."""

    id: int
    kind: LinkKindName
    direction: Literal["outgoing", "incoming"] = Field(
        description="'outgoing': this incident is the duplicate, was merged or is related; "
        "'incoming': the other one is."
    )
    incident: LinkedIncidentRef = Field(description="The incident at the other end.")
    created_by: PersonRef | None
    created_at: datetime


class LinkIn(Input):
    incident: str = Field(pattern=NUMBER, description="The other incident's number.")
    kind: LinkKindName = Field(description="duplicate_of or related; merged_into comes by merge.")


class MergeIn(Input):
    into: str = Field(pattern=NUMBER, description="The number of the incident that carries on.")
    version: int | None = Field(
        None, ge=1, le=2**31 - 1, description="This incident's version you read (stale: 409)."
    )


class MajorDeclareIn(Input):
    reason: str = Field(min_length=1, max_length=DESCRIPTION_MAX)
    commander_id: ObjectId = Field(description="A service desk staff member's id.")
    cadence_minutes: int = Field(
        major.DEFAULT_CADENCE_MINUTES,
        ge=major.MIN_CADENCE_MINUTES,
        le=major.MAX_CADENCE_MINUTES,
        description="Minutes between official updates.",
    )
    version: int | None = Field(None, ge=1, le=2**31 - 1)


class OfficialUpdateIn(Input):
    body: str = Field(min_length=1, max_length=DESCRIPTION_MAX, description="Markdown.")


class StandDownIn(Input):
    reason: str = Field(min_length=1, max_length=DESCRIPTION_MAX)
    version: int | None = Field(None, ge=1, le=2**31 - 1)


def _link_out(view: linking.LinkView) -> dict[str, object]:
    return {
        "id": view.pk,
        "kind": view.kind,
        "direction": "outgoing" if view.outgoing else "incoming",
        "incident": view.other,
        "created_by": view.link.created_by,
        "created_at": view.created_at,
    }


def _other(user: User, number: str) -> Incident:
    try:
        return incident_for(user, number)
    except NotFound as error:
        raise NotFound(error.detail, field="incident") from error


# --- Links --------------------------------------------------------------------------------------


@router.get(
    "incidents/{number}/links", response=with_errors({200: list[IncidentLinkOut]}, READ_ERRORS)
)
def list_incident_links(request: HttpRequest, number: str) -> list[dict[str, object]]:
    """The incident's links whose other end you may see, oldest first."""
    user = acting_user(request)
    incident = incident_for(user, number)
    return [_link_out(view) for view in linking.visible_links(user, incident)]


@router.post("incidents/{number}/links", response=with_errors({201: IncidentLinkOut}, WRITE_ERRORS))
def link_incident(request: HttpRequest, number: str, payload: LinkIn) -> Status[dict[str, object]]:
    """Record this incident as a duplicate of, or related to, another (staff)."""
    user = acting_user(request)
    incident = incident_for(user, number)
    link = linking.do_link(user, incident, _other(user, payload.incident), payload.kind)
    view = next(v for v in linking.visible_links(user, incident) if v.pk == link.pk)
    return Status(201, _link_out(view))


@router.delete(
    "incidents/{number}/links/{int:link_id}", response=with_errors({204: None}, WRITE_ERRORS)
)
def unlink_incident(request: HttpRequest, number: str, link_id: ObjectId) -> Status[None]:
    """Remove a duplicate or related link (staff); a merge's link stays."""
    user = acting_user(request)
    incident = incident_for(user, number)
    link = visible_to(user, IncidentLink.objects.filter(pk=link_id)).first()
    if link is None or incident.pk not in (link.from_incident_id, link.to_incident_id):
        raise NotFound("No such link.")
    linking.do_unlink(user, incident, link)
    return Status(204, None)


# --- Merge --------------------------------------------------------------------------------------


@router.post(
    "incidents/{number}/merge", response=with_errors({200: IncidentDetailOut}, WRITE_ERRORS)
)
def merge_incident(request: HttpRequest, number: str, payload: MergeIn) -> Incident:
    """Merge this incident into ``into`` (staff); answers with the incident that carries on."""
    user = acting_user(request)
    duplicate = incident_for(user, number)
    try:
        survivor = incident_for(user, payload.into)
    except NotFound as error:
        raise NotFound(error.detail, field="into") from error
    linking.do_merge(user, duplicate, survivor, expected_version=payload.version)
    return incident_detail_for(user, str(survivor.number))


# --- Major incidents ----------------------------------------------------------------------------


@router.post(
    "incidents/{number}/major", response=with_errors({200: IncidentDetailOut}, WRITE_ERRORS)
)
def declare_major_incident(request: HttpRequest, number: str, payload: MajorDeclareIn) -> Incident:
    """Declare a major incident with its commander and update cadence (staff)."""
    user = acting_user(request)
    major.do_declare_major(
        user,
        incident_for(user, number),
        reason=payload.reason,
        commander=_person(user, payload.commander_id, field="commander_id"),
        cadence_minutes=payload.cadence_minutes,
        expected_version=payload.version,
    )
    return incident_detail_for(user, number)


@router.post(
    "incidents/{number}/major/updates",
    response=with_errors({201: TimelineEntryOut}, WRITE_ERRORS),
)
def post_official_update(
    request: HttpRequest, number: str, payload: OfficialUpdateIn
) -> Status[TimelineEntry]:
    """An official update on a major incident (staff); everyone affected and following hears."""
    user = acting_user(request)
    entry = major.do_post_official_update(user, incident_for(user, number), body=payload.body)
    return Status(201, entry)


@router.post(
    "incidents/{number}/major/stand-down",
    response=with_errors({200: IncidentDetailOut}, WRITE_ERRORS),
)
def stand_down_major_incident(request: HttpRequest, number: str, payload: StandDownIn) -> Incident:
    """End the major-incident process without resolving the incident (staff)."""
    user = acting_user(request)
    major.do_stand_down(
        user, incident_for(user, number), reason=payload.reason, expected_version=payload.version
    )
    return incident_detail_for(user, number)
