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


# --- Incidents and what hangs off them -------------------------------------------------------


@pytest.fixture
def incidents_by_visibility(requester, vpn_agent, vpn_service):
    """One incident per record visibility, reported by a colleague of the requester."""
    from hashdesk.accounts.actions import do_create_user
    from hashdesk.incidents import actions as incident_actions

    colleague = do_create_user(None, email="colleague@example.test", display_name="Colleague")
    made = {}
    for level in Visibility:
        incident = incident_actions.do_create_incident(
            colleague, title=f"{level} fault", description="", service=vpn_service
        )
        if level != Visibility.INTERNAL:
            incident = incident_actions.do_update_incident(
                vpn_agent, incident, expected_version=incident.version, visibility=level
            )
        made[level] = incident
    return made


def _attach(incident, *, public):
    from hashdesk.incidents.models import Attachment

    return Attachment.objects.create(
        incident=incident,
        filename="log.txt",
        content_type="text/plain",
        size=1,
        sha256="0" * 64,
        storage_name=f"matrix-{incident.pk}-{public}",
        is_public=public,
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_incidents_attachments_links_and_their_streams(request, role, incidents_by_visibility):
    from hashdesk.incidents.models import Attachment, Incident, IncidentLink

    person = viewer(request, role)
    staff = role not in {"anonymous", "requester"}
    # A requester sees a colleague's incident only when it is public; staff see every one.
    allowed = set(Visibility) if staff else ({Visibility.PUBLIC} if role == "requester" else set())
    for level, incident in incidents_by_visibility.items():
        assert can_view(person, incident) is (level in allowed), (role, level)
        assert can_subscribe(person, streams.incident(incident.pk)) is (level in allowed)
        public_file, internal_file = _attach(incident, public=True), _attach(incident, public=False)
        assert can_view(person, public_file) is (level in allowed)
        # Internal attachments are staff only, like work notes.
        assert can_view(person, internal_file) is (staff and level in allowed)
    public, internal = (
        incidents_by_visibility[Visibility.PUBLIC],
        incidents_by_visibility[Visibility.INTERNAL],
    )
    both_public = IncidentLink.objects.create(
        from_incident=public, to_incident=incidents_by_visibility[Visibility.CONFIDENTIAL],
        kind="related",
    )  # fmt: skip
    assert can_view(person, both_public) is staff  # one end is confidential
    to_internal = IncidentLink.objects.create(
        from_incident=public, to_incident=internal, kind="related"
    )
    assert can_view(person, to_internal) is staff
    assert visible_to(person, Incident.objects.all()).count() == len(allowed)
    assert visible_to(person, Attachment.objects.filter(is_public=False)).count() == (
        len(allowed) if staff else 0
    )


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_saved_views_are_personal(request, role, vpn_agent):
    from hashdesk.incidents.models import SavedView

    mine = SavedView.objects.create(owner=vpn_agent, name="P1 on VPN", query="priority=1")
    person = viewer(request, role)
    assert can_view(person, mine) is (role == "vpn_agent")
