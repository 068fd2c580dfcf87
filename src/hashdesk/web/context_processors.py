"""Values every page of the web shell needs: navigation, the notifications menu, the event URL."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from hashdesk.core.visibility import is_signed_in, visible_to
from hashdesk.notify.models import Notification
from hashdesk.web.live import last_event_id
from hashdesk.web.navigation import ACCOUNT, NavLink, links_for

# How many notifications the bell menu lists; the rest are on the notifications page.
MENU_NOTIFICATIONS = 8


class Shell:
    """Per-request shell data, computed only when a template reads it (two queries for the bell)."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request
        self.signed_in = is_signed_in(getattr(request, "user", None))

    @cached_property
    def last_event_id(self) -> int | None:
        return last_event_id(self.request) if self.signed_in else None

    @cached_property
    def nav(self) -> list[NavLink]:
        return links_for(self.request)

    @cached_property
    def account_links(self) -> list[NavLink]:
        return links_for(self.request, ACCOUNT)

    def _notifications(self) -> Any:
        return visible_to(self.request.user, Notification.objects.all())

    @cached_property
    def unread_count(self) -> int:
        if not self.signed_in:
            return 0
        return int(self._notifications().filter(read_at__isnull=True).count())

    @cached_property
    def recent_notifications(self) -> list[Notification]:
        if not self.signed_in:
            return []
        return list(self._notifications()[:MENU_NOTIFICATIONS])


def shell(request: HttpRequest) -> dict[str, Any]:
    return {"events_url": settings.EVENTS_PUBLIC_URL, "shell": Shell(request)}
