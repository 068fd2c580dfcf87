"""Problem endpoints: list, read, open, change, move, link incidents, publish the known error
(docs/problems.md, "API").

Reads go through ``core.visibility``: problems are staff records, so for anyone else every
problem is a 404 and the list is empty. Writes call ``problems.actions`` /
``problems.known_errors``, whose domain errors become problem details.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router, Status

from hashdesk.accounts.models import Team, User
from hashdesk.api.auth import acting_user
from hashdesk.api.pagination import Keyset, paginate
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, with_errors
from hashdesk.catalog.models import Service
from hashdesk.changes.models import Change
from hashdesk.core.errors import NotFound
from hashdesk.core.visibility import visible_to
from hashdesk.incidents.models import Incident
from hashdesk.problems import actions, known_errors
from hashdesk.problems.models import Problem
from hashdesk.problems.schemas import (
    ProblemCreate,
    ProblemDetailOut,
    ProblemFilters,
    ProblemLinkIn,
    ProblemPage,
    ProblemTransitionIn,
    ProblemUpdate,
    PublishIn,
)

router = Router(tags=["problems"])

PROBLEM_ORDER = Keyset(("-created_at", "-id"))


def problem_for(user: User, number: str) -> Problem:
    """The problem ``number`` (``PRB-000123``, any case) if ``user`` may see it."""
    problem = visible_to(user, Problem.objects.all()).filter(number=number.upper()).first()
    if problem is None:
        raise NotFound("No such problem.")
    return problem


def problem_detail(user: User, number: str) -> dict[str, Any]:
    """A problem with everything its page shows, as the API answers it."""
    problem = (
        visible_to(
            user,
            Problem.objects.select_related(
                "owner", "owner_team", "known_error_article", "fix_change"
            ),
        )
        .filter(number=number.upper())
        .first()
    )
    if problem is None:
        raise NotFound("No such problem.")
    links = {link.incident_id: link for link in problem.incident_links.all()}
    incidents = visible_to(
        user, Incident.objects.filter(pk__in=list(links)).select_related("service")
    ).order_by("pk")
    article = problem.known_error_article
    change = problem.fix_change
    return {
        **{
            f: getattr(problem, f)
            for f in (
                "id",
                "number",
                "title",
                "state",
                "owner",
                "owner_team",
                "description",
                "root_cause",
                "workaround",
                "resolution",
                "known_error_published_at",
                "recurrence_flagged_at",
                "watch_until",
                "created_at",
                "updated_at",
                "resolved_at",
                "closed_at",
                "version",
            )
        },
        "services": list(problem.services.order_by("name")),
        "configuration_items": list(problem.configuration_items.order_by("name")),
        "incidents": [
            {
                "id": i.pk,
                "number": i.number,
                "title": i.title,
                "state": i.state,
                "service": i.service.slug,
                "workaround_sent_at": links[i.pk].workaround_sent_at,
            }
            for i in incidents
        ],
        "known_error_article": {
            "id": article.pk,
            "number": article.number,
            "title": article.title,
            "url": reverse("knowledge:article", args=[article.number]),
        }
        if article is not None
        else None,
        "fix_change": {
            "id": change.pk,
            "number": change.number,
            "summary": change.summary,
            "state": change.state,
        }
        if change is not None
        else None,
        "recurrences": list(problem.recurrences.all()[:100]),
    }


def _services(user: User, slugs: list[str]) -> list[int]:
    found = dict(
        visible_to(user, Service.objects.filter(slug__in=set(slugs))).values_list("slug", "pk")
    )
    for slug in slugs:
        if slug not in found:
            raise NotFound(f"There is no service {slug!r}.", field="services")
    return [found[slug] for slug in dict.fromkeys(slugs)]


def _incidents(user: User, numbers: list[str]) -> list[int]:
    wanted = [n.upper() for n in numbers]
    found = dict(
        visible_to(user, Incident.objects.filter(number__in=wanted)).values_list("number", "pk")
    )
    for number in wanted:
        if number not in found:
            raise NotFound(f"There is no incident {number}.", field="incidents")
    return [found[n] for n in dict.fromkeys(wanted)]


def _visible_problems(user: User) -> QuerySet[Problem]:
    return visible_to(user, Problem.objects.select_related("owner"))


@router.get("problems", response=with_errors({200: ProblemPage}, READ_ERRORS))
def list_problems(
    request: HttpRequest, response: HttpResponse, filters: Query[ProblemFilters]
) -> dict[str, Any]:
    """Problems you may see (staff: all; others: none), newest first."""
    problems = _visible_problems(acting_user(request))
    if filters.state:
        states = {name for value in filters.state for name in value.split(",")}
        problems = problems.filter(state__in=sorted(states))
    if filters.service is not None:
        problems = problems.filter(
            pk__in=Problem.services.through.objects.filter(service__slug=filters.service).values(
                "problem_id"
            )
        )
    if filters.q:
        q = filters.q.strip()
        problems = problems.filter(Q(title__icontains=q) | Q(number__iexact=q))
    if filters.known_error is not None:
        problems = problems.filter(known_error_published_at__isnull=not filters.known_error)
    if filters.recurring is not None:
        problems = problems.filter(recurrence_flagged_at__isnull=not filters.recurring)
    return paginate(request, response, problems, PROBLEM_ORDER, filters)


@router.get("problems/{number}", response=with_errors({200: ProblemDetailOut}, READ_ERRORS))
def get_problem(request: HttpRequest, number: str) -> dict[str, Any]:
    return problem_detail(acting_user(request), number)


@router.post("problems", response=with_errors({201: ProblemDetailOut}, WRITE_ERRORS))
def create_problem(request: HttpRequest, payload: ProblemCreate) -> Status[dict[str, Any]]:
    """Open a problem (problem managers, agents); linked incidents' services are added."""
    user = acting_user(request)
    actions.require_manager(user, "open problems")
    problem = actions.do_create_problem(
        user,
        title=payload.title,
        description=payload.description,
        service_ids=_services(user, payload.services),
        incident_ids=_incidents(user, payload.incidents),
        configuration_item_ids=payload.configuration_items,
    )
    return Status(201, problem_detail(user, problem.number or ""))


