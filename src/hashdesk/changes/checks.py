"""After the change: "did this break anything for you?" (docs/changes.md, "After the change").

The completion notice (changes.announcements, moment ``done``) asks everyone the change
concerns; for ``CHECK_WINDOW`` after the change ended, each person who may see it answers once.
A "broken" answer tells the change's owner (or its requester) at once; it is kept with the
change for the review, where it may later be linked to an incident (``ChangeCheck.incident``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.changes.announcements import change_url
from hashdesk.changes.models import Change, ChangeCheck
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.visibility import can_view, is_signed_in
from hashdesk.notify.actions import do_notify

CHECK_WINDOW = timedelta(hours=24)
COMMENT_MAX = 2_000


def is_open(change: Change, now: datetime) -> bool:
    """Whether people may still answer: the change ended less than ``CHECK_WINDOW`` ago."""
    return change.actual_end is not None and change.actual_end <= now < (
        change.actual_end + CHECK_WINDOW
    )


@transaction.atomic
def do_answer_check(
    actor: User | None,
    change: Change,
    *,
    broken: bool,
    comment: str = "",
    now: datetime | None = None,
) -> ChangeCheck:
    """Record ``actor``'s answer about ``change``: once per person, within the window."""
    if actor is None or not is_signed_in(actor):
        raise Forbidden("Sign in to answer.")
    if not can_view(actor, change):
        raise NotFound("No such change.")
    now = now or timezone.now()
    if not is_open(change, now):
        raise Conflict(
            "This change is not asking for answers: they are taken for "
            f"{int(CHECK_WINDOW.total_seconds() // 3600)} hours after it ends."
        )
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ValidationFailed(f"A comment has at most {COMMENT_MAX} characters.", field="comment")
    if ChangeCheck.objects.filter(change=change, user=actor).exists():
        raise Conflict("You already answered for this change.")
    try:
        with transaction.atomic():
            check = ChangeCheck.objects.create(
                change=change, user=actor, broken=broken, comment=comment, created_at=now
            )
    except IntegrityError as exc:  # a second answer racing the first
        raise Conflict("You already answered for this change.") from exc
    trail.record(
        actor=actor,
        action="changes.check",
        obj=change,
        after={"check_id": check.pk, "broken": broken},
    )
    if broken:
        _tell_owner(change, actor, comment)
    return check


def _tell_owner(change: Change, person: User, comment: str) -> None:
    owner = change.owner or change.requester
    label = change.number or change.summary
    body = f"{person.display_name} says {label} broke something for them."
    if comment:
        body += f"\n\n{comment}"
    do_notify(
        owner,
        kind="change.check_broken",
        title=f"Reported broken after {label}",
        body=body,
        url=change_url(change),
    )


def check_counts(change: Change) -> dict[str, int]:
    """How many answered, and how many of them said it broke something (for the review)."""
    counts = ChangeCheck.objects.filter(change=change).aggregate(
        answers=Count("pk"), broken=Count("pk", filter=Q(broken=True))
    )
    return {"answers": counts["answers"] or 0, "broken": counts["broken"] or 0}
