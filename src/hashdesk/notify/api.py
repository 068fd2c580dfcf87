"""In-app notification endpoints: my notifications, and marking them read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from pydantic import Field, computed_field, model_validator

from hashdesk.api.auth import acting_user
from hashdesk.api.pagination import Keyset, PageParams, paginate
from hashdesk.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    Input,
    ObjectId,
    Output,
    with_errors,
)
from hashdesk.core.visibility import visible_to
from hashdesk.notify.actions import do_mark_read, unread_count
from hashdesk.notify.models import Notification

router = Router(tags=["notifications"])

NOTIFICATION_ORDER = Keyset(("-created_at", "-id"))
MAX_IDS = 500


class NotificationOut(Output):
    id: int
    kind: str
    title: str
    body: str
    url: str
    created_at: datetime
    read_at: datetime | None = Field(exclude=True)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def read(self) -> bool:
        return self.read_at is not None


class NotificationPage(Output):
    items: list[NotificationOut]
    next_cursor: str | None


class NotificationFilters(PageParams):
    unread: bool | None = Field(None, description="true: only unread; false: only read.")


class MarkRead(Input):
    """Either ``ids`` (some notifications) or ``all: true`` (every unread one)."""

    ids: list[ObjectId] | None = Field(None, min_length=1, max_length=MAX_IDS)
    all: bool = False

    @model_validator(mode="after")
    def ids_or_all(self) -> MarkRead:
        if (self.ids is None) == (not self.all):
            raise ValueError("Send either 'ids' or 'all': true, not both and not neither.")
        return self


class MarkedRead(Output):
    marked: int = Field(description="How many notifications changed from unread to read.")
    unread_count: int


@router.get("notifications", response=with_errors({200: NotificationPage}, READ_ERRORS))
def list_notifications(
    request: HttpRequest, response: HttpResponse, filters: Query[NotificationFilters]
) -> dict[str, Any]:
    """My notifications, newest first."""
    notifications = visible_to(acting_user(request), Notification.objects.all())
    if filters.unread is not None:
        notifications = notifications.filter(read_at__isnull=filters.unread)
    return paginate(request, response, notifications, NOTIFICATION_ORDER, filters)


@router.post("notifications/read", response=with_errors({200: MarkedRead}, WRITE_ERRORS))
def mark_read(request: HttpRequest, payload: MarkRead) -> dict[str, int]:
    """Mark some or all of my notifications read."""
    user = acting_user(request)
    marked = do_mark_read(user, notification_ids=None if payload.all else payload.ids)
    return {"marked": marked, "unread_count": unread_count(user)}