@router.patch("problems/{number}", response=with_errors({200: ProblemDetailOut}, WRITE_ERRORS))
def update_problem(request: HttpRequest, number: str, payload: ProblemUpdate) -> dict[str, Any]:
    """Change the fields sent, based on ``version``."""
    user = acting_user(request)
    problem = problem_for(user, number)
    fields = payload.model_dump(exclude_unset=True)
    version = fields.pop("version")
    if "services" in fields:
        fields["services"] = _services(user, fields["services"])
    if "owner" in fields:
        owner = visible_to(user, User.objects.all()).filter(pk=fields["owner"]).first()
        if owner is None:
            raise NotFound(f"There is no person {fields['owner']}.", field="owner")
        fields["owner"] = owner
    if "owner_team" in fields:
        slug = fields["owner_team"]
        team = visible_to(user, Team.objects.all()).filter(slug=slug).first() if slug else None
        if slug and team is None:
            raise NotFound(f"There is no team {slug!r}.", field="owner_team")
        fields["owner_team"] = team
    if "fix_change" in fields:
        ref = fields["fix_change"]
        change = (
            visible_to(user, Change.objects.all()).filter(number=ref.upper()).first()
            if ref
            else None
        )
        if ref and change is None:
            raise NotFound(f"There is no change {ref}.", field="fix_change")
        fields["fix_change"] = change
    actions.do_update_problem(user, problem, expected_version=version, **fields)
    return problem_detail(user, number)


@router.post(
    "problems/{number}/transition", response=with_errors({200: ProblemDetailOut}, WRITE_ERRORS)
)
def transition_problem(
    request: HttpRequest, number: str, payload: ProblemTransitionIn
) -> dict[str, Any]:
    """Move the problem (docs/problems.md, "Lifecycle"); a move not allowed now is a 409."""
    user = acting_user(request)
    actions.do_transition(
        user,
        problem_for(user, number),
        payload.to,
        expected_version=payload.version,
        resolution=payload.resolution,
    )
    return problem_detail(user, number)


@router.post(
    "problems/{number}/incidents", response=with_errors({200: ProblemDetailOut}, WRITE_ERRORS)
)
def link_incidents(request: HttpRequest, number: str, payload: ProblemLinkIn) -> dict[str, Any]:
    """Link incidents by number (those linked already stay as they are)."""
    user = acting_user(request)
    actions.do_link_incidents(user, problem_for(user, number), _incidents(user, payload.incidents))
    return problem_detail(user, number)


@router.delete(
    "problems/{number}/incidents/{incident}",
    response=with_errors({200: ProblemDetailOut}, WRITE_ERRORS),
)
def unlink_incident(request: HttpRequest, number: str, incident: str) -> dict[str, Any]:
    user = acting_user(request)
    actions.do_unlink_incident(user, problem_for(user, number), _incidents(user, [incident])[0])
    return problem_detail(user, number)


@router.post(
    "problems/{number}/known-error", response=with_errors({200: ProblemDetailOut}, WRITE_ERRORS)
)
def publish_known_error(request: HttpRequest, number: str, payload: PublishIn) -> dict[str, Any]:
    """Publish (or publish again) the known error: the article, the official wall posts and
    the notices to the linked incidents' affected people."""
    user = acting_user(request)
    known_errors.do_publish_known_error(
        user, problem_for(user, number), expected_version=payload.version
    )
    return problem_detail(user, number)
