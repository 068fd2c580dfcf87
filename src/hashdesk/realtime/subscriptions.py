"""Deciding, once per request, which streams a connection may receive.

The decision is hashdesk.core.visibility's (``default_streams`` and ``can_subscribe``); this
module only applies it to what a client asks for. It runs on a database thread: ``can_subscribe``
may query (team membership, a service's visibility).

The answer holds for the life of the subscription. Someone who loses access to a stream keeps
receiving it until they reconnect or unsubscribe; producers therefore publish sensitive changes on
streams whose audience is already narrow (hashdesk.catalog.actions.service_streams).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hashdesk.core import streams as stream_names
from hashdesk.core.visibility import can_subscribe, default_streams


@dataclass(frozen=True)
class Decision:
    granted: list[str] = field(default_factory=list)
    # Well-formed names the person may not receive; refused without saying whether they exist.
    forbidden: list[str] = field(default_factory=list)
    # Names that are not streams at all.
    invalid: list[str] = field(default_factory=list)


def decide(user: Any, requested: Iterable[str], *, with_defaults: bool) -> Decision:
    granted = list(default_streams(user)) if with_defaults else []
    forbidden: list[str] = []
    invalid: list[str] = []
    for name in requested:
        if name in granted:
            continue
        try:
            stream_names.parse(name)
        except ValueError:
            invalid.append(name)
            continue
        if can_subscribe(user, name):
            granted.append(name)
        else:
            forbidden.append(name)
    return Decision(granted=granted, forbidden=forbidden, invalid=invalid)
