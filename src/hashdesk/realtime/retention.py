"""Forgetting old events: the log is kept ``HASHDESK_EVENT_RETENTION_HOURS`` for resuming clients.

Pruning always deletes a prefix of the log, by id: everything up to the newest event older than
the cut-off. Deleting by ``created_at`` alone could leave holes, because timestamps come from the
producing processes' clocks and need not follow commit order; a hole inside the retained range
would let a resuming client miss an event without noticing. With a prefix, "is the client's
``last_event_id`` older than the oldest retained event?" is the whole expiry test
(hashdesk.realtime.feed.missed_events).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from hashdesk.core.models import Event

logger = logging.getLogger(__name__)

# Rows per DELETE, so a large backlog never holds SQLite's write lock for long.
PRUNE_BATCH = 5_000


def prune_events(*, now: datetime | None = None, batch_size: int = PRUNE_BATCH) -> int:
    """Delete events older than the retention period; returns how many were deleted."""
    cutoff = (now or timezone.now()) - timedelta(hours=settings.EVENT_RETENTION_HOURS)
    boundary = Event.objects.filter(created_at__lt=cutoff).aggregate(last=Max("id"))["last"]
    if boundary is None:
        return 0
    deleted = 0
    while True:
        first = Event.objects.order_by("id").values_list("id", flat=True).first()
        if first is None or first > boundary:
            break
        upper = min(boundary, first + batch_size - 1)
        count, _ = Event.objects.filter(id__lte=upper).delete()
        deleted += count
    if deleted:
        logger.info("pruned %s events up to id %s", deleted, boundary)
    return deleted
