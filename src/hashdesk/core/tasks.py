"""Background tasks of the core: outbox delivery, event-log retention and rate counters.

The huey consumer (``hashdesk worker``) runs them; web processes only enqueue. Tasks are tiny:
they call a function that does the work, so the same work can be run by hand or in a test.
"""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from hashdesk.core import outbox
from hashdesk.core.logging import get_logger

log = get_logger(__name__)


@db_task()
def deliver_outbox() -> int:
    """Woken after a transaction that wrote outbox rows commits; delivers everything due."""
    return outbox.deliver_all_due().attempted


@db_periodic_task(crontab(minute="*"))
def sweep_outbox() -> int:
    """Every minute: retries whose back-off has passed, and rows whose wake-up was lost."""
    return outbox.deliver_all_due().attempted


@db_periodic_task(crontab(minute="17"))
def prune_events() -> int:
    """Hourly: drop events older than the retention period (clients resume within it)."""
    from hashdesk.realtime.retention import prune_events as prune

    removed = prune()
    log.info("pruned events", removed=removed)
    return removed


@db_periodic_task(crontab(minute="29"))
def prune_rate_counters() -> int:
    """Hourly: forget the rate-limit counters of windows that are over (embedded mode)."""
    from hashdesk.core.ratelimit import prune_expired

    return prune_expired()
