"""The signed-in landing page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from hashdesk.accounts.models import TeamMembership
from hashdesk.catalog.choices import Criticality
from hashdesk.catalog.models import Service
from hashdesk.core.visibility import visible_to
from hashdesk.web.live import live_page
from hashdesk.web.requests import current_user


@login_required
@require_GET
@live_page
def home(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    services = visible_to(user, Service.objects.filter(is_active=True))
    memberships = list(
        TeamMembership.objects.filter(user=user).select_related("team").order_by("team__name")
    )
    team_ids = [membership.team_id for membership in memberships]
    by_category = (
        services.values("category__name", "category__slug")
        .annotate(count=Count("id"))
        .order_by("category__position", "category__name")
    )
    context = {
        "memberships": memberships,
        "team_services": list(
            services.filter(owner_team_id__in=team_ids).select_related("owner_team", "category")
        ),
        "by_category": list(by_category),
        "service_count": services.count(),
        "critical_services": list(
            services.filter(criticality=Criticality.CRITICAL).select_related("owner_team")
        ),
    }
    return render(request, "web/home.html", context)
