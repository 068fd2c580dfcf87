"""Background tasks of problem management, run by the huey consumer (``hashdesk worker``).

Tiny wrappers: the work is in ``offering`` and ``recurrence``, callable by hand and in tests.
"""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from hashdesk.core.logging import get_logger
from hashdesk.problems import offering

log = get_logger(__name__)


@db_task()
def answer_post(post_id: int) -> int | None:
    """After a new wall post commits: answer it with a matching known error's workaround."""
    reply = offering.answer_post(post_id)
    if reply is not None:
        log.info("post answered with a known error", post=post_id, reply=reply)
    return reply


@db_task()
def offer_to_incidents(incident_ids: list[int]) -> int:
    """After new incidents commit: offer matching known errors; watch for recurrence."""
    return offering.offer_to_incidents(incident_ids)


@db_task()
def watch_chat(message_id: int, text: str, service_id: int | None) -> None:
    """After a live-help question commits: watch for recurrence of fixed problems."""
    offering.watch_chat(message_id, text, service_id)
