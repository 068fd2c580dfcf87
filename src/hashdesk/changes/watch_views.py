"""The "Watch this change" button of a change's page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from hashdesk.changes.views import change_for
from hashdesk.changes.watching import do_unwatch_change, do_watch_change
from hashdesk.core.errors import DomainError
from hashdesk.web.requests import current_user, safe_next


@login_required
@require_POST
def watch(request: HttpRequest, number: str) -> HttpResponse:
    """Watch (``watch=1``) or stop watching (``watch=0``) the change."""
    user = current_user(request)
    change = change_for(user, number)
    try:
        if request.POST.get("watch") == "0":
            do_unwatch_change(user, change)
            messages.success(request, f"You no longer watch {change.number}.")
        else:
            do_watch_change(user, change)
            messages.success(
                request, f"You watch {change.number}: you will hear of each announcement."
            )
    except DomainError as error:
        messages.info(request, error.detail)
    back = safe_next(request, request.POST.get("next"))
    return redirect(back) if back else redirect("changes:detail", number=change.number)
