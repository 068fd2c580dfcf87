"""The status page's data for one tier, read in a constant number of queries and cached
(docs/status.md, "Caching").

A snapshot is a plain JSON-able dict — what ``/status/summary.json`` and ``GET /api/v1/status``
answer and what the page renders. It is cached under the current *status generation*, a number
that ``status/hooks.py`` bumps after every commit that writes an incident, timeline entry,
change, affected service, service, category or dependency; so a warm page costs two cache reads.
Snapshots also expire after ``STATUS_SNAPSHOT_SECONDS`` (default 60): time alone changes the page
too (a maintenance window comes within 30 days, a new day starts its bar).

``digest`` is a hash of the snapshot's content: the page's ETag, and how a refresh tells which
tiers changed.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from hashdesk.status import history as history_module
from hashdesk.status.states import (
    HEADLINE,
    OpenIncident,
    ServiceState,
    derive_states,
    incident_state,
    label,
    worst,
)
from hashdesk.status.tiers import (
    Tier,
    change_filter,
    incident_filter,
    service_filter,
)

GENERATION_KEY = "status:generation"
MAINTENANCE_HORIZON = timedelta(days=30)
# Public updates shown per current incident; the incident's page has the rest.
UPDATES_PER_INCIDENT = 10


def snapshot_seconds() -> int:
    return int(settings.STATUS_SNAPSHOT_SECONDS)


# --- Generation ---------------------------------------------------------------------------------


def generation() -> int:
    value = cache.get(GENERATION_KEY)
    if value is None:
        # Start from the clock, so a lost cache never brings back an older generation's entries.
        cache.add(GENERATION_KEY, int(time.time() * 1000), None)
        value = cache.get(GENERATION_KEY, 0)
    return int(value)


def bump_generation() -> int:
    try:
        return int(cache.incr(GENERATION_KEY))
    except ValueError:
        value = int(time.time() * 1000)
        cache.set(GENERATION_KEY, value, None)
        return value


def snapshot_key(tier: Tier, gen: int) -> str:
    return f"status:snapshot:{tier.key}:{gen}"


# --- Building -----------------------------------------------------------------------------------


def digest_of(snapshot: dict[str, Any]) -> str:
    skipped = ("digest", "generated_at")
    content = {key: value for key, value in snapshot.items() if key not in skipped}
    encoded = json.dumps(content, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()[:20]


def _listed_changes(now: datetime) -> Q:
    """Changes being implemented, and scheduled ones whose window has not ended and starts
    within 30 days."""
    from hashdesk.changes.choices import ChangeState

    return Q(state=ChangeState.IMPLEMENTING) | Q(
        state=ChangeState.SCHEDULED,
        planned_start__isnull=False,
        planned_start__lt=now + MAINTENANCE_HORIZON,
        planned_end__gt=now,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def build_snapshot(tier: Tier, now: datetime | None = None) -> dict[str, Any]:
    """Everything the tier's page shows. Seven queries at most, however many services."""
    from hashdesk.catalog.models import Service, ServiceDependency
    from hashdesk.changes.choices import ChangeState
    from hashdesk.changes.models import AffectedService, Change
    from hashdesk.incidents.choices import OPEN_STATES, TimelineKind
    from hashdesk.incidents.models import Incident, TimelineEntry

    now = now or timezone.now()
    services = list(
        Service.objects.filter(service_filter(tier))
        .order_by("category__position", "category__name", "name")
        .values(
            "id",
            "name",
            "slug",
            "description",
            "visibility",
            "category__name",
            "category__slug",
            "category__position",
        )
    )
    names = {row["id"]: row["name"] for row in services}
    dependencies = list(ServiceDependency.objects.values_list("service_id", "depends_on_id"))
    open_incidents = list(
        Incident.objects.filter(incident_filter(tier))
        .filter(state__in=OPEN_STATES, merged_into__isnull=True)
        .order_by("-is_major", "priority", "-created_at", "-id")
        .values(
            "id",
            "number",
            "title",
            "service_id",
            "priority",
            "is_major",
            "state",
            "created_at",
            "service__visibility",
        )
    )
    changes = list(
        Change.objects.filter(change_filter(tier))
        .filter(_listed_changes(now))
        .order_by("planned_start", "id")
        .values("id", "number", "summary", "state", "planned_start", "planned_end", "actual_start")
    )
    affected: dict[int, list[int]] = {}
    if changes:
        for change_id, service_id in AffectedService.objects.filter(
            change_id__in=[row["id"] for row in changes]
        ).values_list("change_id", "service_id"):
            affected.setdefault(change_id, []).append(service_id)
    in_maintenance = {
        service_id
        for row in changes
        if row["state"] == ChangeState.IMPLEMENTING
        for service_id in affected.get(row["id"], [])
    }
    derived = derive_states(
        names=names,
        dependencies=dependencies,
        incidents=[
            OpenIncident(row["service_id"], row["priority"], row["is_major"])
            for row in open_incidents
        ],
        maintenance=in_maintenance,
    )

    # The incidents the page lists: those that change a state, on services the tier may see.
    slugs = {row["id"]: row["slug"] for row in services}
    listed = [
        row
        for row in open_incidents
        if row["service_id"] in names
        and row["service__visibility"] in tier.levels
        and incident_state(row["priority"], row["is_major"]) != ServiceState.OPERATIONAL
    ]
    updates: dict[int, list[dict[str, Any]]] = {row["id"]: [] for row in listed}
    if listed:
        entries = (
            TimelineEntry.objects.filter(
                incident_id__in=list(updates),
                kind__in=[TimelineKind.PUBLIC_UPDATE, TimelineKind.OFFICIAL_UPDATE],
                is_public=True,
            )
            .order_by("-created_at", "-id")
            .values_list("id", "incident_id", "kind", "body_html", "created_at")
        )
        for entry_id, incident_id, kind, body_html, created_at in entries:
            if len(updates[incident_id]) < UPDATES_PER_INCIDENT:
                updates[incident_id].append(
                    {
                        "id": entry_id,
                        "kind": kind,
                        "official": kind == TimelineKind.OFFICIAL_UPDATE,
                        "body_html": body_html,
                        "created_at": _iso(created_at),
                    }
                )

    span, histories = history_module.load_history(tier, list(names), now)

    categories: list[dict[str, Any]] = []
    by_category: dict[str | None, dict[str, Any]] = {}
    service_rows: list[dict[str, Any]] = []
    for row in services:
        state = derived[row["id"]]
        service_history = histories[row["id"]]
        item = {
            "id": row["id"],
            "name": row["name"],
            "slug": row["slug"],
            "description": row["description"],
            "visibility": row["visibility"],
            "state": str(state.state),
            "state_label": label(state.state),
            "own_state": str(state.own),
            "reasons": state.reasons,
            "notes": state.notes,
            "incidents": [
                incident["number"] for incident in listed if incident["service_id"] == row["id"]
            ],
            "uptime": service_history.uptime,
            "history": service_history.days,
        }
        service_rows.append(item)
        key = row["category__slug"]
        if key not in by_category:
            by_category[key] = {
                "name": row["category__name"] or "Other services",
                "slug": key or "",
                "services": [],
            }
            categories.append(by_category[key])
        by_category[key]["services"].append(row["slug"])
    # Services without a category come last.
    categories.sort(key=lambda category: category["slug"] == "")

    overall = worst(item["state"] for item in service_rows)
    snapshot: dict[str, Any] = {
        "tier": tier.key,
        "generated_at": _iso(now),
        "overall": {"state": str(overall), "label": label(overall), "headline": HEADLINE[overall]},
        "history_start": span.first_day.isoformat(),
        "history_days": history_module.HISTORY_DAYS,
        "services": service_rows,
        "categories": categories,
        "incidents": [
            {
                "number": row["number"],
                "title": row["title"],
                "service": slugs[row["service_id"]],
                "service_name": names[row["service_id"]],
                "state": str(incident_state(row["priority"], row["is_major"])),
                "state_label": label(incident_state(row["priority"], row["is_major"])),
                "is_major": row["is_major"],
                "priority": row["priority"],
                "opened_at": _iso(row["created_at"]),
                "updates": updates[row["id"]],
            }
            for row in listed
        ],
        "maintenance": [
            {
                "number": row["number"],
                "summary": row["summary"],
                "in_progress": row["state"] == ChangeState.IMPLEMENTING,
                "planned_start": _iso(row["planned_start"]),
                "planned_end": _iso(row["planned_end"]),
                "services": [
                    slugs[service_id]
                    for service_id in sorted(
                        affected.get(row["id"], []), key=lambda pk: names.get(pk, "")
                    )
                    if service_id in slugs
                ],
            }
            for row in changes
        ],
    }
    snapshot["digest"] = digest_of(snapshot)
    return snapshot


# --- Cache --------------------------------------------------------------------------------------


def get_snapshot(tier: Tier, *, gen: int | None = None) -> dict[str, Any]:
    """The tier's snapshot for the current generation, built and cached when missing."""
    gen = generation() if gen is None else gen
    key = snapshot_key(tier, gen)
    snapshot: dict[str, Any] | None = cache.get(key)
    if snapshot is None:
        snapshot = build_snapshot(tier)
        cache.set(key, snapshot, snapshot_seconds())
    return snapshot
