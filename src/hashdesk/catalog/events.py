"""Events of the service catalogue."""

from typing import ClassVar

from hashdesk.core.events import BaseEvent


class ServiceEvent(BaseEvent):
    """A service was created, updated or retired, or its dependencies changed."""

    type: ClassVar[str] = "service"
    service: dict[str, object]


class ConfigurationItemEvent(BaseEvent):
    type: ClassVar[str] = "configuration_item"
    configuration_item: dict[str, object]
