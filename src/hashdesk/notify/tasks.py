"""Periodic notification tasks: digests and notifications held through quiet hours."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hashdesk.notify import digests


@db_periodic_task(crontab(minute="*/5"))
def send_digests() -> int:
    """Every five minutes: one message per person and channel for what is due."""
    return digests.send_due_digests()
