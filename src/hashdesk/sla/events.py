"""Events of service-level configuration, sent to staff (who alone may see it)."""

from typing import ClassVar

from hashdesk.core.events import BaseEvent


class BusinessCalendarEvent(BaseEvent):
    """A calendar was created, or its working periods or holidays changed."""

    type: ClassVar[str] = "business_calendar"
    calendar: dict[str, object]


class SlaPolicyEvent(BaseEvent):
    type: ClassVar[str] = "sla_policy"
    policy: dict[str, object]
