"""``{% war_room_panel incident %}``: links to a major incident's war-room lanes on its page,
for staff who may see them (docs/chat.md, "War rooms"). Nothing, and no query, for anyone
else; one query for staff."""

from __future__ import annotations

from typing import Any

from django import template

from hashdesk.chat.choices import Lane, RoomKind
from hashdesk.chat.models import Room
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.incidents.models import Incident

register = template.Library()


@register.inclusion_tag("chat/includes/war_room_panel.html", takes_context=True)
def war_room_panel(context: dict[str, Any], incident: Incident) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not is_staff(user):
        return {"lanes": []}
    rooms = visible_to(user, Room.objects.filter(kind=RoomKind.WAR_ROOM, incident=incident))
    order = {Lane.RESPONDERS: 0, Lane.PUBLIC: 1}
    return {"lanes": sorted(rooms, key=lambda room: order.get(room.lane, 2))}
