"""Events of incidents. Payloads on requester streams never carry work notes."""

from typing import ClassVar

from hashdesk.core.events import BaseEvent


class IncidentEvent(BaseEvent):
    """``op``: create, update, transition, affected (affected users changed), timeline, link,
    merge, major (declared or stood down; see incidents/linking.py and incidents/major.py), or
    sla_warning / sla_breach (staff and the assignment group only; see incidents/sla.py).

    ``entry`` is the timeline entry the change produced, when there is one to show; ``sla`` is
    the clock that warned or breached.
    """

    type: ClassVar[str] = "incident"
    incident: dict[str, object]
    entry: dict[str, object] | None = None
    sla: dict[str, object] | None = None


class MajorIncidentEvent(BaseEvent):
    """The major-incident process (incidents/major.py): ``op`` is declared, update (an official
    update), update_due (staff only: the commander owes an update), stood_down or resolved.

    Published on ``staff``, the incident's service and every service depending on it
    (``service:<id>``) and ``members`` — the hooks for the status page, the wall and chat tools.
    ``services`` lists the incident's service first, then its dependents; ``entry`` is the
    public timeline entry (the declaration, the official update, the stand-down).
    """

    type: ClassVar[str] = "major_incident"
    incident: dict[str, object]
    services: list[int]
    entry: dict[str, object] | None = None
