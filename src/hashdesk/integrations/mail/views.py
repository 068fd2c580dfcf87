"""The inbound mail log: what arrived by mail and what became of it (administrators only)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hashdesk.core.visibility import is_administrator
from hashdesk.integrations.mail.choices import InboundStatus
from hashdesk.integrations.mail.models import InboundMessage
from hashdesk.web.requests import current_user

PAGE_SIZE = 50


@login_required
@require_GET
def inbound_log(request: HttpRequest) -> HttpResponse:
    if not is_administrator(current_user(request)):
        raise PermissionDenied("Only administrators see the inbound mail log.")
    status = request.GET.get("status", "")
    rows = InboundMessage.objects.select_related("incident", "author").order_by("-id")
    if status in InboundStatus.values:
        rows = rows.filter(status=status)
    before = request.GET.get("before", "")
    if before.isdigit():
        rows = rows.filter(id__lt=int(before))
    page = list(rows[: PAGE_SIZE + 1])
    older = page[PAGE_SIZE - 1].pk if len(page) > PAGE_SIZE else None
    return render(
        request,
        "mail/inbound_log.html",
        {
            "rows": page[:PAGE_SIZE],
            "status": status,
            "statuses": InboundStatus.choices,
            "older": older,
        },
    )
