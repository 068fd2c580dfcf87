"""``{% problem_panel incident %}``: on an incident's page, for staff, the problems it is
linked to ("Problem: PRB-000012"), the published known errors it reads like (suggested: linking
is the agent's decision) and a "Link to problem" control. Nothing, and no query, for anyone
else."""

from __future__ import annotations

from typing import Any

from django import template

from hashdesk.core.logging import get_logger
from hashdesk.core.visibility import can_manage_problems, is_staff, visible_to
from hashdesk.incidents.models import Incident
from hashdesk.problems.choices import OPEN_PROBLEM_STATES
from hashdesk.problems.models import Problem

register = template.Library()
log = get_logger(__name__)
CHOICES_MAX = 50


@register.inclusion_tag("problems/includes/incident_panel.html", takes_context=True)
def problem_panel(context: dict[str, Any], incident: Incident) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not is_staff(user):
        return {"show": False}
    linked = list(
        visible_to(user, Problem.objects.filter(incident_links__incident=incident)).order_by("pk")
    )
    suggested = []
    try:
        from hashdesk.problems.matching import matching_known_errors

        suggested = [
            m
            for m in matching_known_errors(
                user, f"{incident.title}\n{incident.description}", incident.service
            )
            if m.problem.pk not in {p.pk for p in linked}
        ]
    except Exception:  # a suggestion never breaks the incident page, but it is logged
        log.exception("known-error suggestions failed on an incident page")
        suggested = []
    may_link = can_manage_problems(user)
    choices = (
        list(
            visible_to(user, Problem.objects.filter(state__in=OPEN_PROBLEM_STATES))
            .exclude(pk__in=[p.pk for p in linked])
            .order_by("-created_at")[:CHOICES_MAX]
        )
        if may_link
        else []
    )
    return {
        "show": True,
        "incident": incident,
        "linked": linked,
        "suggested": suggested,
        "choices": choices,
        "may_link": may_link,
        "csrf_token": context.get("csrf_token"),
    }
