"""Visibility is decided in one place; this matrix proves what each role may see and hear."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from hashdesk.catalog import actions
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import ConfigurationItem, Service
from hashdesk.core import streams
from hashdesk.core.visibility import can_subscribe, can_view, default_streams, visible_to

ROLES = [
    "anonymous",
    "requester",
    "vpn_agent",
    "problem_manager",
    "change_manager",
    "administrator",
]

# Which service visibility levels each role may see.
EXPECTED = {
    "anonymous": {Visibility.PUBLIC},
    "requester": {Visibility.PUBLIC, Visibility.INTERNAL},
    "vpn_agent": set(Visibility),
    "problem_manager": set(Visibility),
    "change_manager": set(Visibility),
    "administrator": set(Visibility),
}


@pytest.fixture
def services_by_level(db):
    return {
        level: actions.do_create_service(
            None, name=f"{level} svc", hashtag=f"{level}svc", visibility=level
        )
        for level in Visibility
    }


def viewer(request, role):
    return AnonymousUser() if role == "anonymous" else request.getfixturevalue(role)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_services_and_their_streams(request, role, services_by_level):
    person = viewer(request, role)
    allowed = EXPECTED[role]
    listed = set(visible_to(person, Service.objects.all()).values_list("visibility", flat=True))
    assert listed == {str(level) for level in allowed}
    for level, service in services_by_level.items():
        assert can_view(person, service) is (level in allowed)
        assert can_subscribe(person, streams.service(service.pk)) is (level in allowed)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_configuration_items_follow_their_service_and_hide_from_anonymous(
    request, role, services_by_level
):
    for service in services_by_level.values():
        actions.do_create_configuration_item(None, service=service, name=f"{service.slug}-host")
    person = viewer(request, role)
    seen = set(
        visible_to(person, ConfigurationItem.objects.all()).values_list(
            "service__visibility", flat=True
        )
    )
    expected = set() if role == "anonymous" else {str(level) for level in EXPECTED[role]}
    assert seen == expected


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_general_streams(request, role, requester, network_team):
    person = viewer(request, role)
    staff = role not in {"anonymous", "requester"}
    assert can_subscribe(person, streams.PUBLIC)
    assert can_subscribe(person, streams.MEMBERS) is (role != "anonymous")
    assert can_subscribe(person, streams.STAFF) is staff
    # Only the person themselves listens to their personal stream.
    assert can_subscribe(person, streams.user(requester.pk)) is (role == "requester")
    assert can_subscribe(person, streams.team(network_team.pk)) is staff
    assert set(default_streams(person)) >= {streams.PUBLIC}
    for bogus in [
        "",
        "user:",
        "user:abc",
        "service:-1",
        "room:1",
        "staff:1",
        "x" * 500,
        "user:" + "9" * 40,
    ]:
        assert not can_subscribe(person, bogus)


@pytest.mark.django_db
def test_team_members_hear_their_team(requester, network_team):
    from hashdesk.accounts.actions import do_add_team_member

    assert not can_subscribe(requester, streams.team(network_team.pk))
    do_add_team_member(None, network_team, requester)
    assert can_subscribe(requester, streams.team(network_team.pk))
