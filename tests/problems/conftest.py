"""Fixtures of problem management: incidents people reported, a problem linking them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.incidents.actions import do_create_incident
from hashdesk.incidents.models import Incident
from hashdesk.problems.actions import do_create_problem
from hashdesk.problems.models import Problem


@pytest.fixture
def report(db: Any) -> Callable[..., Incident]:
    def make(person: User, service: Service, title: str, description: str = "") -> Incident:
        return do_create_incident(
            person, title=title, description=description or title, service=service
        )

    return make


@pytest.fixture
def vpn_incidents(
    requester: User,
    other_requester: User,
    vpn_service: Service,
    report: Callable[..., Incident],
) -> list[Incident]:
    return [
        report(requester, vpn_service, "VPN drops every 10 minutes on Wi-Fi"),
        report(other_requester, vpn_service, "VPN disconnects every ten minutes"),
        report(requester, vpn_service, "VPN keeps disconnecting at the office"),
    ]


@pytest.fixture
def vpn_problem(problem_manager: User, vpn_incidents: list[Incident]) -> Problem:
    return do_create_problem(
        problem_manager,
        title="VPN drops every 10 minutes",
        description="The VPN client disconnects every ten minutes on Wi-Fi.",
        incident_ids=[i.pk for i in vpn_incidents],
    )
