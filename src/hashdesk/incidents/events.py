"""Events of incidents. Payloads on requester streams never carry work notes."""

from typing import ClassVar

from hashdesk.core.events import BaseEvent


class IncidentEvent(BaseEvent):
    """``op``: create, update, transition, affected (affected users changed) or timeline.

    ``entry`` is the timeline entry the change produced, when there is one to show.
    """

    type: ClassVar[str] = "incident"
    incident: dict[str, object]
    entry: dict[str, object] | None = None
