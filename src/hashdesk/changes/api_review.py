"""Review endpoints of changes: incidents a change may have caused and success rates (docs/api.md,
"Changes: review"). Each calls the function the pages call (changes.correlation, changes.stats).
Registered before hashdesk.changes.api, whose ``changes/{number}`` would take "stats"."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Query, Router
from pydantic import Field

from hashdesk.accounts.models import Team, User
from hashdesk.api.auth import acting_user
from hashdesk.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    Moment,
    Output,
    RefusesNulCharacters,
    with_errors,
)
from hashdesk.catalog.models import Service
from hashdesk.changes import correlation, stats
from hashdesk.changes.models import Change, ChangeIncident
from hashdesk.core.errors import Forbidden, NotFound, ValidationFailed
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.incidents.models import Incident

router = Router(tags=["changes"])


class CorrelationOut(Output):
    incident: str = Field(description="The incident's number.")
    title: str
    service: str | None = Field(description="The incident's service's slug.")
    incident_created_at: datetime
    score: float = Field(description="0 to 1: time 45 %, graph distance 35 %, text 20 %.")
    evidence: dict[str, object]
    confirmed: bool
    dismissed: bool


class SuccessRateOut(Output):
    id: int
    name: str
    succeeded: int
    failed: int
    rate: float | None = Field(description="succeeded / (succeeded + failed); null if none.")


class StatsOut(Output):
    services: list[SuccessRateOut]
    teams: list[SuccessRateOut]


class StatsFilters(RefusesNulCharacters):
    service: str | None = Field(None, max_length=100, description="Only this service (slug).")
    team: str | None = Field(None, max_length=100, description="Only this team (slug).")
    from_: Moment | None = Field(
        None, alias="from", description="Changes started at or after this moment."
    )
    to: Moment | None = Field(None, description="Changes started before this moment.")


def _staff(request: HttpRequest) -> User:
    user = acting_user(request)
    if not is_staff(user):
        raise Forbidden("Only service desk staff review changes.")
    return user


def _change(user: User, number: str) -> Change:
    found = visible_to(user, Change.objects.filter(number=number.upper())).first()
    if found is None:
        raise NotFound("No such change.")
    return found


def _incident(user: User, number: str) -> Incident:
    found = visible_to(user, Incident.objects.filter(number=number.upper())).first()
    if found is None:
        raise NotFound("No such incident.")
    return found


def correlation_out(link: ChangeIncident) -> CorrelationOut:
    incident = link.incident
    return CorrelationOut(
        incident=incident.number or "",
        title=incident.title,
        service=incident.service.slug if incident.service else None,
        incident_created_at=incident.created_at,
        score=link.score,
        evidence=link.evidence,
        confirmed=link.confirmed,
        dismissed=bool(link.evidence.get("dismissed")),
    )


@router.get("changes/stats", response=with_errors({200: StatsOut}, READ_ERRORS))
def change_stats(request: HttpRequest, filters: Query[StatsFilters]) -> StatsOut:
    """Success rate of changes (closed or in review vs failed or backed out) per service they
    were made to and per owning team, worst first; staff only."""
    user = _staff(request)
    if filters.from_ and filters.to and filters.from_ >= filters.to:
        raise ValidationFailed("'from' must be before 'to'.", field="from")
    service_id = team_id = None
    if filters.service is not None:
        service = visible_to(user, Service.objects.filter(slug=filters.service)).first()
        if service is None:
            raise NotFound(f"There is no service {filters.service!r}.", field="service")
        service_id = service.pk
    if filters.team is not None:
        team = visible_to(user, Team.objects.filter(slug=filters.team)).first()
        if team is None:
            raise NotFound(f"There is no team {filters.team!r}.", field="team")
        team_id = team.pk
    period = {"start": filters.from_, "end": filters.to}

    def out(rates: list[stats.SuccessRate]) -> list[SuccessRateOut]:
        return [
            SuccessRateOut(
                id=r.id, name=r.name, succeeded=r.succeeded, failed=r.failed, rate=r.rate
            )
            for r in rates
        ]

    return StatsOut(
        services=out([] if team_id else stats.by_service(**period, service_id=service_id)),
        teams=out([] if service_id else stats.by_team(**period, team_id=team_id)),
    )


@router.get(
    "changes/{number}/correlations",
    response=with_errors({200: list[CorrelationOut]}, READ_ERRORS),
)
def change_correlations(request: HttpRequest, number: str) -> list[CorrelationOut]:
    """Incidents this change may have caused, confirmed first, then best score; staff only."""
    change = _change(_staff(request), number)
    return [correlation_out(link) for link in correlation.links_of(change)]


@router.post(
    "changes/{number}/correlations/{incident}/confirm",
    response=with_errors({200: CorrelationOut}, WRITE_ERRORS),
)
def confirm_correlation(request: HttpRequest, number: str, incident: str) -> CorrelationOut:
    """Confirm the change caused the incident (also one the scorer did not find); staff only."""
    user = _staff(request)
    link = correlation.do_confirm_link(user, _change(user, number), _incident(user, incident))
    return correlation_out(link)


@router.post(
    "changes/{number}/correlations/{incident}/dismiss",
    response=with_errors({200: CorrelationOut}, WRITE_ERRORS),
)
def dismiss_correlation(request: HttpRequest, number: str, incident: str) -> CorrelationOut:
    """Say the change did not cause the incident: kept, never rescored; staff only."""
    user = _staff(request)
    link = correlation.do_dismiss_link(user, _change(user, number), _incident(user, incident))
    return correlation_out(link)
