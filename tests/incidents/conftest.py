"""Fixtures for incidents: one reported by the requester on the public VPN service."""

from __future__ import annotations

import pytest

from hashdesk.incidents import actions
from hashdesk.incidents.models import Incident


@pytest.fixture
def vpn_incident(requester, vpn_service) -> Incident:
    return actions.do_create_incident(
        requester,
        title="VPN drops every ten minutes",
        description="Since this morning the **VPN** disconnects.",
        service=vpn_service,
        category="network",
    )
