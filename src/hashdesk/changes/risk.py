"""The risk of a change: a short questionnaire, what it touches and how changes there went
(docs/changes.md, "Risk").

score = questionnaire points (0 to 70)
      + affected services: 2 x the sum of their criticality weights (low 1 … critical 4), at most 30
      + history: 10 per failed or backed-out change on any of them in the last 180 days, at most 30

A score under ``MEDIUM_FROM`` is low, under ``HIGH_FROM`` medium, otherwise high. An unanswered
question counts as its risky answer: a change nobody assessed is not a safe change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone

from hashdesk.catalog.choices import CRITICALITY_WEIGHT, Criticality
from hashdesk.catalog.models import Service
from hashdesk.changes.choices import ChangeState, Risk
from hashdesk.changes.models import AffectedService
from hashdesk.core.errors import ValidationFailed


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    # The answer that adds ``points``: "no" to "tested?", "yes" to "outage expected?".
    risky_answer: bool
    points: int


QUESTIONS = (
    Question("tested_in_staging", "Was the change tested in a staging environment?", False, 15),
    Question("backout_tested", "Has the back-out plan been tested?", False, 15),
    Question("outage_expected", "Is an outage of a service expected while it is done?", True, 20),
    Question("done_before", "Has this change been done successfully before?", False, 10),
    Question("users_must_act", "Must users do something (sign in again, update an app)?", True, 10),
)
QUESTION_KEYS = frozenset(q.key for q in QUESTIONS)

SERVICE_POINTS_PER_WEIGHT = 2
SERVICE_POINTS_MAX = 30
FAILURE_POINTS = 10
FAILURE_POINTS_MAX = 30
HISTORY_DAYS = 180
MEDIUM_FROM = 30
HIGH_FROM = 60

FAILED_STATES = (ChangeState.FAILED, ChangeState.BACKED_OUT)
# Order of the risk levels, for "at least medium".
RISK_RANK = {Risk.LOW: 0, Risk.MEDIUM: 1, Risk.HIGH: 2}


@dataclass(frozen=True)
class Assessment:
    score: int
    risk: Risk
    # What the score is made of: {"questions": 35, "services": 14, "history": 10}.
    parts: dict[str, int]


def check_answers(answers: Any) -> dict[str, bool]:
    """The questionnaire's answers, checked: known keys, yes/no values."""
    if not isinstance(answers, Mapping):
        raise ValidationFailed(
            "Risk answers are a map of question to yes/no.", field="risk_answers"
        )
    unknown = sorted(set(answers) - QUESTION_KEYS)
    if unknown:
        raise ValidationFailed(
            f"Unknown risk question {unknown[0]!r}; the questions are: "
            + ", ".join(sorted(QUESTION_KEYS))
            + ".",
            field="risk_answers",
        )
    for key, value in answers.items():
        if not isinstance(value, bool):
            raise ValidationFailed(
                f"The answer to {key!r} must be yes or no (true or false).", field="risk_answers"
            )
    return dict(answers)


def level(score: int) -> Risk:
    if score >= HIGH_FROM:
        return Risk.HIGH
    if score >= MEDIUM_FROM:
        return Risk.MEDIUM
    return Risk.LOW


def questionnaire_points(answers: Mapping[str, bool]) -> int:
    return sum(q.points for q in QUESTIONS if answers.get(q.key, q.risky_answer) == q.risky_answer)


def assess(
    answers: Mapping[str, bool], service_ids: Iterable[int], *, change_id: int | None = None
) -> Assessment:
    """The risk of a change with these answers affecting these services (two queries)."""
    ids = sorted(set(service_ids))
    weights = Service.objects.filter(pk__in=ids).values_list("criticality", flat=True)
    service_points = min(
        SERVICE_POINTS_MAX,
        SERVICE_POINTS_PER_WEIGHT * sum(CRITICALITY_WEIGHT[Criticality(c)] for c in weights),
    )
    since = timezone.now() - timedelta(days=HISTORY_DAYS)
    failures = (
        AffectedService.objects.filter(service_id__in=ids, change__state__in=FAILED_STATES)
        .filter(
            Q(change__actual_end__gte=since)
            | Q(change__actual_end__isnull=True, change__updated_at__gte=since)
        )
        .exclude(change_id=change_id or 0)
        .values("change_id")
        .distinct()
        .count()
        if ids
        else 0
    )
    parts = {
        "questions": questionnaire_points(answers),
        "services": service_points,
        "history": min(FAILURE_POINTS_MAX, FAILURE_POINTS * failures),
    }
    score = sum(parts.values())
    return Assessment(score=score, risk=level(score), parts=parts)


def at_least(risk: str, minimum: str) -> bool:
    return RISK_RANK[Risk(risk)] >= RISK_RANK[Risk(minimum)]
