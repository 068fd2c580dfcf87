"""Freeze and maintenance windows: created and deleted by change managers, listed by range.

A freeze says "no changes here"; a maintenance window says "changes to these services belong
here" (see conflicts.py for how both are enforced). A window with no services is for every
service. docs/changes.md, "Windows".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, ClassVar

from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.catalog.models import Service
from hashdesk.changes.choices import WindowKind
from hashdesk.changes.models import ChangeWindow
from hashdesk.core import streams
from hashdesk.core.errors import Forbidden, ValidationFailed
from hashdesk.core.events import BaseEvent, send_event
from hashdesk.core.validation import require_text
from hashdesk.core.visibility import Viewer, can_manage_changes, visible_to

NAME_MAX = 200
# Longest range one listing may ask for: a year and a day covers any calendar view.
RANGE_MAX = timedelta(days=367)


class ChangeWindowEvent(BaseEvent):
    """A freeze or maintenance window was created or deleted (op "create" / "delete")."""

    type: ClassVar[str] = "change_window"
    window: dict[str, object]


def window_snapshot(window: ChangeWindow, service_ids: Iterable[int]) -> dict[str, Any]:
    return {
        "id": window.pk,
        "kind": window.kind,
        "name": window.name,
        "starts_at": window.starts_at.isoformat(),
        "ends_at": window.ends_at.isoformat(),
        "service_ids": sorted(service_ids),
    }


def check_range(start: datetime, end: datetime) -> None:
    """Refuse a range that ends before it starts, or one too long to list at once."""
    if end <= start:
        raise ValidationFailed("The range must end after it starts.", field="to")
    if end - start > RANGE_MAX:
        raise ValidationFailed(f"The range may span at most {RANGE_MAX.days} days.", field="to")


def _require_manager(actor: User | None) -> None:
    # actor None: the system (demo loader, management commands).
    if actor is not None and not can_manage_changes(actor):
        raise Forbidden("Only change managers can create or delete change windows.")


def _publish(op: str, snapshot: dict[str, Any]) -> None:
    # Windows are visible to everyone signed in (changes/visibility.py).
    send_event(ChangeWindowEvent(op=op, window=snapshot), streams=[streams.MEMBERS])


@transaction.atomic
def do_create_window(
    actor: User | None,
    *,
    kind: str,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    services: Iterable[Service] = (),
) -> ChangeWindow:
    _require_manager(actor)
    if kind not in WindowKind.values:
        raise ValidationFailed(
            f"Kind must be one of: {', '.join(WindowKind.values)}.", field="kind"
        )
    label = require_text(name, field="name", max_length=NAME_MAX)
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValidationFailed("Times must carry a time zone.", field="starts_at")
    if ends_at <= starts_at:
        raise ValidationFailed("A window must end after it starts.", field="ends_at")
    chosen = list({service.pk: service for service in services}.values())
    window = ChangeWindow.objects.create(
        kind=kind, name=label, starts_at=starts_at, ends_at=ends_at
    )
    if chosen:
        window.services.set(chosen)
    snapshot = window_snapshot(window, (service.pk for service in chosen))
    trail.record(actor=actor, action="change_window.create", obj=window, after=snapshot)
    _publish("create", snapshot)
    return window


@transaction.atomic
def do_delete_window(actor: User | None, window: ChangeWindow) -> None:
    _require_manager(actor)
    before = window_snapshot(window, window.services.values_list("pk", flat=True))
    window.delete()
    trail.record(
        actor=actor,
        action="change_window.delete",
        object_type="changes.changewindow",
        object_id=before["id"],
        before=before,
    )
    _publish("delete", before)


def windows_between(
    viewer: Viewer,
    start: datetime,
    end: datetime,
    *,
    service: Service | None = None,
    kind: str | None = None,
) -> QuerySet[ChangeWindow]:
    """Windows ``viewer`` may see overlapping [start, end), by start; for ``service``: its own
    and those for every service. The services ``viewer`` may see are prefetched (one more
    query): a confidential service's name is not told to those who may not see it."""
    windows = visible_to(viewer, ChangeWindow.objects.filter(starts_at__lt=end, ends_at__gt=start))
    if kind is not None:
        windows = windows.filter(kind=kind)
    if service is not None:
        named = ChangeWindow.services.through.objects
        windows = windows.filter(
            ~Q(pk__in=named.values("changewindow_id"))
            | Q(pk__in=named.filter(service=service).values("changewindow_id"))
        )
    services = Prefetch("services", queryset=visible_to(viewer, Service.objects.order_by("name")))
    return windows.order_by("starts_at", "id").prefetch_related(services)
