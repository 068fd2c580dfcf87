"""Incident war rooms (PRODUCT.md story 3; docs/chat.md, "War rooms").

Declaring a major incident opens its war room in two lanes, two rooms: the **responders** lane
(staff; its commander and declarer are its moderators) and the **public** read-and-ask lane,
where the people affected and following read the desk's official updates — mirrored here as
official messages — and ask questions. The people involved are made members of the public
lane; for a confidential incident only staff among them are (the lanes are then open to their
members alone, chat.visibility). Joining later is ``actions.do_join_room`` (``may_join`` knows
the lanes).

Everything here runs inside the transaction of the incident action that calls it
(incidents.major, incidents.actions), with a constant number of queries however many people
the incident involves.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.chat import actions
from hashdesk.chat.choices import Lane, MemberRole, MessageKind, RoomKind
from hashdesk.chat.events import ChatRoomEvent
from hashdesk.chat.models import Membership, Room
from hashdesk.core import streams
from hashdesk.core.events import BaseEvent, send_event, send_events
from hashdesk.core.visibility import staff_condition
from hashdesk.incidents.linking import is_confidential
from hashdesk.incidents.models import AffectedUser, Incident, IncidentFollower, TimelineEntry

LANE_NAMES: dict[str, str] = {Lane.RESPONDERS: "responders", Lane.PUBLIC: "updates"}


def war_room_lanes(incident: Incident) -> dict[str, Room]:
    """The incident's war-room lanes that exist, by lane. One query."""
    rooms = Room.objects.filter(kind=RoomKind.WAR_ROOM, incident=incident)
    return {room.lane: room for room in rooms}


def _lane(incident: Incident, lane: str, existing: dict[str, Room]) -> Room:
    room = existing.get(lane)
    if room is None:
        return Room.objects.create(
            kind=RoomKind.WAR_ROOM,
            incident=incident,
            lane=lane,
            service=incident.service,
            name=f"{incident.number} {LANE_NAMES[lane]}",
            topic=incident.title[:300],
        )
    if room.archived_at is not None:
        # Declared again after it was closed down: the same rooms, open again.
        room.archived_at = None
        room.save(update_fields=["archived_at"])
        send_event(
            ChatRoomEvent(op="update", room=actions.room_snapshot(room)),
            streams=[streams.room(room.pk)],
        )
    return room


def _add_members(room: Room, people: list[User], *, moderators: set[int]) -> None:
    """Add ``people`` not yet in ``room`` in one INSERT; those in ``moderators`` moderate it (a
    member made commander is raised to moderator). Each newcomer's tabs hear they joined."""
    present = dict(
        Membership.objects.filter(room=room, user__in=people).values_list("user_id", "role")
    )
    newcomers = [person for person in people if person.pk not in present]
    Membership.objects.bulk_create(
        [
            Membership(
                room=room,
                user=person,
                role=MemberRole.MODERATOR if person.pk in moderators else MemberRole.MEMBER,
                last_read_message_id=room.last_message_id,
            )
            for person in newcomers
        ],
        ignore_conflicts=True,
    )
    raised = [pk for pk, role in present.items() if pk in moderators and role != "moderator"]
    if raised:
        Membership.objects.filter(room=room, user_id__in=raised).update(role=MemberRole.MODERATOR)
    snapshot = actions.room_snapshot(room)
    batch: list[tuple[BaseEvent, list[str]]] = [
        (
            ChatRoomEvent(op="joined", room=snapshot, user_id=person.pk),
            [streams.room(room.pk), streams.user(person.pk)],
        )
        for person in newcomers
    ]
    send_events(batch)


def _involved(incident: Incident) -> list[User]:
    """The incident's affected people and followers who may see it (for a confidential incident
    only staff), active. One query."""
    people = User.objects.filter(
        Q(pk__in=AffectedUser.objects.filter(incident=incident).values("user_id"))
        | Q(pk__in=IncidentFollower.objects.filter(incident=incident).values("user_id")),
        is_active=True,
    )
    if is_confidential(incident):
        people = people.filter(pk__in=User.objects.filter(staff_condition()).values("pk"))
    return list(people.order_by("pk"))


def open_war_room(incident: Incident, declarer: User | None) -> tuple[Room, Room]:
    """Open (or, declared again, reopen) ``incident``'s war room: its responders lane with the
    commander and declarer as moderators, and its public lane with them and the people
    involved. Returns (responders, public). Called by ``incidents.major.do_declare_major``
    inside its transaction; idempotent."""
    existing = war_room_lanes(incident)
    responders = _lane(incident, Lane.RESPONDERS, existing)
    public = _lane(incident, Lane.PUBLIC, existing)
    leads = [person for person in (incident.commander, declarer) if person is not None]
    lead_ids = {person.pk for person in leads}
    unique_leads = list({person.pk: person for person in leads}.values())
    _add_members(responders, unique_leads, moderators=lead_ids)
    involved = [person for person in _involved(incident) if person.pk not in lead_ids]
    _add_members(public, unique_leads + involved, moderators=lead_ids)
    commander = incident.commander.display_name if incident.commander else "nobody yet"
    again = " again" if existing else ""
    for room in (responders, public):
        actions.post_system_message(
            room, f"{incident.number} was declared a major incident{again}. Commander: {commander}."
        )
    return responders, public


def mirror_official_update(incident: Incident, entry: TimelineEntry) -> None:
    """An official update on the incident, as an official message in its public lane (the text
    as the incident stored it, already redacted). Nothing when the lane is missing or closed
    down."""
    room = Room.objects.filter(
        kind=RoomKind.WAR_ROOM, incident=incident, lane=Lane.PUBLIC, archived_at__isnull=True
    ).first()
    if room is None or not entry.body.strip():
        return
    actions.post_system_message(room, entry.body, kind=MessageKind.OFFICIAL, author=entry.author)


def tell_war_room(incident: Incident, text: str) -> None:
    """A system message in both lanes (stood down, resolved); the rooms stay open."""
    rooms = Room.objects.filter(
        kind=RoomKind.WAR_ROOM, incident=incident, archived_at__isnull=True
    ).order_by("pk")
    for room in rooms:
        actions.post_system_message(room, text)


def close_war_room(incident: Incident) -> None:
    """Archive both lanes once the incident is closed or cancelled: readable, no more messages."""
    rooms = list(
        Room.objects.filter(kind=RoomKind.WAR_ROOM, incident=incident, archived_at__isnull=True)
    )
    if not rooms:
        return
    now = timezone.now()
    Room.objects.filter(pk__in=[room.pk for room in rooms]).update(archived_at=now)
    for room in rooms:
        room.archived_at = now
        send_event(
            ChatRoomEvent(op="update", room=actions.room_snapshot(room)),
            streams=[streams.room(room.pk)],
        )
