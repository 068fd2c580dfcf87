"""Incidents in the visibility matrix: who sees which incident and which timeline entries."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from hashdesk.core.visibility import can_view, visible_to
from hashdesk.incidents import actions
from hashdesk.incidents.models import AffectedUser, Incident, IncidentFollower, TimelineEntry

ROLES = ["anonymous", "requester", "other_requester", "vpn_agent", "administrator"]


@pytest.fixture
def incidents(requester, other_requester, vpn_agent, vpn_service, security_service):
    def report(title, visibility, service=vpn_service):
        incident = actions.do_create_incident(
            vpn_agent, title=title, description="", service=service, reporter=requester
        )
        if visibility != "internal":
            incident = actions.do_update_incident(
                vpn_agent, incident, expected_version=1, visibility=visibility
            )
        return incident

    made = {
        "internal": report("internal", "internal"),
        "public": report("public", "public"),
        "confidential": report("confidential", "confidential"),
        "secret_service": report("on a confidential service", "internal", security_service),
    }
    for incident in made.values():
        actions.do_add_update(vpn_agent, incident, body="note", public=False)
        actions.do_add_update(vpn_agent, incident, body="update", public=True)
    return made


# Which incidents each role may see (the requester reported all of them).
EXPECTED = {
    "anonymous": set(),
    "requester": {"internal", "public"},
    "other_requester": {"public"},
    "vpn_agent": {"internal", "public", "confidential", "secret_service"},
    "administrator": {"internal", "public", "confidential", "secret_service"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_incidents_and_their_timeline(request, role, incidents):
    person = AnonymousUser() if role == "anonymous" else request.getfixturevalue(role)
    allowed = EXPECTED[role]
    listed = set(visible_to(person, Incident.objects.all()).values_list("title", flat=True))
    assert listed == {incidents[name].title for name in allowed}
    for name, incident in incidents.items():
        assert can_view(person, incident) is (name in allowed)
    entries = visible_to(person, TimelineEntry.objects.all())
    staff = role in {"vpn_agent", "administrator"}
    assert entries.filter(kind="work_note").exists() is staff
    assert set(entries.values_list("incident_id", flat=True)) == {
        incidents[name].pk for name in allowed
    }
    assert set(
        visible_to(person, AffectedUser.objects.all()).values_list("incident_id", flat=True)
    ) == {incidents[name].pk for name in allowed}
    assert set(
        visible_to(person, IncidentFollower.objects.all()).values_list("incident_id", flat=True)
    ) == {incidents[name].pk for name in allowed}


@pytest.mark.django_db
def test_being_affected_or_following_opens_an_internal_incident(
    other_requester, vpn_agent, incidents
):
    internal = incidents["internal"]
    assert not can_view(other_requester, internal)
    actions.do_add_affected_user(vpn_agent, internal, other_requester, channel="web")
    assert can_view(other_requester, internal)
    # Still never a confidential one, even when involved.
    confidential = incidents["confidential"]
    actions.do_add_affected_user(vpn_agent, confidential, other_requester, channel="web")
    assert not can_view(other_requester, confidential)
