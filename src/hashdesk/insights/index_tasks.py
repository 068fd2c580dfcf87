"""Background task of the similarity index, run by the huey consumer (``hashdesk worker``)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hashdesk.core.logging import get_logger
from hashdesk.insights import index

log = get_logger(__name__)


@db_periodic_task(crontab(minute="*"))
def catch_up_index() -> int:
    """Every minute: index what bulk paths wrote without a signal (docs/insights.md)."""
    counts = index.catch_up()
    total = sum(counts.values())
    if total:
        log.info("similarity index caught up", **counts)
    return total
