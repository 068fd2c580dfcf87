"""The notifications page and the bell menu's fragment; marking read goes through notify.actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from hashdesk.core.visibility import visible_to
from hashdesk.notify.actions import do_mark_read, unread_count
from hashdesk.notify.models import Notification
from hashdesk.web.context_processors import MENU_NOTIFICATIONS
from hashdesk.web.live import live_page
from hashdesk.web.requests import current_user, safe_next

PAGE_SIZE = 50


@login_required
@require_GET
@live_page
def notification_list(request: HttpRequest) -> HttpResponse:
    notifications = visible_to(request.user, Notification.objects.all())
    unread_only = request.GET.get("unread") == "1"
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notify/list.html",
        {
            "page": page,
            "unread": unread_count(current_user(request)),
            "unread_only": unread_only,
            "query_string": "unread=1" if unread_only else "",
        },
    )


@login_required
@require_GET
@never_cache
def menu_fragment(request: HttpRequest) -> HttpResponse:
    """The bell menu's content, fetched by notifications.js after the event stream was reset."""
    notifications = visible_to(request.user, Notification.objects.all())
    return render(
        request,
        "notify/menu.html",
        {
            "notifications": list(notifications[:MENU_NOTIFICATIONS]),
            "unread_count": unread_count(current_user(request)),
        },
    )


def _ids(request: HttpRequest) -> list[int] | None:
    """The notification ids posted, or None for "all of them" when none were posted."""
    raw = request.POST.getlist("notification")
    if not raw:
        return None
    return [int(value) for value in raw if value.isdigit()]


@login_required
@require_POST
def mark_read(request: HttpRequest) -> HttpResponse:
    ids = _ids(request)
    changed = do_mark_read(current_user(request), notification_ids=ids)
    if ids is None:
        messages.success(request, "All notifications are marked read.")
    elif changed:
        messages.success(request, "Marked read.")
    return redirect(safe_next(request, request.POST.get("next")) or "notify:list")
