"""The change pages that write: planning a change, editing and moving it, the CAB's decision,
the calendar and one's own iCal feed (docs/changes.md, "Pages").

Every write goes through ``changes.actions`` / ``changes.approvals`` / ``changes.feeds``; a
refused form re-renders with its errors (status 400, nothing changed), a done one redirects
(POST, redirect, GET).
"""

from __future__ import annotations

import calendar as gregorian
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hashdesk.catalog.models import Service
from hashdesk.changes import actions, approvals, calendar, feeds
from hashdesk.changes.forms import ChangeCreateForm, ChangeEditForm, DecisionForm, TransitionForm
from hashdesk.changes.models import Change
from hashdesk.changes.views import change_for, change_page
from hashdesk.core.errors import DomainError
from hashdesk.core.visibility import can_plan_changes, is_staff, visible_to
from hashdesk.web.requests import current_user


def _back_to(change: Change) -> HttpResponse:
    return redirect("changes:detail", number=change.number)


@login_required
@require_http_methods(["GET", "POST"])
def new_change(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    if not can_plan_changes(user):
        raise PermissionDenied("Only service desk staff plan changes.")
    form = ChangeCreateForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            change = actions.do_create_change(user, **form.action_arguments())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"{change.number} is recorded as a draft.")
            return _back_to(change)
    status = 400 if form.is_bound else 200
    return render(request, "changes/new.html", {"form": form}, status=status)


@login_required
@require_POST
def edit_change(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    if not is_staff(user):
        raise Http404("No such change.")
    change = change_for(user, number)
    form = ChangeEditForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.do_update_change(
                user,
                change,
                expected_version=data["version"],
                override_justification=data["override_justification"],
                summary=data["summary"],
                description=data["description"],
                planned_start=data["planned_start"],
                planned_end=data["planned_end"],
                time_zone=data["time_zone"],
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"{change.number} is saved.")
            return _back_to(change)
    return change_page(request, number, bound={"edit": form})


@login_required
@require_POST
def transition(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    if not is_staff(user):
        raise Http404("No such change.")
    change = change_for(user, number)
    form = TransitionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            moved = actions.do_transition(
                user,
                change,
                data["to_state"],
                expected_version=data["version"],
                notes=data["notes"],
                override_justification=data["override_justification"],
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"{moved.number} is {moved.get_state_display().lower()}.")
            return _back_to(moved)
    return change_page(request, number, bound={"transition": form})


@login_required
@require_POST
def decide(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    if not is_staff(user):
        raise Http404("No such change.")
    change = change_for(user, number)
    form = DecisionForm(request.POST)
    if form.is_valid():
        approve = form.cleaned_data["decision"] == "approve"
        try:
            approvals.do_decide(user, change, approve=approve, comment=form.cleaned_data["comment"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            verb = "approved" if approve else "rejected"
            messages.success(request, f"You {verb} {change.number}.")
            return _back_to(change)
    return change_page(request, number, bound={"decision": form})


# --- Calendar -----------------------------------------------------------------------------------


# Dates the calendar pages to; anything else (or a malformed date) shows today.
CALENDAR_YEARS = range(1970, 9000)


def _day(value: str | None, today: date) -> date:
    try:
        day = date.fromisoformat(value) if value else today
    except ValueError:
        return today
    return day if day.year in CALENDAR_YEARS else today


@login_required
@require_GET
def calendar_page(request: HttpRequest) -> HttpResponse:
    """A month grid or a week list of changes and windows, in UTC, for one service or all."""
    user = current_user(request)
    zone = ZoneInfo("UTC")
    today = datetime.now(zone).date()
    view = "week" if request.GET.get("view") == "week" else "month"
    day = _day(request.GET.get("date"), today)
    services = list(visible_to(user, Service.objects.filter(is_active=True)).order_by("name"))
    slug = request.GET.get("service") or ""
    service = next((s for s in services if s.slug == slug), None)
    if slug and service is None:
        raise Http404("No such service.")
    context: dict[str, Any] = {
        "view": view,
        "day": day,
        "services": services,
        "service": service,
        "is_staff": is_staff(user),
    }
    if view == "week":
        monday = day - timedelta(days=day.weekday())
        context["days"] = calendar.week(user, day, zone=zone, service=service)
        context["previous"], context["next"] = monday - timedelta(days=7), monday + timedelta(7)
    else:
        grid = calendar.month(user, day.year, day.month, zone=zone, service=service)
        first = date(day.year, day.month, 1)
        last = gregorian.monthrange(day.year, day.month)[1]
        context["month"] = grid
        context["first"] = first
        context["previous"] = first - timedelta(days=1)
        context["next"] = first + timedelta(days=last)
        context["days"] = [d for week in grid.weeks for d in week if d.in_range]
    return render(request, "changes/calendar.html", context)


# --- Personal feed ------------------------------------------------------------------------------


@login_required
@require_POST
@never_cache
def feed(request: HttpRequest) -> HttpResponse:
    """Create (or replace) one's "changes that affect me" feed, or revoke it. The secret URL
    is shown once, on the page this answers: it is never stored in clear."""
    user = current_user(request)
    if request.POST.get("action") == "revoke":
        try:
            feeds.do_revoke_feed(user)
        except DomainError as error:
            messages.warning(request, error.detail)
        else:
            messages.success(request, "Your calendar feed is revoked; its address is dead.")
        return redirect(reverse("changes:list"))
    secret = feeds.do_create_feed(user)
    return render(request, "changes/feed_created.html", {"url": feeds.feed_url(secret)})
