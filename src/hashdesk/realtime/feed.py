"""Reading the event log for the event server: new events for the fan-out, missed ones for resume.

The ORM is synchronous, so these functions run on :class:`DatabaseThreads`: a small pool of
threads that keep their Django connections open between calls (opening an SQLite connection runs
its PRAGMAs; a PostgreSQL connection costs a round trip or more) and drop a connection only when a
call fails, so the next call reconnects.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from django.db import connection, connections
from django.db.models import Max, Min

from hashdesk.core.events import serialize_event
from hashdesk.core.models import Event
from hashdesk.realtime import protocol

P = ParamSpec("P")
T = TypeVar("T")

# Rows read per query when catching up; a burst of events is read in pages of this size.
PAGE_SIZE = 500
# A resume that would send more than this many events gets a reset instead: reloading the page
# is faster than replaying a day of history, and it bounds the server's memory per connection.
REPLAY_LIMIT = 2_000
# ... and one that would have to scan more than this many rows to find them, likewise.
REPLAY_SCAN_LIMIT = 50_000


class DatabaseThreads:
    """Runs ORM calls off the event loop on ``workers`` long-lived threads."""

    def __init__(self, workers: int, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._workers = workers

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        call = functools.partial(_with_connection_care, func, *args, **kwargs)
        return await loop.run_in_executor(self._executor, call)

    def shutdown(self) -> None:
        """Close every thread's connection, then the threads (blocking; call at exit).

        The barrier holds each closing task until all have started, so each runs on a thread
        of its own and no thread keeps a connection (PostgreSQL would refuse to drop a test
        database that one still uses).
        """
        everyone = threading.Barrier(self._workers, timeout=10)

        def close_this_threads_connections() -> None:
            connections.close_all()
            everyone.wait()

        futures = [
            self._executor.submit(close_this_threads_connections) for _ in range(self._workers)
        ]
        for future in futures:
            future.exception()
        self._executor.shutdown(wait=True)


def _with_connection_care(func: Callable[..., T], *args: object, **kwargs: object) -> T:
    try:
        return func(*args, **kwargs)
    except Exception:
        # A broken connection (database restarted, network blip) would fail every later call on
        # this thread; closing it makes the next call open a fresh one.
        connection.close()
        raise


@dataclass(frozen=True)
class WireEvent:
    """An event as the fan-out needs it: its id, its streams and its encoded frame."""

    id: int
    streams: tuple[str, ...]
    frame: bytes


def encode_event(row: Event) -> WireEvent:
    return WireEvent(
        id=row.pk,
        streams=tuple(row.streams or ()),
        frame=protocol.event_frame(serialize_event(row)),
    )


def latest_event_id() -> int:
    return Event.objects.aggregate(latest=Max("id"))["latest"] or 0


def events_after(after_id: int, limit: int = PAGE_SIZE) -> list[WireEvent]:
    """Committed events with id > ``after_id``, oldest first (at most ``limit``)."""
    rows = Event.objects.filter(id__gt=after_id).order_by("id")[:limit]
    return [encode_event(row) for row in rows]


@dataclass(frozen=True)
class Replay:
    """What a resuming connection gets: the events it missed, or ``reset`` with the reason."""

    events: list[WireEvent]
    reset: str | None = None


def missed_events(last_event_id: int, streams: Iterable[str], known_high_water: int) -> Replay:
    """The events after ``last_event_id`` on any of ``streams``, in id order, or a reset.

    ``known_high_water`` is the newest id this server has handed to its fan-out; it tells a
    client whose events were all pruned apart from one that has seen everything.

    Retention deletes a prefix of the log (hashdesk.realtime.retention), so the events after
    ``last_event_id`` are complete exactly when ``last_event_id`` is not older than the oldest
    retained event minus one. On PostgreSQL, ids burned by rolled-back transactions may make
    that check answer reset for a client that missed nothing: a reload too many, never an
    event too few.
    """
    bounds = Event.objects.aggregate(oldest=Min("id"), newest=Max("id"))
    oldest, newest = bounds["oldest"], bounds["newest"]
    if oldest is None:
        if last_event_id < known_high_water:
            return Replay([], reset="expired")
        if last_event_id > known_high_water:
            return Replay([], reset="unknown_event")
        return Replay([])
    if last_event_id > newest:
        # Not an id this database ever committed (a restored backup, another installation).
        return Replay([], reset="unknown_event")
    if last_event_id < oldest - 1:
        return Replay([], reset="expired")
    wanted = set(streams)
    found: list[WireEvent] = []
    scanned = 0
    cursor = last_event_id
    while True:
        rows = list(Event.objects.filter(id__gt=cursor).order_by("id")[:PAGE_SIZE])
        for row in rows:
            if wanted.intersection(row.streams or ()):
                found.append(encode_event(row))
                if len(found) > REPLAY_LIMIT:
                    return Replay([], reset="too_many_missed")
        scanned += len(rows)
        if len(rows) < PAGE_SIZE:
            return Replay(found)
        if scanned >= REPLAY_SCAN_LIMIT:
            return Replay([], reset="too_many_missed")
        cursor = rows[-1].pk
