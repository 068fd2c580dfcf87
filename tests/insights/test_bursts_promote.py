"""Promoting a probable incident (insights/bursts/promote.py), dismissing it, and the page and API
that show it: one transaction, idempotent (409 the second time), staff only, and reports shown
only where the agent may see them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.chat import actions as chat_actions
from hashdesk.chat.choices import Lane, RoomKind
from hashdesk.chat.models import Message, Room
from hashdesk.core.errors import Conflict, Forbidden
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.choices import Channel, LinkKind
from hashdesk.incidents.models import AffectedUser, Incident, IncidentFollower, IncidentLink
from hashdesk.insights.bursts import live, promote
from hashdesk.insights.choices import ItemKind, ProbableState
from hashdesk.insights.models import ProbableIncident, ProbableReport
from hashdesk.wall import actions as wall_actions
from hashdesk.wall.models import Post
from tests.api.support import ApiCaller, raw_token

BURST = [
    "#wifi down in building B",
    "No #wifi in building B since 10",
    "#wifi building B keeps dropping",
    "#wifi dead on floor 2 of building B",
    "building B #wifi down for everyone here",
]


@pytest.fixture
def wifi_service(db: Any, network_team: Any) -> Service:
    return catalog_actions.do_create_service(
        None, name="Wi-Fi", hashtag="wifi", owner_team=network_team, visibility=Visibility.PUBLIC
    )


@pytest.fixture
def building_b(make_person: Callable[..., User]) -> list[User]:
    return [make_person(f"building.b{n}@example.test", roles=[Role.REQUESTER]) for n in range(6)]


@pytest.fixture
def burst(wifi_service: Service, building_b: list[User]) -> ProbableIncident:
    for person, text in zip(building_b, BURST, strict=False):
        wall_actions.do_post(person, body=text)
    live.run_minute(timezone.now() + timedelta(seconds=1))
    return ProbableIncident.objects.get()


def _api(person: User) -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person, 'write')}"})


def test_promote_links_the_posts_and_makes_their_authors_affected(
    burst: ProbableIncident,
    building_b: list[User],
    vpn_agent: User,
    wifi_service: Service,
    capture_events: Any,
) -> None:
    with capture_events() as events:
        incident = promote.do_promote_probable(vpn_agent, burst)

    assert incident.service == wifi_service
    assert incident.visibility == Visibility.PUBLIC  # a public burst on a public service
    assert incident.title == burst.title
    assert set(Post.objects.values_list("incident", flat=True)) == {incident.pk}
    authors = {person.pk for person in building_b[:5]}
    assert set(AffectedUser.objects.filter(incident=incident).values_list("user", flat=True)) == (
        authors
    )
    assert set(IncidentFollower.objects.values_list("user", flat=True)) >= authors
    burst.refresh_from_db()
    assert burst.state == ProbableState.PROMOTED and burst.incident == incident
    assert burst.decided_by == vpn_agent and burst.decided_at is not None
    assert AuditEntry.objects.filter(action="insights.probable_promote").count() == 1
    promoted = [e for e in events if e.type == "probable_incident"]
    assert [(e.op, e.streams) for e in promoted] == [("promote", ["staff"])]
    assert promoted[0].payload["probable"]["incident_id"] == incident.pk

    with pytest.raises(Conflict):
        promote.do_promote_probable(vpn_agent, burst)
    assert Incident.objects.count() == 1


def test_chat_and_incident_reports_become_affected_people_and_linked_incidents(
    wifi_service: Service, building_b: list[User], requester: User, vpn_agent: User
) -> None:
    room = Room.objects.get(kind=RoomKind.SERVICE, service=wifi_service)
    said = []
    for person in building_b[:3]:
        chat_actions.do_join_room(person, room)
        said.append(chat_actions.do_send_message(person, room, body="no wifi here").message)
    emailed = incident_actions.do_create_incident(
        requester, title="No wifi", description="mail", service=wifi_service, source=Channel.EMAIL
    )
    live.run_minute(timezone.now() + timedelta(seconds=1))
    probable = ProbableIncident.objects.get()
    assert probable.items.filter(kind=ItemKind.CHAT).count() == 3

    incident = promote.do_promote_probable(vpn_agent, probable)

    assert incident.pk != emailed.pk
    affected = set(AffectedUser.objects.filter(incident=incident).values_list("user", flat=True))
    assert affected == {person.pk for person in building_b[:3]} | {requester.pk}
    assert IncidentLink.objects.filter(
        from_incident=emailed, to_incident=incident, kind=LinkKind.DUPLICATE_OF
    ).exists()


def test_dismiss_closes_it_once(burst: ProbableIncident, vpn_agent: User) -> None:
    promote.do_dismiss_probable(vpn_agent, burst)
    burst.refresh_from_db()
    assert burst.state == ProbableState.DISMISSED
    with pytest.raises(Conflict):
        promote.do_dismiss_probable(vpn_agent, burst)
    with pytest.raises(Conflict):
        promote.do_promote_probable(vpn_agent, burst)
    assert not Incident.objects.exists()


def test_only_staff_decide(burst: ProbableIncident, requester: User) -> None:
    with pytest.raises(Forbidden):
        promote.do_promote_probable(requester, burst)
    with pytest.raises(Forbidden):
        promote.do_dismiss_probable(requester, burst)
    assert not Incident.objects.exists()


def test_a_failed_promote_leaves_nothing_behind(
    burst: ProbableIncident, vpn_agent: User, monkeypatch: Any
) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise Conflict("simulated")

    monkeypatch.setattr(promote, "_decide", fail)
    with pytest.raises(Conflict):
        promote.do_promote_probable(vpn_agent, burst)
    assert not Incident.objects.exists()
    assert not Post.objects.filter(incident__isnull=False).exists()
    burst.refresh_from_db()
    assert burst.state == ProbableState.OPEN


def _secret_report(probable: ProbableIncident, vpn_agent: User, sso_service: Service) -> Message:
    """A message in the responders' lane of a confidential incident's war room: only its
    members may read it, and this agent is not one."""
    secret = incident_actions.do_create_incident(
        vpn_agent, title="Breach", description="x", service=sso_service
    )
    secret = incident_actions.do_update_incident(
        vpn_agent, secret, expected_version=secret.version, visibility=Visibility.CONFIDENTIAL
    )
    room = Room.objects.create(
        kind=RoomKind.WAR_ROOM, name="war", incident=secret, lane=Lane.RESPONDERS
    )
    message = Message.objects.create(room=room, author=vpn_agent, body="SECRET-TEXT")
    ProbableReport.objects.create(
        probable=probable, kind=ItemKind.CHAT, object_id=message.pk, created_at=timezone.now()
    )
    return message


def test_the_page_shows_open_ones_with_visible_reports_to_staff_only(
    burst: ProbableIncident,
    vpn_agent: User,
    problem_manager: User,
    requester: User,
    sso_service: Service,
    query_count: Any,
) -> None:
    _secret_report(burst, vpn_agent, sso_service)
    client = Client()
    client.force_login(problem_manager)
    with query_count() as queries:
        page = client.get("/insights/bursts/")
    assert page.status_code == 200
    text = page.content.decode()
    assert burst.title in text and "No #wifi in building B since 10" in text
    assert "SECRET-TEXT" not in text
    assert len(queries) < 25

    response = client.post(f"/insights/bursts/{burst.pk}/promote/")
    incident = Incident.objects.get(visibility=Visibility.PUBLIC)
    assert response.status_code == 302 and response["Location"].endswith(f"{incident.number}/")
    again = client.post(f"/insights/bursts/{burst.pk}/promote/", follow=True)
    assert "already promoted" in again.content.decode()

    client.force_login(requester)
    assert client.get("/insights/bursts/").status_code == 403
    assert client.post(f"/insights/bursts/{burst.pk}/dismiss/").status_code == 403


def test_the_api_lists_promotes_and_dismisses(
    burst: ProbableIncident,
    vpn_agent: User,
    requester: User,
    sso_service: Service,
    wifi_service: Service,
    building_b: list[User],
) -> None:
    _secret_report(burst, vpn_agent, sso_service)
    agent = _api(vpn_agent)
    listed = agent.get("/api/v1/insights/bursts")
    assert listed.status_code == 200
    page = json.loads(listed.content)
    assert page["next_cursor"] is None
    [item] = page["items"]
    assert item["id"] == burst.pk and item["reports"] == 5 and item["state"] == "open"
    assert len(item["items"]) == 5 and "SECRET-TEXT" not in json.dumps(item)
    assert _api(requester).get("/api/v1/insights/bursts").status_code == 403
    assert _api(requester).post(f"/api/v1/insights/bursts/{burst.pk}/promote").status_code == 404

    promoted = agent.post(f"/api/v1/insights/bursts/{burst.pk}/promote")
    assert promoted.status_code == 200
    body = json.loads(promoted.content)
    number = body["incident"]
    assert Incident.objects.get(number=number).service == wifi_service
    assert body["probable"]["state"] == "promoted"
    conflict = agent.post(f"/api/v1/insights/bursts/{burst.pk}/promote")
    assert conflict.status_code == 409
    assert conflict["Content-Type"].startswith("application/problem+json")
    assert agent.post(f"/api/v1/insights/bursts/{burst.pk}/dismiss").status_code == 409
    decided = json.loads(agent.get("/api/v1/insights/bursts?state=promoted").content)["items"]
    assert decided[0]["incident"] == number
