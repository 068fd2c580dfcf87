"""Creating incidents: numbering, priority, the reporter as first affected user, markdown."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from hashdesk.audit.models import AuditEntry
from hashdesk.catalog import actions as catalog_actions
from hashdesk.core.errors import NotFound, ValidationFailed
from hashdesk.incidents import actions
from hashdesk.incidents.models import AffectedUser, Incident, IncidentFollower
from hashdesk.incidents.priority import parse_matrix, priority_for


@pytest.mark.django_db
def test_numbers_follow_the_primary_key(requester, vpn_service):
    first = actions.do_create_incident(requester, title="One", description="", service=vpn_service)
    second = actions.do_create_incident(requester, title="Two", description="", service=vpn_service)
    assert first.number == f"INC-{first.pk:06d}"
    assert second.number == f"INC-{second.pk:06d}"
    assert Incident.objects.get(pk=first.pk).number == first.number


@pytest.mark.django_db
def test_reporter_is_affected_and_follows_and_creation_is_audited_and_announced(
    requester, vpn_service, capture_events
):
    with capture_events() as events:
        incident = actions.do_create_incident(
            requester, title="No VPN", description="", service=vpn_service, source="wall"
        )
    assert AffectedUser.objects.get(incident=incident).user == requester
    assert AffectedUser.objects.get(incident=incident).channel == "wall"
    assert IncidentFollower.objects.filter(incident=incident, user=requester).exists()
    assert AuditEntry.objects.filter(action="incident.create", object_id=str(incident.pk)).exists()
    assert [(e.type, e.op) for e in events] == [("incident", "create")]
    assert set(events[0].streams) == {"staff", f"user:{requester.pk}", f"incident:{incident.pk}"}
    assert incident.version == 1 and incident.state == "new"


@pytest.mark.django_db
def test_description_is_rendered_and_sanitised(requester, vpn_service):
    incident = actions.do_create_incident(
        requester,
        title="XSS",
        description="**bold** <script>alert(1)</script> [x](javascript:alert(1))",
        service=vpn_service,
    )
    assert "<strong>bold</strong>" in incident.description_html
    assert "<script" not in incident.description_html
    assert "href" not in incident.description_html


@pytest.mark.django_db
def test_bad_input_is_refused_and_nothing_is_written(requester, vpn_service, sso_service):
    item = catalog_actions.do_create_configuration_item(None, service=sso_service, name="idp-1")
    cases = [
        {"title": "  "},
        {"title": "x" * 201},
        {"description": "x" * 20_001},
        {"configuration_item": item},
        {"category": "weather"},
        {"impact": 7},
    ]
    for bad in cases:
        fields = {"title": "Fine", "description": "", "service": vpn_service, **bad}
        with pytest.raises(ValidationFailed):
            actions.do_create_incident(requester, **fields)
    assert not Incident.objects.exists()
    assert not AuditEntry.objects.filter(action="incident.create").exists()


@pytest.mark.django_db
def test_requesters_cannot_report_on_services_they_cannot_see(requester, security_service):
    with pytest.raises(NotFound):
        actions.do_create_incident(requester, title="x", description="", service=security_service)


@pytest.mark.django_db
def test_priority_comes_from_the_matrix(requester, vpn_service):
    incident = actions.do_create_incident(
        requester, title="Bad", description="", service=vpn_service, impact=1, urgency=2
    )
    assert incident.priority == 2
    assert priority_for(3, 3) == 5 and priority_for(1, 1) == 1 and priority_for(2, 3) == 4


@pytest.mark.django_db
def test_the_matrix_is_configurable(settings, requester, vpn_service):
    settings.INCIDENT_PRIORITY_MATRIX = {f"{i},{u}": 1 for i in (1, 2, 3) for u in (1, 2, 3)}
    incident = actions.do_create_incident(
        requester, title="All P1", description="", service=vpn_service
    )
    assert incident.priority == 1


@pytest.mark.parametrize(
    "matrix",
    [
        {},
        {"1,1": 1},
        {f"{i},{u}": 6 for i in (1, 2, 3) for u in (1, 2, 3)},
        {f"{i},{u}": "1" for i in (1, 2, 3) for u in (1, 2, 3)},
        {f"{i},{u}": True for i in (1, 2, 3) for u in (1, 2, 3)},
        {**{f"{i},{u}": 3 for i in (1, 2, 3) for u in (1, 2, 3)}, "4,4": 5},
        [1, 2, 3],
    ],
)
def test_bad_matrices_are_refused(matrix):
    with pytest.raises(ImproperlyConfigured):
        parse_matrix(matrix)
