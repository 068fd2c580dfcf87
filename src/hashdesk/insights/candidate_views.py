"""Pages of the problem candidates and of sentiment per service (docs/insights.md).

Staff only (a requester gets 404). Candidates are ranked by impact with their evidence; a
candidate's page shows its representative reports and every report it groups — each text read
through ``core.visibility``, so a confidential incident's words never reach someone not
entitled to them. Accept creates the problem and opens its page; dismiss asks for a reason.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.core.errors import DomainError
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.insights import candidates as actions
from hashdesk.insights.choices import CandidateState, ItemKind
from hashdesk.insights.models import CandidateItem, ProblemCandidate, SentimentDaily
from hashdesk.web.forms import ShellForm, raise_if_forbidden
from hashdesk.web.requests import current_user

PAGE_SIZE = 25
ITEMS_MAX = 200
SNIPPET = 280
SENTIMENT_DAYS = 30
SENTIMENT_DAYS_MAX = 365


def _staff(request: HttpRequest) -> User:
    user = current_user(request)
    if not is_staff(user):
        raise Http404("No such page.")
    return user


# --- Small inline charts ------------------------------------------------------------------------


def sparkline(
    values: list[int] | list[float], *, width: int = 120, height: int = 28
) -> dict[str, Any]:
    """Points of a polyline for ``values`` scaled into a ``width`` x ``height`` box."""
    count = len(values)
    if not count:
        return {"points": "", "width": width, "height": height, "dots": []}
    top = max(max(values), 1)
    step = width / max(count - 1, 1)
    dots = []
    for index, value in enumerate(values):
        x = round(index * step, 1)
        y = round(height - 2 - (value / top) * (height - 4), 1)
        dots.append({"x": x, "y": y, "value": value})
    return {
        "points": " ".join(f"{d['x']},{d['y']}" for d in dots),
        "width": width,
        "height": height,
        "dots": dots,
    }


def _score_line(
    values: list[float | None], *, width: int = 240, height: int = 48
) -> dict[str, Any]:
    """A sentiment line from -1 (bottom) to 1 (top); days without texts are gaps."""
    count = len(values)
    step = width / max(count - 1, 1)
    segments: list[list[str]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            if segments[-1]:
                segments.append([])
            continue
        x = round(index * step, 1)
        y = round((1 - (value + 1) / 2) * (height - 4) + 2, 1)
        segments[-1].append(f"{x},{y}")
    return {
        "segments": [" ".join(points) for points in segments if points],
        "width": width,
        "height": height,
        "zero": height / 2,
    }


# --- Candidates ---------------------------------------------------------------------------------


class DismissForm(ShellForm):
    reason = forms.CharField(
        label="Why is this not a problem?",
        max_length=actions.REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="It is proposed again only if it grows to twice its present size.",
    )


def _decorate(candidate: ProblemCandidate) -> ProblemCandidate:
    evidence = candidate.evidence or {}
    candidate.spark = sparkline(list(evidence.get("trend", [])))  # type: ignore[attr-defined]
    return candidate


@login_required
@require_GET
def candidate_list(request: HttpRequest) -> HttpResponse:
    user = _staff(request)
    state = request.GET.get("state", CandidateState.OPEN)
    if state not in CandidateState.values:
        state = CandidateState.OPEN
    page = Paginator(
        visible_to(user, ProblemCandidate.objects.select_related("service", "problem"))
        .filter(state=state)
        .order_by("-impact", "-id"),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    return render(
        request,
        "insights/candidates.html",
        {
            "candidates": [_decorate(c) for c in rows],
            "page": page,
            "query_string": f"state={state}",
            "state": state,
            "states": CandidateState.choices,
            "can_decide": actions.can_decide(user),
            "weeks": actions.cluster_weeks(),
            "section": "candidates",
        },
    )


def _texts(user: User, pairs: list[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
    """What ``user`` may read of each (kind, id): one query per kind, through visibility."""
    from hashdesk.chat.models import Message
    from hashdesk.incidents.models import Incident
    from hashdesk.wall.models import Post

    by_kind: dict[str, list[int]] = defaultdict(list)
    for kind, object_id in pairs:
        by_kind[kind].append(object_id)
    out: dict[tuple[str, int], dict[str, Any]] = {}
    if by_kind.get(ItemKind.INCIDENT):
        for incident in visible_to(
            user, Incident.objects.filter(pk__in=by_kind[ItemKind.INCIDENT])
        ).select_related("reporter"):
            out[(ItemKind.INCIDENT, incident.pk)] = {
                "label": incident.number or f"#{incident.pk}",
                "title": incident.title,
                "text": incident.description[:SNIPPET],
                "url": reverse("incidents:detail", args=[incident.number])
                if incident.number
                else "",
                "who": incident.reporter,
                "when": incident.created_at,
                "state": incident.get_state_display(),
            }
    if by_kind.get(ItemKind.POST):
        for post in visible_to(
            user, Post.objects.filter(pk__in=by_kind[ItemKind.POST])
        ).select_related("author"):
            out[(ItemKind.POST, post.pk)] = {
                "label": "Post",
                "title": "",
                "text": post.body[:SNIPPET],
                "url": reverse("wall:post", args=[post.pk]),
                "who": post.author,
                "when": post.created_at,
                "state": "",
            }
    if by_kind.get(ItemKind.CHAT):
        for message in visible_to(
            user, Message.objects.filter(pk__in=by_kind[ItemKind.CHAT])
        ).select_related("author", "room"):
            out[(ItemKind.CHAT, message.pk)] = {
                "label": f"Chat: {message.room.name}",
                "title": "",
                "text": message.body[:SNIPPET],
                "url": "",
                "who": message.author,
                "when": message.created_at,
                "state": "",
            }
    return out


def _candidate_for(user: User, pk: int) -> ProblemCandidate:
    candidate = (
        visible_to(
            user, ProblemCandidate.objects.select_related("service", "problem", "decided_by")
        )
        .filter(pk=pk)
        .first()
    )
    if candidate is None:
        raise Http404("No such candidate.")
    return candidate


def _detail(
    request: HttpRequest, user: User, candidate: ProblemCandidate, form: DismissForm | None = None
) -> HttpResponse:
    items = list(
        visible_to(user, CandidateItem.objects.filter(candidate=candidate)).order_by(
            "-created_at", "kind", "object_id"
        )[:ITEMS_MAX]
    )
    evidence = candidate.evidence or {}
    wanted = [(i.kind, i.object_id) for i in items] + [
        (r["kind"], r["id"]) for r in evidence.get("representatives", [])
    ]
    texts = _texts(user, wanted)
    representatives = [
        {"kind": r["kind"], **texts[(r["kind"], r["id"])]}
        for r in evidence.get("representatives", [])
        if (r["kind"], r["id"]) in texts
    ]
    rows = [
        {"kind": i.kind, **texts[(i.kind, i.object_id)]}
        for i in items
        if (i.kind, i.object_id) in texts
    ]
    return render(
        request,
        "insights/candidate_detail.html",
        {
            "candidate": _decorate(candidate),
            "evidence": evidence,
            "representatives": representatives,
            "rows": rows,
            "hidden": len(items) - len(rows),
            "more": max(candidate.size - ITEMS_MAX, 0),
            "can_decide": actions.can_decide(user) and candidate.state == CandidateState.OPEN,
            "dismiss_form": form or DismissForm(),
            "section": "candidates",
        },
        status=400 if form is not None else 200,
    )


@login_required
@require_GET
def candidate_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(request)
    return _detail(request, user, _candidate_for(user, pk))


@login_required
@require_POST
def candidate_accept(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(request)
    candidate = _candidate_for(user, pk)
    try:
        problem = actions.do_accept_candidate(user, candidate)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
        return redirect("insights:candidate", pk=candidate.pk)
    messages.success(request, f"{problem.number} was created with the candidate's incidents.")
    return redirect("problems:detail", problem.pk)


@login_required
@require_POST
def candidate_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff(request)
    candidate = _candidate_for(user, pk)
    form = DismissForm(request.POST)
    if form.is_valid():
        try:
            actions.do_dismiss_candidate(user, candidate, form.cleaned_data["reason"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, "The candidate was dismissed.")
            return redirect("insights:candidates")
    return _detail(request, user, candidate, form)


# --- Sentiment ----------------------------------------------------------------------------------


def _days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", SENTIMENT_DAYS))
    except ValueError:
        days = SENTIMENT_DAYS
    return min(max(days, 1), SENTIMENT_DAYS_MAX)


def sentiment_table(user: User, days: int, service_slug: str | None = None) -> dict[str, Any]:
    """Per visible service, the daily figures of the last ``days`` days (oldest first)."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    calendar = [first + timedelta(days=n) for n in range(days)]
    services = visible_to(user, Service.objects.all())
    if service_slug:
        services = services.filter(slug=service_slug)
    rows = SentimentDaily.objects.filter(day__gte=first, service__in=services).select_related(
        "service"
    )
    per_service: dict[int, dict[str, Any]] = {}
    for row in rows:
        entry = per_service.setdefault(
            row.service_id, {"service": row.service, "days": {}, "texts": 0, "frustrated": 0}
        )
        entry["days"][row.day] = row
        entry["texts"] += row.texts
        entry["frustrated"] += row.frustrated
    out = []
    for entry in per_service.values():
        daily = [entry["days"].get(day) for day in calendar]
        weighted = sum(r.score * r.texts for r in daily if r is not None)
        entry["score"] = round(weighted / entry["texts"], 3) if entry["texts"] else 0.0
        entry["line"] = _score_line([r.score if r is not None else None for r in daily])
        entry["daily"] = daily
        out.append(entry)
    out.sort(key=lambda e: (e["score"], e["service"].name))
    return {"calendar": calendar, "services": out, "first": first, "last": today}


