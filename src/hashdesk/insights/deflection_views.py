"""Deflection pages (docs/insights.md, "Deflection").

- ``POST /insights/deflection/solved/``: "This solved it" from the suggestion panel
  (insights/similar.js sends it; a plain form post works too). Records the deflection — no
  ticket — and answers JSON for scripts, or redirects back with a message.
- ``GET /insights/deflection/``: the staff report, deflection rate per service and per article
  over a date range, with small inline bars; ``GET /insights/deflection/export.csv`` the same
  as CSV. Anyone else gets 404.
"""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from hashdesk.core.errors import DomainError, NotFound, ValidationFailed
from hashdesk.core.visibility import is_staff
from hashdesk.insights import deflection, similar_views
from hashdesk.insights.choices import DeflectionContext
from hashdesk.web.requests import current_user

THANKS = "Glad that helped. Nothing was filed, and the form is cleared."
BAR_WIDTH = 120


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_POST
def solved(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    service = similar_views.service_from(user, request.POST.get("service", ""))
    raw_id = request.POST.get("id", "")
    try:
        if not raw_id.isdigit():
            raise ValidationFailed("Which suggestion solved it?", field="id")
        recorded = deflection.do_record_deflection(
            user,
            context=request.POST.get("context", ""),
            kind=request.POST.get("kind", ""),
            object_id=int(raw_id),
            service=service,
            text=request.POST.get("text", "")[:5000],
        )
    except DomainError as error:
        if _wants_json(request):
            status = 404 if isinstance(error, NotFound) else 422
            return JsonResponse({"detail": error.detail}, status=status)
        messages.error(request, error.detail)
        return redirect(_back(request))
    if _wants_json(request):
        return JsonResponse(
            {"recorded": True, "created": recorded.created, "message": THANKS},
            status=201 if recorded.created else 200,
        )
    messages.success(request, THANKS)
    return redirect(_back(request))


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/"


def _report(request: HttpRequest) -> tuple[deflection.Report, str]:
    user = current_user(request)
    if not is_staff(user):
        raise Http404("No such page.")
    error = ""
    try:
        start, end = deflection.report_range(request.GET.get("start"), request.GET.get("end"))
    except DomainError as failure:
        error = failure.detail
        start, end = deflection.report_range(None, None)
    return deflection.deflection_report(user, start, end), error


def _bars(rows: list[deflection.Row]) -> list[dict[str, Any]]:
    top = max([row.percent or 0.0 for row in rows] + [1.0])
    return [{"row": row, "width": round(BAR_WIDTH * (row.percent or 0.0) / top, 1)} for row in rows]


@login_required
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    found, error = _report(request)
    return render(
        request,
        "insights/deflection.html",
        {
            "report": found,
            "services": _bars(found.services),
            "articles": _bars(found.articles),
            "error": error,
            "bar_width": BAR_WIDTH,
            "contexts": DeflectionContext.choices,
            "section": "deflection",
        },
        status=422 if error else 200,
    )


@login_required
@require_GET
def report_csv(request: HttpRequest) -> HttpResponse:
    found, _error = _report(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="deflection-{found.start}-{found.end}.csv"'
    )
    writer = csv.writer(response)
    writer.writerow(
        [
            "scope",
            "id",
            "name",
            "sessions_with_suggestions",
            "deflections",
            "pending",
            "not_confirmed",
            "rate",
        ]
    )
    for scope, rows in (("service", found.services), ("article", found.articles)):
        for row in rows:
            writer.writerow(
                [
                    scope,
                    row.key,
                    row.label,
                    row.sessions,
                    row.deflections,
                    row.pending,
                    row.not_confirmed,
                    "" if row.rate is None else f"{row.rate:.4f}",
                ]
            )
    return response


urlpatterns: list[URLPattern] = [
    path("deflection/", report, name="deflection"),
    path("deflection/export.csv", report_csv, name="deflection_csv"),
    path("deflection/solved/", solved, name="deflection_solved"),
]
