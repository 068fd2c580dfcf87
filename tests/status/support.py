"""Records for the status page's tests, written straight to the models (with their signals, so
the page's hooks see them) where the actions would need a long walk through the lifecycle."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.models import Service, ServiceCategory
from hashdesk.changes.actions import format_number as change_number
from hashdesk.changes.choices import AffectedReason, ChangeState
from hashdesk.changes.models import AffectedService, Change
from hashdesk.incidents.choices import State
from hashdesk.incidents.models import Incident, format_number


def make_service(
    name: str,
    *,
    visibility: str = "public",
    category: ServiceCategory | None = None,
    depends_on: Sequence[Service] = (),
) -> Service:
    service = catalog_actions.do_create_service(
        None,
        name=name,
        hashtag=name.lower().replace(" ", "-")[:40],
        visibility=visibility,
        category=category,
    )
    for upstream in depends_on:
        catalog_actions.do_add_dependency(None, service, upstream)
    return service


def make_incident(
    service: Service,
    reporter: User,
    *,
    title: str = "Something is wrong",
    priority: int = 3,
    visibility: str = "public",
    is_major: bool = False,
    state: str = State.IN_PROGRESS,
    created_at: datetime | None = None,
    resolved_at: datetime | None = None,
    **fields: Any,
) -> Incident:
    incident = Incident.objects.create(
        title=title,
        service=service,
        reporter=reporter,
        priority=priority,
        visibility=visibility,
        is_major=is_major,
        state=state,
        created_at=created_at or timezone.now(),
        resolved_at=resolved_at,
        **fields,
    )
    incident.number = format_number(incident.pk)
    incident.save(update_fields=["number"])
    return incident


def make_change(
    requester: User,
    services: Sequence[Service],
    *,
    summary: str = "Firmware upgrade",
    state: str = ChangeState.SCHEDULED,
    starts_in: timedelta = timedelta(days=3),
    hours: int = 2,
    actual_start: datetime | None = None,
    actual_end: datetime | None = None,
) -> Change:
    start = timezone.now() + starts_in
    change = Change.objects.create(
        summary=summary,
        state=state,
        requester=requester,
        planned_start=start,
        planned_end=start + timedelta(hours=hours),
        actual_start=actual_start,
        actual_end=actual_end,
        risk="high",
    )
    change.number = change_number(change.pk)
    change.save(update_fields=["number"])
    AffectedService.objects.bulk_create(
        AffectedService(change=change, service=service, reason=AffectedReason.CHOSEN)
        for service in services
    )
    return change


def forget_pending_refresh() -> None:
    """Drop the status refreshes that the test's own setup registered.

    In a test everything runs inside one transaction that never commits, so the refresh
    registered by a fixture's writes would stay pending and stand in for later ones (the hook
    registers one refresh per transaction). A test that commits "for real" starts here.
    """
    from django.db import connection

    from hashdesk.status import hooks

    connection.run_on_commit = [
        entry for entry in connection.run_on_commit if entry[1] is not hooks._refresh_after_commit
    ]


@contextmanager
def committed(capture: Any) -> Iterator[list[Any]]:
    """``with committed(django_capture_on_commit_callbacks):`` runs the block's on-commit
    callbacks at its end, as a real commit would."""
    forget_pending_refresh()
    with capture(execute=True) as callbacks:
        yield callbacks