@login_required
@require_GET
def sentiment(request: HttpRequest) -> HttpResponse:
    user = _staff(request)
    days = _days(request)
    return render(
        request,
        "insights/sentiment.html",
        {**sentiment_table(user, days), "days": days, "section": "sentiment"},
    )


@login_required
@require_GET
def sentiment_csv(request: HttpRequest) -> HttpResponse:
    user = _staff(request)
    days = _days(request)
    table = sentiment_table(user, days)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sentiment-{table["last"]}.csv"'
    writer = csv.writer(response)
    writer.writerow(["service", "day", "texts", "positive", "negative", "frustrated", "score"])
    for entry in sorted(table["services"], key=lambda e: e["service"].name):
        for row in entry["daily"]:
            if row is not None:
                writer.writerow(
                    [
                        entry["service"].hashtag,
                        row.day.isoformat(),
                        row.texts,
                        row.positive,
                        row.negative,
                        row.frustrated,
                        row.score,
                    ]
                )
    return response


urlpatterns: list[URLPattern] = [
    path("candidates/", candidate_list, name="candidates"),
    path("candidates/<int:pk>/", candidate_detail, name="candidate"),
    path("candidates/<int:pk>/accept/", candidate_accept, name="candidate_accept"),
    path("candidates/<int:pk>/dismiss/", candidate_dismiss, name="candidate_dismiss"),
    path("sentiment/", sentiment, name="sentiment"),
    path("sentiment.csv", sentiment_csv, name="sentiment_csv"),
]
