"""Keeps the status page current (docs/status.md, "Caching" and "Live updates").

Every write of a model the page is made of — incidents and their timeline, changes and the
services they affect, services, categories and dependencies — marks the transaction. After it
commits (once per transaction, however many rows it wrote) the status generation is bumped, so
the next request rebuilds the snapshots, and a task is queued that rebuilds them and sends one
``status`` event for each tier whose snapshot changed (:func:`refresh`) — in the worker, so a
write never waits for three snapshots. A transaction that rolls back changes nothing and sends
nothing.

The signals cover every write that goes through ``save()`` and ``delete()``; incident intake
writes in bulk and calls :func:`status_changed` itself.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save

from hashdesk.core.events import send_event
from hashdesk.core.logging import get_logger
from hashdesk.status import snapshot as snapshots
from hashdesk.status.events import StatusEvent
from hashdesk.status.tiers import TIERS, Tier

log = get_logger(__name__)


def published_key(tier: Tier) -> str:
    return f"status:published:{tier.key}"


def status_event(snapshot: dict[str, Any]) -> StatusEvent:
    return StatusEvent(
        op="update",
        tier=snapshot["tier"],
        digest=snapshot["digest"],
        overall=snapshot["overall"],
        services=[
            {"slug": item["slug"], "state": item["state"], "reasons": item["reasons"]}
            for item in snapshot["services"]
        ],
    )


def refresh(*, bump: bool = True) -> list[str]:
    """Tell each tier whose page changed since it was last told (starting a new generation
    first unless ``bump`` is false: the writer's commit has already). Returns those tiers."""
    before = snapshots.generation()
    previous = {
        tier.key: (cache.get(published_key(tier)) or _cached_digest(tier, before)) for tier in TIERS
    }
    gen = snapshots.bump_generation() if bump else before
    changed: list[str] = []
    for tier in TIERS:
        fresh = snapshots.get_snapshot(tier, gen=gen)
        if fresh["digest"] == previous[tier.key]:
            continue
        with transaction.atomic():
            send_event(status_event(fresh), streams=[tier.stream])
        cache.set(published_key(tier), fresh["digest"], None)
        changed.append(tier.key)
    if changed:
        log.info("status changed", tiers=changed, generation=gen)
    return changed


def _cached_digest(tier: Tier, gen: int) -> str | None:
    snapshot = cache.get(snapshots.snapshot_key(tier, gen))
    return None if snapshot is None else str(snapshot["digest"])


def remember_published(snapshot: dict[str, Any]) -> None:
    """A page was built from ``snapshot``: if nothing was published for its tier yet, this is
    what its viewers now have (so the next refresh compares against it)."""
    cache.add(f"status:published:{snapshot['tier']}", snapshot["digest"], None)


def _refresh_after_commit() -> None:
    snapshots.bump_generation()
    from hashdesk.status import tasks

    tasks.announce_status_changes()


def status_changed() -> None:
    """Called inside a writing transaction: refresh the page once it commits."""
    pending = getattr(connection, "run_on_commit", [])
    if any(entry[1] is _refresh_after_commit for entry in pending):
        return
    # robust: a failed refresh is logged; the snapshots still expire by themselves.
    transaction.on_commit(_refresh_after_commit, robust=True)


def _written(sender: Any, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    status_changed()


def _connect() -> None:
    from hashdesk.catalog.models import Service, ServiceCategory, ServiceDependency
    from hashdesk.changes.models import AffectedService, Change
    from hashdesk.incidents.models import Incident, TimelineEntry

    for model in (
        Incident,
        TimelineEntry,
        Change,
        AffectedService,
        Service,
        ServiceCategory,
        ServiceDependency,
    ):
        uid = f"status-{model._meta.label_lower}"
        post_save.connect(_written, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_written, sender=model, dispatch_uid=f"{uid}-delete")


_connect()
