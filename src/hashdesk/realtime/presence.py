"""Who is online: each connection is ``active`` or ``away``; a person is ``online`` when any of
their connections is active, ``away`` when all are away, ``offline`` without any.

:class:`PresenceBook` is one event server's view (in memory, on the loop thread). With Redis,
every server also writes its counts for each person into a hash
``<prefix>:presence:<user id>`` (one field per server: ``"<active> <away> <unix time>"``) and
rewrites them every :data:`HEARTBEAT_SECONDS`; a field older than :data:`STALE_SECONDS` is a
server that died and is ignored, and the key expires when nobody refreshes it. A person's status
across the installation is the sum of the fresh fields.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ONLINE = "online"
AWAY = "away"
OFFLINE = "offline"

HEARTBEAT_SECONDS = 30.0
STALE_SECONDS = 90.0
KEY_TTL_SECONDS = 120


@dataclass(frozen=True)
class Counts:
    active: int = 0
    away: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.active + other.active, self.away + other.away)

    @property
    def status(self) -> str:
        if self.active:
            return ONLINE
        return AWAY if self.away else OFFLINE


class PresenceBook:
    """This server's connections per person and whether each is active."""

    def __init__(self) -> None:
        self._people: dict[int, dict[object, bool]] = {}

    def set(self, user_id: int, connection: object, *, active: bool) -> None:
        self._people.setdefault(user_id, {})[connection] = active

    def remove(self, user_id: int, connection: object) -> None:
        connections = self._people.get(user_id)
        if connections is None:
            return
        connections.pop(connection, None)
        if not connections:
            del self._people[user_id]

    def counts(self, user_id: int) -> Counts:
        connections = self._people.get(user_id, {})
        active = sum(1 for is_active in connections.values() if is_active)
        return Counts(active=active, away=len(connections) - active)

    @property
    def people(self) -> Iterable[int]:
        return list(self._people)


def presence_key(prefix: str, user_id: int) -> str:
    return f"{prefix}:presence:{user_id}"


def encode_field(counts: Counts, now: float) -> str:
    return f"{counts.active} {counts.away} {int(now)}"


def combine_fields(fields: Mapping[Any, bytes | str], now: float | None = None) -> Counts:
    """The sum of the fresh per-server fields of one person's hash (garbage counts as nothing)."""
    now = time.time() if now is None else now
    total = Counts()
    for value in fields.values():
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        parts = text.split()
        if len(parts) != 3 or not all(part.isdigit() for part in parts):
            continue
        active, away, written = (int(part) for part in parts)
        if now - written <= STALE_SECONDS:
            total = total + Counts(active, away)
    return total
