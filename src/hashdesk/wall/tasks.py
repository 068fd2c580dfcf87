"""Background tasks of the wall, run by the huey consumer (``hashdesk worker``)."""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hashdesk.core.logging import get_logger
from hashdesk.wall.media import remove_unattached
from hashdesk.wall.reputation import VERIFY_BATCH, award_published, verify_due_awards

log = get_logger(__name__)


@db_periodic_task(crontab(minute="23"))
def verify_reputation() -> int:
    """Hourly: confirm or void reputation awards whose verification window has passed
    (docs/wall.md, "Answers and reputation"), a batch at a time until none is due."""
    now = timezone.now()
    decided = total = verify_due_awards(now)
    while decided == VERIFY_BATCH:
        decided = verify_due_awards(now)
        total += decided
    # Answers that became published articles or workarounds (already verified by publishing).
    total += award_published(now)
    if total:
        log.info("reputation awards decided", decided=total)
    return total


@db_periodic_task(crontab(minute="41"))
def remove_unattached_media() -> int:
    """Hourly: remove images uploaded for a post that never came (older than a day)."""
    removed = remove_unattached(timezone.now())
    if removed:
        log.info("unattached wall images removed", removed=removed)
    return removed
