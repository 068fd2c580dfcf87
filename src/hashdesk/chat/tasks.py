"""Background tasks of chat, run by the huey consumer (``hashdesk worker``)."""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hashdesk.chat.messages import remove_unattached
from hashdesk.core.logging import get_logger

log = get_logger(__name__)


@db_periodic_task(crontab(minute="47"))
def remove_unattached_chat_files() -> int:
    """Hourly: remove files uploaded for a message that was never sent (older than a day)."""
    removed = remove_unattached(timezone.now())
    if removed:
        log.info("unattached chat files removed", removed=removed)
    return removed
