"""Where other apps tell problem management of new reports (docs/problems.md, "Offering").

Each hook is called inside the report's own action and only registers work to run after that
transaction commits (a huey task: the ``offering`` functions), so posting or reporting is not
slowed by the matching; a report whose transaction rolls back is never answered.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import transaction

from hashdesk.core.logging import get_logger

log = get_logger(__name__)

if TYPE_CHECKING:
    from hashdesk.accounts.models import User
    from hashdesk.incidents.models import Incident
    from hashdesk.problems.matching import KnownErrorMatch
    from hashdesk.wall.models import Post


def post_created(post: Post) -> None:
    """wall.actions.do_post: a new top-level post may be answered with a workaround."""
    if post.reply_to_id is not None:
        return
    from hashdesk.problems import tasks

    post_id = post.pk
    transaction.on_commit(lambda: tasks.answer_post(post_id), robust=True)


def incidents_created(incidents: Sequence[Incident]) -> None:
    """incidents.intake: new incidents may be offered a workaround and may be recurrences."""
    ids = [incident.pk for incident in incidents]
    if not ids:
        return
    from hashdesk.problems import tasks

    transaction.on_commit(lambda: tasks.offer_to_incidents(ids), robust=True)


def help_started(
    requester: User, *, message_id: int | None, text: str, service_id: int | None
) -> KnownErrorMatch | None:
    """chat help start: the known error to show the requester now (a read), and the question
    checked for recurrence after commit."""
    from hashdesk.problems import offering, tasks

    if message_id is not None:
        transaction.on_commit(lambda: tasks.watch_chat(message_id, text, service_id), robust=True)
    try:
        return offering.offer_to_help(requester, text, service_id)
    except Exception:  # an offer must never break opening a conversation, but it is logged
        log.exception("known-error offer failed on a live-help start")
        return None
