"""Names of event streams. Who may subscribe to which is decided in hashdesk.core.visibility.

- ``public``           anyone, signed in or not (status page, public announcements)
- ``members``          every signed-in person
- ``staff``            service desk staff (agents, managers, administrators)
- ``user:<id>``        one person (their notifications, their tokens)
- ``service:<id>``     events about one service (its visibility decides who may listen)
- ``team:<id>``        one team's members, and staff
- ``incident:<id>``    public changes of one incident, for its open pages (whoever may see it)
- ``room:<id>``        one chat room's messages (its members, while they may see the room)
"""

from __future__ import annotations

PUBLIC = "public"
MEMBERS = "members"
STAFF = "staff"


def user(user_id: int) -> str:
    return f"user:{user_id}"


def service(service_id: int) -> str:
    return f"service:{service_id}"


def team(team_id: int) -> str:
    return f"team:{team_id}"


def incident(incident_id: int) -> str:
    return f"incident:{incident_id}"


def room(room_id: int) -> str:
    return f"room:{room_id}"


_KINDS = frozenset({"user", "service", "team", "incident", "room"})


def parse(stream: str) -> tuple[str, int | None]:
    """Split ``kind:id``; raises ValueError for anything that is not a well-formed stream name."""
    if stream in (PUBLIC, MEMBERS, STAFF):
        return stream, None
    kind, sep, raw_id = stream.partition(":")
    if not sep or kind not in _KINDS or not raw_id.isdigit():
        raise ValueError(f"unknown stream {stream[:80]!r}")
    if len(raw_id) > 18:
        raise ValueError(f"unknown stream {stream[:80]!r}")
    return kind, int(raw_id)
