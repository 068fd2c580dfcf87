"""Background tasks of change management, run by the huey consumer (``hashdesk worker``)."""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hashdesk.changes.announcements import send_due
from hashdesk.changes.correlation import refresh_correlations
from hashdesk.core.logging import get_logger

log = get_logger(__name__)


@db_periodic_task(crontab())
def send_due_change_announcements() -> int:
    """Every minute: send the change notices that are due (3 days and 1 hour before, at the
    planned start; docs/changes.md, "Communication")."""
    sent = send_due(timezone.now())
    if sent:
        log.info("change announcements sent", sent=sent)
    return sent


@db_periodic_task(crontab(minute="7"))
def refresh_change_correlations() -> int:
    """Hourly: rescore the incidents of changes whose 48-hour window is open or just closed
    (docs/changes.md, "Correlation with incidents")."""
    scored = refresh_correlations(timezone.now())
    if scored:
        log.info("change correlations refreshed", changes=scored)
    return scored
