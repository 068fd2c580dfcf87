"""Who may see which room, message and conversation (registered with hashdesk.core.visibility;
docs/chat.md, "Visibility").

- A **service room** is open to whoever may see its service.
- A **war room**'s working lane (responders) is for staff; its read-and-ask lane for whoever may
  see the incident. A war room of a **confidential** incident is open only to the people named
  in it (its members), staff included.
- A **live-help** conversation is its requester's and the service desk's.
- Anyone sees a room they are a member of — except that someone who is not staff never sees a
  working lane, whatever membership a mistake might have given them.

Messages follow their room; deleted messages are seen by staff only. Sending and live delivery
also need membership (chat.actions, core.visibility.can_subscribe).
"""

from django.db.models import Q

from hashdesk.catalog.choices import Visibility
from hashdesk.chat.choices import Lane, RoomKind
from hashdesk.chat.models import ChatAttachment, Conversation, Membership, Message, Room
from hashdesk.core import visibility
from hashdesk.incidents.models import Incident


def _confidential_incident() -> Q:
    return Q(incident__visibility=Visibility.CONFIDENTIAL) | Q(
        incident__service__visibility=Visibility.CONFIDENTIAL
    )


@visibility.register(Room)
def rooms_visible(user: visibility.Viewer) -> Q:
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    member = Q(pk__in=Membership.objects.filter(user_id=user.pk).values("room_id"))
    service_room = Q(
        kind=RoomKind.SERVICE, service__visibility__in=visibility.visibility_levels(user)
    )
    if visibility.is_staff(user):
        war_room = Q(kind=RoomKind.WAR_ROOM) & ~_confidential_incident()
        return member | service_room | war_room | Q(kind=RoomKind.HELP)
    incidents = visibility.visible_to(user, Incident.objects.all()).values("pk")
    public_lane = (
        Q(kind=RoomKind.WAR_ROOM, lane=Lane.PUBLIC, incident__in=incidents)
        & ~_confidential_incident()
    )
    own_help = Q(kind=RoomKind.HELP, conversation__requester_id=user.pk)
    return (member & ~Q(lane=Lane.RESPONDERS)) | service_room | public_lane | own_help


def member_sees(user: visibility.Viewer, room: Room) -> bool:
    """For a **member** of ``room``: whether they may see it — ``rooms_visible`` for that
    case, decided without a query (sending and typing ask it on every message): members see
    their rooms, except that someone who is not staff never sees a working lane.
    tests/chat/test_visibility_matrix.py checks it against the rule."""
    return visibility.is_staff(user) or room.lane != Lane.RESPONDERS


def _visible_rooms(user: visibility.Viewer) -> Q:
    return Q(room__in=Room.objects.filter(rooms_visible(user)).values("pk"))


@visibility.register(Message)
def messages_visible(user: visibility.Viewer) -> Q:
    rooms = _visible_rooms(user)
    if visibility.is_staff(user):
        return rooms
    return rooms & Q(deleted_at__isnull=True)


@visibility.register(Membership)
def memberships_visible(user: visibility.Viewer) -> Q:
    return _visible_rooms(user)


@visibility.register(Conversation)
def conversations_visible(user: visibility.Viewer) -> Q:
    if visibility.is_staff(user):
        return Q()
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    return Q(requester_id=user.pk)


@visibility.register(ChatAttachment)
def attachments_visible(user: visibility.Viewer) -> Q:
    """An attached file is seen with its message; one not yet sent, by its uploader only."""
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    sent = Q(message__in=Message.objects.filter(messages_visible(user)).values("pk"))
    return sent | Q(message__isnull=True, uploader_id=user.pk)
