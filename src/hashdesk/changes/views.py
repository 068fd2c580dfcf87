"""Change pages: the list of changes one may see and a change's own page (docs/changes.md,
"Pages"). The forms that plan, move and approve a change are posted to ``plan_views``; a
refused one comes back here, bound, with status 400.

What a page lists comes from ``core.visibility``: requesters see scheduled and later changes
on services they may see; staff see every change, its approvals and what it may conflict with.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from hashdesk.accounts.models import User
from hashdesk.changes import approvals, checks, conflicts, correlation
from hashdesk.changes import forms as change_forms
from hashdesk.changes.choices import ChangeState
from hashdesk.changes.models import Approval, CalendarFeed, Change, ChangeCheck
from hashdesk.changes.watching import is_watching
from hashdesk.core.errors import DomainError
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.web.forms import ShellForm, raise_if_forbidden
from hashdesk.web.requests import current_user

LIST_MAX = 100
# Still to come or under way, in the order they happen.
UPCOMING = (
    ChangeState.SCHEDULED,
    ChangeState.IMPLEMENTING,
    ChangeState.AUTHORISE,
    ChangeState.ASSESS,
    ChangeState.DRAFT,
)


@login_required
@require_GET
def change_list(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    changes = visible_to(user, Change.objects.select_related("owner"))
    upcoming = list(changes.filter(state__in=UPCOMING).order_by("planned_start", "pk")[:LIST_MAX])
    recent = list(changes.exclude(state__in=UPCOMING).order_by("-planned_start", "-pk")[:LIST_MAX])
    return render(
        request,
        "changes/list.html",
        {
            "upcoming": upcoming,
            "recent": recent,
            "is_staff": is_staff(user),
            "has_feed": CalendarFeed.objects.filter(user=user).exists(),
        },
    )


def _local(change: Change) -> dict[str, Any]:
    """Planned times in the zone the change was planned in, for people reading the page."""
    zone = ZoneInfo(change.time_zone)
    return {
        "zone": change.time_zone,
        "start": change.planned_start.astimezone(zone) if change.planned_start else None,
        "end": change.planned_end.astimezone(zone) if change.planned_end else None,
    }


def change_for(user: User, number: str) -> Change:
    """The change numbered ``number`` if ``user`` may see it; 404 otherwise."""
    change = (
        visible_to(user, Change.objects.select_related("owner", "requester", "template"))
        .filter(number=number.upper())
        .first()
    )
    if change is None:
        raise Http404("No such change.")
    return change


@login_required
@require_GET
def change_detail(request: HttpRequest, number: str) -> HttpResponse:
    return change_page(request, number)


def change_page(
    request: HttpRequest, number: str, *, bound: dict[str, ShellForm] | None = None
) -> HttpResponse:
    """The change's page; ``bound`` holds a refused form (shown with its errors, status 400)."""
    user = current_user(request)
    change = change_for(user, number)
    affected = list(change.affected.select_related("service").order_by("distance", "service__name"))
    context: dict[str, Any] = {
        "change": change,
        "local": _local(change),
        # Everyone who sees the change sees all its services (changes.visibility).
        "affected": affected,
        "is_staff": is_staff(user),
        "checks": checks.check_counts(change),
        "watching": is_watching(user, change),
        "now": timezone.now(),
        # "Did this break anything for you?", for 24 hours after the change, once a person.
        "check_form": (bound.get("check") if bound and "check" in bound else CheckForm())
        if checks.is_open(change, timezone.now())
        and not ChangeCheck.objects.filter(change=change, user_id=user.pk).exists()
        else None,
    }
    if is_staff(user):
        context["approvals"] = list(
            Approval.objects.filter(change=change).select_related("group", "approver")
        )
        context["quorum"] = approvals.quorum_status(change)
        context["conflicts"] = (
            conflicts.find_conflicts(change)
            if change.state in (ChangeState.ASSESS, ChangeState.AUTHORISE, ChangeState.SCHEDULED)
            and change.planned_start
            else []
        )
        context["correlations"] = correlation.links_of(change)
        context.update(change_forms.forms_for(user, change, context["approvals"], bound or {}))
    return render(request, "changes/detail.html", context, status=400 if bound else 200)


class CheckForm(ShellForm):
    """An affected person's answer after the change."""

    broken = forms.TypedChoiceField(
        label="Did this change break anything for you?",
        choices=[("no", "No, everything works"), ("yes", "Yes, something broke")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label="What broke? (optional)",
        required=False,
        max_length=checks.COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@login_required
@require_POST
def answer_check(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    change = change_for(user, number)
    form = CheckForm(request.POST)
    if form.is_valid():
        try:
            checks.do_answer_check(
                user,
                change,
                broken=form.cleaned_data["broken"],
                comment=form.cleaned_data["comment"],
            )
        except DomainError as error:
            raise_if_forbidden(error)
            form.add_domain_error(error)
        else:
            messages.success(
                request,
                "Thank you. The change's owner has been told."
                if form.cleaned_data["broken"]
                else "Thank you for telling us.",
            )
            return redirect(reverse("changes:detail", args=[change.number]))
    return change_page(request, number, bound={"check": form})
