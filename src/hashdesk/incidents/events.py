"""Events of incidents. Payloads on requester streams never carry work notes."""

from typing import ClassVar

from hashdesk.core.events import BaseEvent


class IncidentEvent(BaseEvent):
    """``op``: create, update, transition, affected (affected users changed), timeline, or
    sla_warning / sla_breach (staff and the assignment group only; see incidents/sla.py).

    ``entry`` is the timeline entry the change produced, when there is one to show; ``sla`` is
    the clock that warned or breached.
    """

    type: ClassVar[str] = "incident"
    incident: dict[str, object]
    entry: dict[str, object] | None = None
    sla: dict[str, object] | None = None
