"""Events of changes (docs/changes.md, "Events")."""

from typing import ClassVar

from hashdesk.core.events import BaseEvent


class ChangeEvent(BaseEvent):
    """``op``: create, update, transition, approval (a CAB member decided) or the name another
    change module gives (announce, check...). ``change`` is ``actions.change_snapshot``."""

    type: ClassVar[str] = "change"
    change: dict[str, object]
