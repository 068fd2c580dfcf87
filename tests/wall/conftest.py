"""Fixtures for the wall: a team and its member, and a roomy rate limit for posting.

Posts are made in the tests themselves, through the actions, so each test shows its own data.
"""

from __future__ import annotations

from typing import Any

import pytest

from hashdesk.accounts import actions as account_actions
from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import Team, User
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.models import Incident


@pytest.fixture(autouse=True)
def _roomy_post_limits(settings: Any) -> None:
    """Tests post many times in a second; the rate-limit tests set their own small limits."""
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "wall_post": (1000, 60),
        "wall_post_ip": (1000, 60),
    }


@pytest.fixture
def finance_team(db: Any, requester: User) -> Team:
    team = account_actions.do_create_team(None, name="Finance")
    account_actions.do_add_team_member(None, team, requester)
    return team


@pytest.fixture
def ana(make_person: Any) -> User:
    """Someone to mention: her handle is @ana.lopez."""
    return make_person("ana.lopez@example.test", roles=[Role.REQUESTER])


@pytest.fixture
def vpn_incident(requester: User, vpn_service: Any) -> Incident:
    return incident_actions.do_create_incident(
        requester,
        title="VPN drops every ten minutes",
        description="Since this morning the VPN disconnects.",
        service=vpn_service,
        category="network",
    )
