"""The status page's tiers agree with core.visibility: one place decides who sees what."""

from __future__ import annotations

from itertools import product
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.changes.choices import ChangeState
from hashdesk.changes.models import Change
from hashdesk.core.visibility import visible_to
from hashdesk.incidents.models import Incident
from hashdesk.status.tiers import (
    MEMBERS,
    PUBLIC,
    STAFF,
    change_filter,
    listed_incident_filter,
    service_filter,
    tier_for,
)
from tests.status.support import make_change, make_incident, make_service

pytestmark = pytest.mark.django_db

LEVELS = ("public", "internal", "confidential")


@pytest.fixture
def matrix(requester: User, change_manager: User) -> dict[str, Any]:
    """A service per level, an incident per (service level, incident level), and a change per
    service and per pair of services."""
    services = {level: make_service(f"Service {level}", visibility=level) for level in LEVELS}
    reporter = requester
    for service_level, incident_level in product(LEVELS, LEVELS):
        make_incident(
            services[service_level],
            reporter,
            title=f"{incident_level} on {service_level}",
            visibility=incident_level,
        )
    for level in LEVELS:
        make_change(change_manager, [services[level]], summary=f"change on {level}")
        if level != "public":
            make_change(
                change_manager, [services["public"], services[level]], summary=f"public+{level}"
            )
    return services


def test_tier_follows_visibility_levels(requester: User, vpn_agent: User) -> None:
    assert tier_for(AnonymousUser()) is PUBLIC
    assert tier_for(None) is PUBLIC
    assert tier_for(requester) is MEMBERS
    assert tier_for(vpn_agent) is STAFF


def test_services_agree_with_visible_to(
    matrix: dict[str, Any], requester: User, vpn_agent: User
) -> None:
    for viewer in (AnonymousUser(), requester, vpn_agent):
        tier = tier_for(viewer)
        ours = set(Service.objects.filter(service_filter(tier)))
        theirs = set(visible_to(viewer, Service.objects.filter(is_active=True)))
        assert ours == theirs, tier.key


def test_incidents_agree_with_visible_to(
    matrix: dict[str, Any], other_requester: User, vpn_agent: User
) -> None:
    # A member the incidents do not involve: the page is the same for every member.
    members = set(Incident.objects.filter(listed_incident_filter(MEMBERS)))
    assert members == set(visible_to(other_requester, Incident.objects.all()))
    assert {incident.title for incident in members} == {
        "public on public",
        "public on internal",
    }
    staff = set(Incident.objects.filter(listed_incident_filter(STAFF)))
    assert staff == set(visible_to(vpn_agent, Incident.objects.all()))
    # Anonymous visitors see no incident record anywhere but here: what a member may see, on
    # public services only.
    public = set(Incident.objects.filter(listed_incident_filter(PUBLIC)))
    assert public == {i for i in members if i.service.visibility == "public"}
    assert {incident.title for incident in public} == {"public on public"}


def test_changes_agree_with_visible_to(
    matrix: dict[str, Any], other_requester: User, vpn_agent: User
) -> None:
    listed = Change.objects.filter(state=ChangeState.SCHEDULED)
    members = set(listed.filter(change_filter(MEMBERS)))
    assert members == set(visible_to(other_requester, listed))
    assert set(listed.filter(change_filter(STAFF))) == set(visible_to(vpn_agent, listed))
    public = {change.summary for change in listed.filter(change_filter(PUBLIC))}
    assert public == {"change on public"}
