"""The fan-out: which local connection listens to which stream, and delivering one event to all.

In the spirit of Zulip's Tornado event queues: the process reads each event once, encodes it
once, and writes the same bytes to every interested connection with ``websockets.broadcast``,
which queues the frame on each socket synchronously. There is no per-client task or await on the
hot path, so one event reaches 5,000 connections in one pass of a loop.

Everything here runs on the event loop thread and never awaits, which is what makes the ordering
argument simple: frames are queued on a connection in exactly the order the methods are called.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from websockets.asyncio.server import ServerConnection, broadcast


@dataclass(eq=False)
class Subscriber:
    """One connection's place in the hub."""

    connection: ServerConnection
    # The signed-in person (None: anonymous), so that typing skips the typist's own tabs.
    user_id: int | None = None
    streams: set[str] = field(default_factory=set)
    # While the connection replays missed events, live events wait here as (id, frame).
    backlog: list[tuple[int, bytes]] | None = None
    # After a replay that read further than the fan-out has got, live events up to this id
    # were already sent and are skipped.
    skip_through: int = 0

    def send(self, frame: bytes) -> None:
        """Queue one frame now, in order with everything the hub sends (never awaits)."""
        broadcast((self.connection,), frame, text=True)


class Hub:
    def __init__(self) -> None:
        # The id of the last event handed to the fan-out; live connections have seen all up to it.
        self.high_water = 0
        self._listeners: dict[str, set[ServerConnection]] = {}
        self._subscribers: dict[ServerConnection, Subscriber] = {}
        # Resuming connections whose live events need care: buffered while their replay runs,
        # then skipped up to what the replay sent. Usually empty, so the fast path stays fast.
        self._catching_up: dict[ServerConnection, Subscriber] = {}

    def __len__(self) -> int:
        return len(self._subscribers)

    @property
    def connections(self) -> Iterable[ServerConnection]:
        return self._subscribers.keys()

    def join(self, subscriber: Subscriber, streams: Iterable[str], *, replaying: bool) -> int:
        """Start routing ``streams`` to ``subscriber``; returns the id live delivery starts after.

        A replaying subscriber collects live events in its backlog until :meth:`end_replay`,
        so events committed while its replay query runs are neither lost nor sent twice.
        """
        self._subscribers[subscriber.connection] = subscriber
        if replaying:
            subscriber.backlog = []
            self._catching_up[subscriber.connection] = subscriber
        self.subscribe(subscriber, streams)
        return self.high_water

    def end_replay(self, subscriber: Subscriber, *, sent_up_to: int) -> None:
        """The replay sent every event up to ``sent_up_to``; go live without a gap or a repeat.

        Live events that arrived during the replay and are newer go out now. The replay may also
        have read events the fan-out has not reached yet (they were committed after the pump's
        last read); those will come through :meth:`deliver` later and are skipped then.
        """
        backlog = subscriber.backlog or []
        subscriber.backlog = None
        for event_id, frame in backlog:
            if event_id > sent_up_to:
                subscriber.send(frame)
                sent_up_to = event_id
        subscriber.skip_through = sent_up_to
        if sent_up_to <= self.high_water:
            self._catching_up.pop(subscriber.connection, None)

    def leave(self, subscriber: Subscriber) -> None:
        self.unsubscribe(subscriber, list(subscriber.streams))
        self._subscribers.pop(subscriber.connection, None)
        self._catching_up.pop(subscriber.connection, None)

    def subscribe(self, subscriber: Subscriber, streams: Iterable[str]) -> None:
        for stream in streams:
            self._listeners.setdefault(stream, set()).add(subscriber.connection)
            subscriber.streams.add(stream)

    def unsubscribe(self, subscriber: Subscriber, streams: Iterable[str]) -> None:
        for stream in streams:
            listeners = self._listeners.get(stream)
            if listeners is not None:
                listeners.discard(subscriber.connection)
                if not listeners:
                    del self._listeners[stream]
            subscriber.streams.discard(stream)

    def deliver(self, event_id: int, streams: Iterable[str], frame: bytes) -> int:
        """Send one event to every connection listening to any of ``streams``, each once.

        Must be called in event id order; returns the number of connections written to.
        """
        groups = [self._listeners[name] for name in streams if name in self._listeners]
        targets: set[ServerConnection]
        if not groups:
            targets = set()
        elif len(groups) == 1:
            targets = groups[0]
        else:
            targets = set().union(*groups)
        sent = len(targets)
        if self._catching_up:
            held = targets & self._catching_up.keys()
            if held:
                targets = targets - held
                sent -= len(held)
                for connection in held:
                    sent += self._deliver_held(self._catching_up[connection], event_id, frame)
        broadcast(targets, frame, text=True)
        self.high_water = event_id
        if self._catching_up:
            self._release_caught_up()
        return sent

    def relay(self, stream: str, frame: bytes, *, skip_user: int | None = None) -> int:
        """Send an ephemeral frame (typing, presence) to the live listeners of ``stream``.

        Not an event: no id, no order with events, nothing to replay. Connections still
        replaying are skipped so that nothing comes between their welcome and their replay.
        """
        listeners = self._listeners.get(stream)
        if not listeners:
            return 0
        targets = [
            connection
            for connection in listeners
            if (subscriber := self._subscribers.get(connection)) is not None
            and subscriber.backlog is None
            and (skip_user is None or subscriber.user_id != skip_user)
        ]
        broadcast(targets, frame, text=True)
        return len(targets)

    def _deliver_held(self, subscriber: Subscriber, event_id: int, frame: bytes) -> int:
        if subscriber.backlog is not None:
            subscriber.backlog.append((event_id, frame))
            return 0
        if event_id <= subscriber.skip_through:
            return 0
        subscriber.send(frame)
        return 1

    def _release_caught_up(self) -> None:
        done = [
            connection
            for connection, subscriber in self._catching_up.items()
            if subscriber.backlog is None and subscriber.skip_through <= self.high_water
        ]
        for connection in done:
            del self._catching_up[connection]
