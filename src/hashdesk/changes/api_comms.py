"""Calendar feed and "did this break anything?" endpoints of changes (docs/api.md, "Changes:
feeds and checks"). Each calls the action the pages call (changes.feeds, changes.checks)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Status
from pydantic import Field

from hashdesk.api.auth import acting_user
from hashdesk.api.schemas import WRITE_ERRORS, Input, Output, with_errors
from hashdesk.changes import checks, feeds
from hashdesk.changes.models import Change, ChangeCheck
from hashdesk.core.errors import NotFound
from hashdesk.core.visibility import Viewer, visible_to

router = Router(tags=["changes"])


class FeedOut(Output):
    url: str = Field(description="The feed's address; shown this once, keep it secret.")


class CheckIn(Input):
    broken: bool
    comment: str = Field("", max_length=checks.COMMENT_MAX)


class CheckOut(Output):
    id: int
    change: str = Field(description="The change's number.")
    broken: bool
    comment: str
    created_at: datetime


def _change(viewer: Viewer, number: str) -> Change:
    found = visible_to(viewer, Change.objects.filter(number=number.upper())).first()
    if found is None:
        raise NotFound("No such change.")
    return found


def _check_out(check: ChangeCheck, change: Change) -> CheckOut:
    return CheckOut(
        id=check.pk,
        change=change.number or "",
        broken=check.broken,
        comment=check.comment,
        created_at=check.created_at,
    )


@router.post("changes/feed", response=with_errors({201: FeedOut}, WRITE_ERRORS))
def create_change_feed(request: HttpRequest) -> Status[FeedOut]:
    """A new secret address of your "changes that affect me" calendar (iCalendar). Shown once;
    an earlier address stops working."""
    secret = feeds.do_create_feed(acting_user(request))
    return Status(201, FeedOut(url=feeds.feed_url(secret)))


@router.delete("changes/feed", response=with_errors({204: None}, WRITE_ERRORS))
def revoke_change_feed(request: HttpRequest) -> Status[None]:
    """Stop your calendar feed: its address answers 404 from now on; 404 if you have none."""
    feeds.do_revoke_feed(acting_user(request))
    return Status(204, None)


@router.post(
    "changes/{number}/checks",
    response=with_errors({201: CheckOut}, WRITE_ERRORS),
)
def answer_change_check(request: HttpRequest, number: str, payload: CheckIn) -> Status[CheckOut]:
    """Say whether a completed change broke anything for you: once, within 24 hours of its end
    (409 otherwise). A "broken" answer notifies the change's owner."""
    user = acting_user(request)
    change = _change(user, number)
    check = checks.do_answer_check(user, change, broken=payload.broken, comment=payload.comment)
    return Status(201, _check_out(check, change))
