"""The incident page's "Publish" panel for incidents behind the human gate
(alertmanager/panels.py, through incidents/panels.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.choices import Category, Level, ResolutionCode, State
from hashdesk.incidents.models import Incident
from tests.integrations.alertmanager.conftest import alert, notification

Receiver = tuple[Any, str]
NOTICE = "hidden from the wall and status page until published"


def _page_url(incident: Incident) -> str:
    return f"/incidents/{incident.number}/"


def _publish_url(incident: Incident) -> str:
    return f"/integrations/alertmanager/awaiting/{incident.pk}/publish"


def _signed_in(person: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(person)
    return client


@pytest.fixture
def gated_incident(receiver: Receiver, post: Callable[..., Any]) -> Incident:
    post(receiver[1], notification([alert("a1")]))
    incident = Incident.objects.get()
    assert incident.visibility == Visibility.INTERNAL
    return incident


def _alert_group_queries(client: Client, incident: Incident, query_count: Any) -> tuple[str, int]:
    """The page, and how many of its queries asked for alert groups."""
    with query_count() as queries:
        response = client.get(_page_url(incident))
    assert response.status_code == 200
    asked = [q for q in queries.captured_queries if "alertmanager_alertgroup" in q["sql"]]
    return response.content.decode(), len(asked)


def test_staff_see_the_notice_and_a_publish_form_on_a_gated_incident(
    receiver: Receiver, gated_incident: Incident, vpn_agent: User, query_count: Any
) -> None:
    html, asked = _alert_group_queries(_signed_in(vpn_agent), gated_incident, query_count)
    assert f"Opened by Alertmanager receiver <strong>{receiver[0].name}</strong>" in html
    assert NOTICE in html
    form = re.search(
        r'<form method="post" action="([^"]+)">(.*?)</form>', html[html.index(NOTICE) :], re.S
    )
    assert form is not None and form.group(1) == _publish_url(gated_incident)
    assert 'name="csrfmiddlewaretoken"' in form.group(2)
    assert f'name="next" value="{_page_url(gated_incident)}"' in form.group(2)
    assert f'name="version" value="{gated_incident.version}"' in form.group(2)
    # One query for the panel, whatever else the page shows.
    assert asked == 1
    # The live fragment carries the panel too, so it goes away when someone else publishes.
    fragment = _signed_in(vpn_agent).get(f"{_page_url(gated_incident)}timeline/")
    assert NOTICE in fragment.content.decode()


def test_requesters_never_see_the_notice(
    gated_incident: Incident, vpn_agent: User, requester: User, query_count: Any
) -> None:
    # An affected requester may see the internal incident, but not the staff's business.
    incident_actions.do_add_affected_user(vpn_agent, gated_incident, requester)
    html, asked = _alert_group_queries(_signed_in(requester), gated_incident, query_count)
    assert gated_incident.number in html
    assert NOTICE not in html and _publish_url(gated_incident) not in html
    assert asked == 0


def test_no_notice_once_public_resolved_or_when_the_receiver_has_no_gate(
    make_receiver: Any,
    gated_incident: Incident,
    vpn_agent: User,
    vpn_service: Service,
    post: Callable[..., Any],
    query_count: Any,
) -> None:
    staff = _signed_in(vpn_agent)
    # Published on the incident itself (the ordinary visibility change): no panel, no query.
    public = incident_actions.do_update_incident(
        vpn_agent,
        gated_incident,
        expected_version=gated_incident.version,
        visibility=Visibility.PUBLIC,
    )
    html, asked = _alert_group_queries(staff, public, query_count)
    assert (NOTICE in html, asked) == (False, 0)

    # A receiver without the gate whose incident an agent made internal again: not gated.
    _, token = make_receiver("Staging", human_gate=False)
    post(token, notification([alert("s1")], group_key="staging"))
    ungated = Incident.objects.exclude(pk=gated_incident.pk).get()
    ungated = incident_actions.do_update_incident(
        vpn_agent, ungated, expected_version=ungated.version, visibility=Visibility.INTERNAL
    )
    html, _ = _alert_group_queries(staff, ungated, query_count)
    assert NOTICE not in html

    # An internal incident no alert opened.
    plain = incident_actions.do_create_incident(
        vpn_agent,
        title="Printer jammed",
        description="Paper everywhere.",
        service=vpn_service,
        category=Category.OTHER,
        impact=Level.LOW,
        urgency=Level.LOW,
    )
    assert plain.visibility != Visibility.PUBLIC
    html, _ = _alert_group_queries(staff, plain, query_count)
    assert NOTICE not in html


def test_no_notice_on_a_resolved_gated_incident(
    gated_incident: Incident, vpn_agent: User, query_count: Any
) -> None:
    incident = gated_incident
    for state in (State.IN_PROGRESS, State.RESOLVED):
        extra: dict[str, Any] = {}
        if state == State.RESOLVED:
            extra = {"resolution_code": ResolutionCode.SOLVED, "resolution_notes": "Fixed."}
        if state == State.IN_PROGRESS:
            incident = incident_actions.do_assign(
                vpn_agent, incident, expected_version=incident.version, assignee=vpn_agent
            )
        incident = incident_actions.do_transition(
            vpn_agent, incident, state, expected_version=incident.version, **extra
        )
    html, asked = _alert_group_queries(_signed_in(vpn_agent), incident, query_count)
    assert (NOTICE in html, asked) == (False, 0)


def test_publishing_from_the_panel_makes_it_public_and_comes_back(
    gated_incident: Incident, vpn_agent: User, query_count: Any
) -> None:
    client = _signed_in(vpn_agent, csrf=True)
    html, _ = _alert_group_queries(client, gated_incident, query_count)
    with query_count() as queries:
        client.get(_page_url(gated_incident))
    before = len(queries)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert token is not None

    # Without the form's token the post is refused and changes nothing.
    refused = client.post(
        _publish_url(gated_incident),
        {"version": gated_incident.version, "next": _page_url(gated_incident)},
    )
    assert refused.status_code == 403
    gated_incident.refresh_from_db()
    assert gated_incident.visibility == Visibility.INTERNAL

    published = client.post(
        _publish_url(gated_incident),
        {
            "csrfmiddlewaretoken": token.group(1),
            "version": gated_incident.version,
            "next": _page_url(gated_incident),
        },
    )
    assert published.status_code == 302
    assert published["Location"] == _page_url(gated_incident)
    gated_incident.refresh_from_db()
    assert gated_incident.visibility == Visibility.PUBLIC
    audit = AuditEntry.objects.filter(action="incident.update").order_by("-sequence").first()
    assert audit is not None and audit.actor == vpn_agent
    assert audit.object_id == str(gated_incident.pk)

    page = client.get(published["Location"]).content.decode()
    assert f"{gated_incident.number} is published." in page
    assert NOTICE not in page
    # The page's cost: the panel's one query is gone, nothing else changed.
    with query_count() as queries:
        client.get(_page_url(gated_incident))
    assert before - len(queries) == 1


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/incidents/",
        "//evil.example/incidents/",
        "/\\evil.example/incidents/",
        "javascript:alert(1)",
        "incidents/INC-000001/",
        "",
    ],
)
def test_a_next_that_is_not_a_local_path_goes_to_alerts_to_publish(
    gated_incident: Incident, vpn_agent: User, next_url: str
) -> None:
    response = _signed_in(vpn_agent).post(
        _publish_url(gated_incident), {"version": gated_incident.version, "next": next_url}
    )
    assert response.status_code == 302
    assert response["Location"] == "/integrations/alertmanager/awaiting/"
    gated_incident.refresh_from_db()
    assert gated_incident.visibility == Visibility.PUBLIC
