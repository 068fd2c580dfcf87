"""Fixtures for chat: the VPN service's room, and a roomy message rate limit."""

from __future__ import annotations

from typing import Any

import pytest

from hashdesk.chat import actions
from hashdesk.chat.models import Room


@pytest.fixture(autouse=True)
def _roomy_message_limit(settings: Any) -> None:
    """Tests send many messages in a second; the rate-limit tests set their own small limit."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "chat_message": (1000, 60)}


@pytest.fixture
def vpn_room(vpn_service: Any) -> Room:
    return actions.service_room(vpn_service)


@pytest.fixture
def confidential_room(security_service: Any) -> Room:
    """The room of a confidential service: only staff may know it exists."""
    return actions.service_room(security_service)
