"""The status page's live event (docs/status.md, "Live updates")."""

from typing import ClassVar

from hashdesk.core.events import BaseEvent


class StatusEvent(BaseEvent):
    """A tier's status page changed. Sent once per changed tier on that tier's stream
    (``public``, ``members``, ``staff``), carrying that tier's states only: the headline and,
    for each service it may see, the state and the reasons."""

    type: ClassVar[str] = "status"
    tier: str
    digest: str
    overall: dict[str, str]
    services: list[dict[str, object]]
