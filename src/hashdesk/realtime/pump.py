"""The one reader of the event log in each event server process.

Wake-ups (a UDP datagram or a Redis message, see hashdesk.realtime.wakeups) and a timer both
lead to the same step: read every event after the high-water mark, in id order, and hand each to
the hub. Because ids become visible in commit order (hashdesk.core.events), "everything after
the last id I delivered" has no gaps, and because only this task reads and delivers, events leave
in id order and each exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from hashdesk.realtime import feed
from hashdesk.realtime.feed import DatabaseThreads, WireEvent
from hashdesk.realtime.hub import Hub

logger = logging.getLogger(__name__)

# The safety net for lost wake-ups: how often the log is read even when nobody rang.
POLL_SECONDS = 1.0


class EventPump:
    def __init__(self, hub: Hub, database: DatabaseThreads, *, poll_seconds: float = POLL_SECONDS):
        self.hub = hub
        self.database = database
        self.poll_seconds = poll_seconds
        self._rung = asyncio.Event()
        self.delivered = 0
        self.frames_sent = 0
        self.reads = 0
        # Seconds from a wake-up to the last frame of its events queued (diagnostics, /healthz).
        self.last_wake_to_sent = 0.0
        # Other consumers of the same events, called in id order after the hub's fan-out
        # (the Mastodon streaming API); each must return at once, without awaiting.
        self.taps: list[Callable[[WireEvent], None]] = []

    async def start(self) -> None:
        """Begin after the newest committed event: a new server owes nobody older ones."""
        self.hub.high_water = await self.database.run(feed.latest_event_id)

    def wake(self, event_id: int | None = None) -> None:
        """Called for each wake-up; ``event_id`` lets already-delivered news be ignored."""
        if event_id is None or event_id > self.hub.high_water:
            self._rung.set()

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._rung.wait(), timeout=self.poll_seconds)
            self._rung.clear()
            started = time.perf_counter()
            try:
                sent = await self.catch_up()
            except Exception:
                # The database is away; keep serving connections and retry at the next tick.
                logger.exception("reading the event log failed")
                continue
            if sent:
                self.last_wake_to_sent = time.perf_counter() - started

    async def catch_up(self) -> int:
        """Deliver every committed event after the high-water mark; returns how many."""
        count = 0
        while True:
            events = await self.database.run(feed.events_after, self.hub.high_water)
            self.reads += 1
            for event in events:
                # The id check guards the ordering invariant against any future second reader.
                if event.id > self.hub.high_water:
                    self.frames_sent += self.hub.deliver(event.id, event.streams, event.frame)
                    for tap in self.taps:
                        tap(event)
                    self.delivered += 1
                    count += 1
            if len(events) < feed.PAGE_SIZE:
                return count
