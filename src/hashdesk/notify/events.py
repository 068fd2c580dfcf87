"""Events of the in-app notification centre."""

from typing import ClassVar

from hashdesk.core.events import BaseEvent


class NotificationEvent(BaseEvent):
    type: ClassVar[str] = "notification"
    notification: dict[str, object]
    unread_count: int
