"""Typing and presence: relayed by the event servers, never stored (docs/realtime.md).

Unlike events, these are not written to the log: losing one costs a dot or an "is typing"
line for a moment, and the next one repairs it. Within one event server they go straight
through the hub; with ``HASHDESK_REDIS_URL`` they also cross to the other event servers on the
channel ``<prefix>:ephemeral`` (next to ``<prefix>:events``), as JSON notices carrying the
sending server's id so that it ignores its own.

Presence changes go, only when a person's status changes, to every signed-in connection that
asked about presence (sent ``presence_query``, as a page showing presence dots does on load):
one set of connections per server, no per-person audience to compute, and nothing for clients
that show no presence (scripts, the benchmark's thousands of clients). Whoever is signed in may
know who is around, as at a service desk's front door.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Iterable
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast

from hashdesk.core import streams
from hashdesk.realtime import protocol
from hashdesk.realtime.hub import Hub
from hashdesk.realtime.presence import (
    HEARTBEAT_SECONDS,
    KEY_TTL_SECONDS,
    OFFLINE,
    Counts,
    PresenceBook,
    combine_fields,
    encode_field,
    presence_key,
)
from hashdesk.realtime.wakeups import follow_redis_channel, raise_if_cancelling

logger = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 2.0
RETRY_SECONDS = 1.0


def ephemeral_channel(prefix: str) -> str:
    return f"{prefix}:ephemeral"


class Ephemera:
    """One event server's typing relay and presence book, shared by all its connections."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.book = PresenceBook()
        self.server_id = uuid.uuid4().hex[:12]
        # The status last announced per person (absent: offline), so only changes go out.
        self._announced: dict[int, str] = {}
        self._prefix = ""
        self._redis: Any = None
        # For the Redis writer: people whose counts changed here, people to re-read because
        # another server said theirs changed, and typing notices to publish.
        self._dirty: set[int] = set()
        self._stale: set[int] = set()
        self._outbox: list[dict[str, Any]] = []
        self._work: asyncio.Event | None = None
        # People whose field this server has in Redis (removed at shutdown).
        self._written: set[int] = set()
        # Connections that follow presence changes (they sent presence_query).
        self._watchers: set[ServerConnection] = set()

    @property
    def shared(self) -> bool:
        """Whether presence and typing cross event servers (Redis is configured)."""
        return self._redis is not None

    # --- Typing ----------------------------------------------------------------------------------

    def typing(self, *, room_id: int, user_id: int, name: str) -> None:
        self._relay_typing(room_id, user_id, name)
        if self.shared:
            self._outbox.append(
                {"kind": "typing", "room_id": room_id, "user_id": user_id, "name": name}
            )
            self._poke()

    def _relay_typing(self, room_id: int, user_id: int, name: str) -> None:
        frame = protocol.typing_frame(room_id=room_id, user_id=user_id, name=name)
        # The typist's own tabs know they are typing.
        self.hub.relay(streams.room(room_id), frame, skip_user=user_id)

    # --- Presence --------------------------------------------------------------------------------

    def connected(self, user_id: int, connection: ServerConnection) -> None:
        self.book.set(user_id, connection, active=True)
        self._changed(user_id)

    def set_status(self, user_id: int, connection: ServerConnection, status: str) -> None:
        self.book.set(user_id, connection, active=status == "active")
        self._changed(user_id)

    def disconnected(self, user_id: int, connection: ServerConnection) -> None:
        self._watchers.discard(connection)
        self.book.remove(user_id, connection)
        self._changed(user_id)

    def watch(self, connection: ServerConnection) -> None:
        """Send presence changes to ``connection`` from now on."""
        self._watchers.add(connection)

    def _changed(self, user_id: int) -> None:
        if self.shared:
            self._dirty.add(user_id)
            self._poke()
        else:
            self._announce(user_id, self.book.counts(user_id).status)

    def _announce(self, user_id: int, status: str) -> None:
        if self._announced.get(user_id, OFFLINE) == status:
            return
        if status == OFFLINE:
            self._announced.pop(user_id, None)
        else:
            self._announced[user_id] = status
        frame = protocol.presence_frame(user_id=user_id, status=status)
        broadcast(self._watchers, frame, text=True)

    async def statuses(self, user_ids: Iterable[int]) -> dict[int, str]:
        """The current status of each person (across event servers when shared)."""
        wanted = list(user_ids)
        if self.shared and wanted:
            try:
                counts = await self._read_counts(wanted)
                return {user_id: counts[user_id].status for user_id in wanted}
            except Exception as exc:
                logger.warning("reading presence from Redis failed (%s); answering locally", exc)
        return {user_id: self.book.counts(user_id).status for user_id in wanted}

    # --- Across event servers (Redis) ------------------------------------------------------------

    async def run_shared(self, url: str, prefix: str) -> None:
        """Share typing and presence through Redis until cancelled."""
        import redis.asyncio as aioredis

        self._prefix = prefix
        self._work = asyncio.Event()
        self._redis = aioredis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        subscribed = asyncio.Event()
        tasks = [
            asyncio.create_task(
                follow_redis_channel(url, ephemeral_channel(prefix), self._received, subscribed)
            ),
            asyncio.create_task(self._write_loop()),
            asyncio.create_task(self._heartbeat()),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            with contextlib.suppress(Exception):
                await self._forget_this_server()
            await self._redis.aclose()

    def _poke(self) -> None:
        if self._work is not None:
            self._work.set()

    def _received(self, data: bytes) -> None:
        try:
            notice = json.loads(data)
            if notice.get("server") == self.server_id:
                return
            if notice["kind"] == "typing":
                self._relay_typing(
                    int(notice["room_id"]), int(notice["user_id"]), str(notice["name"])
                )
            elif notice["kind"] == "presence":
                self._stale.update(int(user_id) for user_id in notice["user_ids"])
                self._poke()
        except (ValueError, KeyError, TypeError, AttributeError):
            logger.debug("ignored a malformed ephemeral notice")

    async def _write_loop(self) -> None:
        assert self._work is not None
        while True:
            raise_if_cancelling()
            await self._work.wait()
            self._work.clear()
            dirty, stale, outbox = self._dirty, self._stale, self._outbox
            self._dirty, self._stale, self._outbox = set(), set(), []
            try:
                await self._write(dirty, outbox)
                await self._refresh(dirty | stale)
            except Exception as exc:
                raise_if_cancelling(exc)
                # Typing notices are dropped (the next keystroke repeats them); presence is
                # written again after a pause.
                logger.warning("sharing presence through Redis failed (%s); retrying", exc)
                self._dirty |= dirty
                self._stale |= stale
                await asyncio.sleep(RETRY_SECONDS)
                self._work.set()

    async def _write(self, dirty: set[int], outbox: list[dict[str, Any]]) -> None:
        if not dirty and not outbox:
            return
        now = time.time()
        channel = ephemeral_channel(self._prefix)
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in dirty:
                key = presence_key(self._prefix, user_id)
                counts = self.book.counts(user_id)
                if counts == Counts():
                    pipe.hdel(key, self.server_id)
                    self._written.discard(user_id)
                else:
                    pipe.hset(key, self.server_id, encode_field(counts, now))
                    pipe.expire(key, KEY_TTL_SECONDS)
                    self._written.add(user_id)
            if dirty:
                notice = {"server": self.server_id, "kind": "presence", "user_ids": sorted(dirty)}
                pipe.publish(channel, json.dumps(notice))
            for typing in outbox:
                pipe.publish(channel, json.dumps({"server": self.server_id, **typing}))
            await pipe.execute()

    async def _read_counts(self, user_ids: list[int]) -> dict[int, Counts]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in user_ids:
                pipe.hgetall(presence_key(self._prefix, user_id))
            answers = await pipe.execute()
        now = time.time()
        return {
            user_id: combine_fields(fields, now)
            for user_id, fields in zip(user_ids, answers, strict=True)
        }

    async def _refresh(self, user_ids: set[int]) -> None:
        if not user_ids:
            return
        counts = await self._read_counts(sorted(user_ids))
        for user_id, total in counts.items():
            self._announce(user_id, total.status)

    async def _heartbeat(self) -> None:
        """Rewrite this server's fields so that they stay fresh while its people are here."""
        while True:
            raise_if_cancelling()
            await asyncio.sleep(HEARTBEAT_SECONDS)
            now = time.time()
            async with self._redis.pipeline(transaction=False) as pipe:
                for user_id in self.book.people:
                    key = presence_key(self._prefix, user_id)
                    pipe.hset(key, self.server_id, encode_field(self.book.counts(user_id), now))
                    pipe.expire(key, KEY_TTL_SECONDS)
                try:
                    await pipe.execute()
                except Exception as exc:
                    raise_if_cancelling(exc)

    async def _forget_this_server(self) -> None:
        """At shutdown: this server's people are no longer here (best effort; otherwise their
        fields go stale in STALE_SECONDS)."""
        if not self._written:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id in self._written:
                pipe.hdel(presence_key(self._prefix, user_id), self.server_id)
            notice = {
                "server": self.server_id,
                "kind": "presence",
                "user_ids": sorted(self._written),
            }
            pipe.publish(ephemeral_channel(self._prefix), json.dumps(notice))
            await pipe.execute()
