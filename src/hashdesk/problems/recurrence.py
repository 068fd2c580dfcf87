"""Watching a fixed problem for recurrence (docs/problems.md, "Recurrence").

Resolving a problem sets ``watch_until`` (now + ``PROBLEMS_RECURRENCE_WATCH_DAYS``, 30 days by
default). Until then every new report — a wall post, an incident, a live-help question — is
compared with the problems being watched; a match is recorded as a ``ProblemRecurrence``
(once per report), flags the problem (``recurrence_flagged_at``) and tells its owner. The
problem manager may then reopen it (resolved → investigating).

Few problems are watched at any time (those resolved in the last month), so the comparison is
done here directly rather than through the similarity index: the report's analysed terms
(``hashdesk.insights.text.terms``, the analyser every insight shares) against each watched
problem's terms (title, description, root cause, workaround and its incidents' titles). The
score is the share of the report's terms that the problem knows; a match needs at least
``MIN_SHARED`` shared terms and a score of ``MIN_SCORE``, and — when both name services — a
service in common. Two watched problems are read per report at most a few queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone

from hashdesk.audit import trail
from hashdesk.insights.text import terms
from hashdesk.notify.actions import Notice, do_send_notices
from hashdesk.problems import actions
from hashdesk.problems.choices import ProblemState
from hashdesk.problems.models import Problem, ProblemIncident, ProblemRecurrence

DEFAULT_WATCH_DAYS = 30
MIN_SCORE = 0.5
MIN_SHARED = 2
TEXT_MAX = 500


def watch_days() -> int:
    return int(getattr(settings, "PROBLEMS_RECURRENCE_WATCH_DAYS", DEFAULT_WATCH_DAYS))


@dataclass(frozen=True)
class Report:
    """A new report: what it is, its text and its service (if any)."""

    kind: str
    object_id: int
    text: str
    service_id: int | None = None


def watched(now: datetime | None = None) -> list[Problem]:
    now = now or timezone.now()
    return list(
        Problem.objects.filter(state=ProblemState.RESOLVED, watch_until__gt=now).prefetch_related(
            "services",
            Prefetch("incident_links", queryset=ProblemIncident.objects.select_related("incident")),
        )
    )


def problem_terms(problem: Problem) -> frozenset[str]:
    parts = [problem.title, problem.description, problem.root_cause, problem.workaround]
    parts += [link.incident.title for link in problem.incident_links.all()]
    return terms(" ".join(parts))


def score(report_terms: frozenset[str], known: frozenset[str]) -> tuple[float, int]:
    """(share of the report's terms the problem knows, how many)."""
    if not report_terms:
        return 0.0, 0
    shared = len(report_terms & known)
    return shared / len(report_terms), shared


def matches(report: Report, problems: list[Problem]) -> list[tuple[Problem, float]]:
    report_terms = terms(report.text)
    found = []
    for problem in problems:
        services = {s.pk for s in problem.services.all()}
        if report.service_id is not None and services and report.service_id not in services:
            continue
        value, shared = score(report_terms, problem_terms(problem))
        if shared >= MIN_SHARED and value >= MIN_SCORE:
            found.append((problem, value))
    return found


@transaction.atomic
def record_reports(reports: list[Report], now: datetime | None = None) -> list[ProblemRecurrence]:
    """Record the reports matching a watched problem; flag it and tell its owner (once per
    report: a report seen twice changes nothing)."""
    now = now or timezone.now()
    problems = watched(now)
    if not problems or not reports:
        return []
    recorded: list[ProblemRecurrence] = []
    notices: list[Notice] = []
    for report in reports:
        for problem, value in matches(report, problems):
            row, created = ProblemRecurrence.objects.get_or_create(
                problem=problem,
                kind=report.kind,
                object_id=report.object_id,
                defaults={
                    "text": " ".join(report.text.split())[:TEXT_MAX],
                    "score": round(value, 4),
                    "detected_at": now,
                },
            )
            if not created:
                continue
            recorded.append(row)
            locked = Problem.objects.select_for_update(of=("self",)).get(pk=problem.pk)
            if locked.recurrence_flagged_at is None:
                locked.recurrence_flagged_at = now
                actions.bump(locked, ["recurrence_flagged_at"], now)
            trail.record(
                actor=None,
                action="problem.recurrence",
                obj=locked,
                after={"kind": row.kind, "object_id": row.object_id, "score": row.score},
            )
            actions.publish(locked, "recurrence")
            owner = locked.owner or locked.created_by
            if owner is not None and owner.is_active:
                notices.append(
                    Notice(
                        recipient=owner,
                        kind="problem.recurrence",
                        title=f"{locked.number} reported again after the fix",
                        body=row.text,
                        url=f"/problems/{locked.pk}/",
                    )
                )
    do_send_notices(notices)
    return recorded
