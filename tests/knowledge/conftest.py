"""Fixtures for knowledge: a live-help conversation the desk answered, and roomy rate limits.

The conversations and posts are made through the product's actions, as people make them.
"""

from __future__ import annotations

from typing import Any

import pytest

from hashdesk.accounts.models import User
from hashdesk.chat import actions as chat_actions
from hashdesk.chat import help
from hashdesk.chat.models import Conversation


@pytest.fixture(autouse=True)
def _roomy_limits(settings: Any) -> None:
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "chat_message": (1000, 60),
        "wall_post": (1000, 60),
        "wall_post_ip": (1000, 60),
    }


@pytest.fixture
def answered_conversation(requester: User, vpn_agent: User, vpn_service: Any) -> Conversation:
    """The requester asked about the VPN; the VPN agent picked it up and answered."""
    conversation = help.do_open_conversation(
        requester, topic="VPN drops after the update", body="My #vpn drops every ten minutes."
    ).conversation
    help.do_pick_up(vpn_agent, conversation)
    room = conversation.room
    chat_actions.do_send_message(requester, room, body="It started after the update.")
    chat_actions.do_send_message(
        vpn_agent, room, body="Open the client settings and turn off *Fast reconnect*."
    )
    return Conversation.objects.select_related("room", "service", "agent").get(pk=conversation.pk)
