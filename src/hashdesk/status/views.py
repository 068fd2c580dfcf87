"""The status page, a service's status page and the JSON summary (docs/status.md).

Open to anonymous visitors unless ``STATUS_PAGE_PUBLIC`` is off (then they are sent to sign in).
Each answer comes from the viewer's tier's cached snapshot (``status/snapshot.py``); the part
that changes live (headline, incidents, maintenance, services) is rendered once per snapshot and
time zone and cached too, so a warm request renders only the shell around it. Answers carry an
ETag (tier, snapshot digest, and for a signed-in person who they are and their time zone) and
``Cache-Control: public, max-age=15`` for anonymous visitors, ``private, no-cache`` otherwise.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html
from django.utils.http import parse_etags
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from hashdesk.status import history, hooks
from hashdesk.status import snapshot as snapshots
from hashdesk.status.states import label
from hashdesk.status.tiers import Tier, listed_incident_filter, tier_for

# Seconds a shared cache or browser may keep the anonymous page without asking again.
PUBLIC_MAX_AGE = 15
RECENT_INCIDENTS = 20


def _allowed(request: HttpRequest) -> bool:
    return bool(settings.STATUS_PAGE_PUBLIC or request.user.is_authenticated)


def _zone_name() -> str:
    return str(timezone.get_current_timezone_name())


def _etag(request: HttpRequest, tier: Tier, snapshot: dict[str, Any], *parts: str) -> str:
    who = ""
    if request.user.is_authenticated:
        who = f"{request.user.pk}:{_zone_name()}"
    raw = ":".join([tier.key, snapshot["digest"], who, *parts])
    return '"' + hashlib.sha256(raw.encode()).hexdigest()[:24] + '"'


def _not_modified(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    tags = parse_etags(header)
    return "*" in tags or etag in tags or etag.removeprefix("W/") in tags


def _cache_headers(request: HttpRequest, response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    if request.user.is_authenticated:
        response["Cache-Control"] = "private, no-cache"
    else:
        response["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}"
    patch_vary_headers(response, ["Cookie"])
    return response


def _loaded(request: HttpRequest) -> tuple[Tier, dict[str, Any], str | None, str]:
    """The viewer's tier, its snapshot, the live part already rendered for this time zone
    (None when not cached yet) and where that is cached: two cache reads when warm."""
    tier = tier_for(request.user)
    gen = snapshots.generation()
    key = snapshots.snapshot_key(tier, gen)
    fragment_key = f"{key}:fragment:{_zone_name()}"
    found = cache.get_many([key, fragment_key])
    snapshot = found.get(key)
    if snapshot is None:
        snapshot = snapshots.build_snapshot(tier)
        cache.set(key, snapshot, snapshots.snapshot_seconds())
        hooks.remember_published(snapshot)
    fragment = found.get(fragment_key)
    html = None
    if fragment is not None and fragment.get("digest") == snapshot["digest"]:
        html = str(fragment["html"])
    return tier, snapshot, html, fragment_key


def _fragment(request: HttpRequest, snapshot: dict[str, Any], html: str | None, key: str) -> str:
    if html is not None:
        return html
    html = render_to_string("status/_live.html", live_context(snapshot), request=request)
    cache.set(key, {"digest": snapshot["digest"], "html": html}, snapshots.snapshot_seconds())
    return html


# --- What the templates get ---------------------------------------------------------------------


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _day_label(day: date) -> str:
    return f"{day.day} {day:%b}"


def bars(snapshot: dict[str, Any], service: dict[str, Any]) -> dict[str, Any]:
    """A service's 90 daily bars, and their text for screen readers.

    The bars are written here rather than in a template loop: 200 services make 18,000 of them,
    and an operational day is a bare ``<li></li>`` so the page stays small."""
    first = date.fromisoformat(snapshot["history_start"])
    parts = []
    bad = []
    for offset in range(snapshot["history_days"]):
        day = first + timedelta(days=offset)
        state = service["history"].get(day.isoformat(), "operational")
        if state == "operational":
            parts.append("<li></li>")
            continue
        text = f"{_day_label(day)}: {label(state).lower()}"
        parts.append(format_html('<li class="status-bar--{}" title="{}"></li>', state, text))
        bad.append(text)
    summary = f"from {_day_label(first)}, " + (
        "operational every day." if not bad else "operational except " + "; ".join(bad) + "."
    )
    return {
        "html": mark_safe("".join(parts)),  # noqa: S308 (each part is escaped above)
        "summary": summary,
        "first_label": _day_label(first),
        "uptime": f"{service['uptime']:.2f}",
    }


def live_context(snapshot: dict[str, Any]) -> dict[str, Any]:
    services = {item["slug"]: item for item in snapshot["services"]}
    names = {item["slug"]: item["name"] for item in snapshot["services"]}
    categories = [
        {
            "name": category["name"],
            "slug": category["slug"],
            "services": [
                {**services[slug], "bars": bars(snapshot, services[slug])}
                for slug in category["services"]
            ],
        }
        for category in snapshot["categories"]
    ]
    incidents = [
        {
            **incident,
            "opened_at": _moment(incident["opened_at"]),
            "updates": [
                {**update, "created_at": _moment(update["created_at"])}
                for update in incident["updates"]
            ],
        }
        for incident in snapshot["incidents"]
    ]
    maintenance = [
        {
            **change,
            "planned_start": _moment(change["planned_start"]),
            "planned_end": _moment(change["planned_end"]),
            "service_names": [names[slug] for slug in change["services"] if slug in names],
        }
        for change in snapshot["maintenance"]
    ]
    return {
        "overall": snapshot["overall"],
        "categories": categories,
        "incidents": incidents,
        "maintenance": maintenance,
        "digest": snapshot["digest"],
        "status_root": reverse("status:page"),
    }


# --- Views --------------------------------------------------------------------------------------


@require_safe
def status_page(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return redirect_to_login(request.get_full_path())
    tier, snapshot, html, fragment_key = _loaded(request)
    fragment_only = request.GET.get("fragment") == "services"
    etag = _etag(request, tier, snapshot, "fragment" if fragment_only else "page")
    if _not_modified(request, etag):
        return _cache_headers(request, HttpResponseNotModified(), etag)
    live = _fragment(request, snapshot, html, fragment_key)
    if fragment_only:
        response = HttpResponse(live)
    else:
        response = render(
            request,
            "status/page.html",
            {
                "live": live,
                "tier": tier,
                "services": snapshot["services"],
                "stream": tier.stream,
            },
        )
    return _cache_headers(request, response, etag)


@require_safe
def summary_json(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return redirect_to_login(request.get_full_path())
    tier, snapshot, _, _ = _loaded(request)
    etag = _etag(request, tier, snapshot, "json")
    if _not_modified(request, etag):
        return _cache_headers(request, HttpResponseNotModified(), etag)
    return _cache_headers(request, JsonResponse(snapshot), etag)


@require_safe
def service_page(request: HttpRequest, slug: str) -> HttpResponse:
    if not _allowed(request):
        return redirect_to_login(request.get_full_path())
    from hashdesk.incidents.choices import State
    from hashdesk.incidents.models import Incident

    tier, snapshot, _, _ = _loaded(request)
    service = next((item for item in snapshot["services"] if item["slug"] == slug), None)
    if service is None:
        raise Http404("No such service.")
    etag = _etag(request, tier, snapshot, "service", slug)
    if _not_modified(request, etag):
        return _cache_headers(request, HttpResponseNotModified(), etag)
    context = live_context(snapshot)
    since = history.window(timezone.now()).start
    recent = list(
        Incident.objects.filter(listed_incident_filter(tier))
        .filter(service_id=service["id"], merged_into__isnull=True)
        .exclude(state=State.CANCELLED)
        .filter(created_at__gte=since)
        .order_by("-created_at", "-id")
        .values("number", "title", "state", "priority", "is_major", "created_at", "resolved_at")[
            :RECENT_INCIDENTS
        ]
    )
    response = render(
        request,
        "status/service.html",
        {
            "service": {**service, "bars": bars(snapshot, service)},
            "incidents": [
                item for item in context["incidents"] if item["service"] == service["slug"]
            ],
            "maintenance": [
                item for item in context["maintenance"] if service["slug"] in item["services"]
            ],
            "recent": recent,
            "feed_rss": reverse("status:service-feed-rss", args=[slug]),
            "feed_atom": reverse("status:service-feed-atom", args=[slug]),
            "stream": tier.stream,
        },
    )
    return _cache_headers(request, response, etag)
