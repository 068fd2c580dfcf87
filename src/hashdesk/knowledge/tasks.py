"""Background tasks of knowledge articles, run by the huey consumer (``hashdesk worker``)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hashdesk.core.logging import get_logger
from hashdesk.knowledge.workflow import notify_due_reviews

log = get_logger(__name__)


@db_periodic_task(crontab(hour="6", minute="15"))
def notify_articles_due_for_review() -> int:
    """Daily: tell owners about their published articles past the review date (once per date;
    docs/knowledge.md, "Review dates")."""
    notified = notify_due_reviews()
    if notified:
        log.info("articles due for review notified", articles=notified)
    return notified
