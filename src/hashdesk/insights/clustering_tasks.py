"""Periodic jobs of the recurring-pattern candidates and sentiment (docs/insights.md), run by the
huey consumer (``hashdesk worker``)."""

from __future__ import annotations

from typing import Any

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hashdesk.core.logging import get_logger
from hashdesk.insights.candidates import refresh_candidates
from hashdesk.insights.sentiment import aggregate_sentiment

log = get_logger(__name__)


@db_periodic_task(crontab(minute="23"))
def cluster_problem_candidates() -> dict[str, Any]:
    """Hourly: cluster the last weeks' reports into problem candidates."""
    return refresh_candidates()


@db_periodic_task(crontab(minute="41"))
def aggregate_service_sentiment() -> int:
    """Hourly: recompute the last 30 days of sentiment per service and day."""
    written = aggregate_sentiment(days=30)
    log.info("service sentiment aggregated", rows=written)
    return written
