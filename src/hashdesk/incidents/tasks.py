"""Background tasks of incidents, run by the huey consumer (``hashdesk worker``)."""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hashdesk.core.logging import get_logger
from hashdesk.incidents.actions import close_resolved_incidents
from hashdesk.incidents.major import remind_due_updates
from hashdesk.incidents.sla import refresh_sla_clocks

log = get_logger(__name__)


@db_periodic_task(crontab(minute="*"))
def check_sla_clocks() -> int:
    """Every minute: announce SLA warnings and breaches whose time has come."""
    announced = refresh_sla_clocks(timezone.now())
    if announced:
        log.info("sla clocks announced", announced=announced)
    return announced


@db_periodic_task(crontab(minute="17"))
def close_resolved() -> int:
    """Hourly: close incidents resolved more than ``INCIDENT_AUTO_CLOSE_DAYS`` ago."""
    closed = close_resolved_incidents(timezone.now())
    if closed:
        log.info("resolved incidents closed", closed=closed)
    return closed


@db_periodic_task(crontab(minute="*"))
def remind_major_updates() -> int:
    """Every minute: remind commanders whose major incident's official update is due."""
    reminded = remind_due_updates(timezone.now())
    if reminded:
        log.info("major incident commanders reminded", reminded=reminded)
    return reminded
