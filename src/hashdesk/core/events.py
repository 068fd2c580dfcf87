"""The event bus: typed events written in the caller's transaction and published on commit.

Actions call :func:`send_event` inside ``transaction.atomic``. The event row is part of the same
transaction as the change it describes, so an event exists exactly when its change does. After
commit the event servers are woken (:mod:`hashdesk.realtime.publish`) and read every event after
the last id they have seen, in id order.

Ids must become visible in increasing order, or a reader that has seen id 8 could miss a slower
transaction's id 7. SQLite serialises writers, so that holds by itself; on PostgreSQL every
event-writing transaction takes one advisory lock just before it inserts its events and holds it
until it commits, which makes commit order equal id order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from django.db import connection, transaction
from pydantic import BaseModel, ConfigDict

from hashdesk.core import metrics
from hashdesk.core.models import Event

# Arbitrary constant naming the PostgreSQL advisory lock that orders event ids.
EVENT_ORDER_LOCK = 0x4A5D_E7E1


class BaseEvent(BaseModel):
    """Schema of one kind of event. Subclasses set ``type`` and declare their payload fields."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ClassVar[str]
    op: str

    def to_payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"op"})


def _take_event_order_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [EVENT_ORDER_LOCK])


def send_event(event: BaseEvent, *, streams: Iterable[str]) -> Event:
    """Record ``event`` on ``streams`` in the current transaction; publish it after commit.

    Stream names are defined in hashdesk.core.streams; who may receive each one is decided by
    hashdesk.core.visibility when a connection subscribes.
    """
    stream_list = sorted(set(streams))
    if not stream_list:
        raise ValueError("an event needs at least one stream")
    with transaction.atomic():
        _take_event_order_lock()
        row = Event.objects.create(
            type=event.type, op=event.op, streams=stream_list, payload=event.to_payload()
        )
    event_id = row.pk
    event_type = event.type

    def _publish() -> None:
        from hashdesk.realtime.publish import wake_event_servers

        # Counted here, after commit: a rolled-back event was never sent.
        metrics.EVENTS_SENT.labels(type=event_type).inc()
        wake_event_servers(event_id)

    transaction.on_commit(_publish)
    return row


def send_events(batch: Iterable[tuple[BaseEvent, Iterable[str]]]) -> list[Event]:
    """Record several events with one INSERT, in order; publish them after commit.

    For fan-outs that differ per recipient (one notification each): the same guarantees as
    :func:`send_event`, at a constant number of queries however many events there are.
    """
    rows = []
    for event, names in batch:
        stream_list = sorted(set(names))
        if not stream_list:
            raise ValueError("an event needs at least one stream")
        rows.append(
            Event(type=event.type, op=event.op, streams=stream_list, payload=event.to_payload())
        )
    if not rows:
        return []
    with transaction.atomic():
        _take_event_order_lock()
        created = Event.objects.bulk_create(rows)
    last_id = max(row.pk for row in created)
    types = [row.type for row in created]

    def _publish() -> None:
        from hashdesk.realtime.publish import wake_event_servers

        for event_type in types:
            metrics.EVENTS_SENT.labels(type=event_type).inc()
        # One wake-up is enough: a server reads every event after the last it has seen.
        wake_event_servers(last_id)

    transaction.on_commit(_publish)
    return created


def serialize_event(row: Event) -> dict[str, Any]:
    """The wire form clients receive (docs/realtime.md)."""
    return {"id": row.pk, "type": row.type, "op": row.op, **(row.payload or {})}
