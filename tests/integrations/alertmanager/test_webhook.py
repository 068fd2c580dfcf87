"""The Alertmanager webhook with real-shaped v4 payloads: authentication, bad input, grouping by
groupKey, deduplication by fingerprint, severity, resolve policies, the human gate, bursts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.choices import Channel, Priority, ResolutionCode, State, TimelineKind
from hashdesk.incidents.models import Incident, TimelineEntry
from hashdesk.insights.bursts import live
from hashdesk.insights.choices import ItemKind
from hashdesk.insights.models import ProbableIncident
from hashdesk.integrations.alertmanager import actions
from hashdesk.integrations.alertmanager.choices import Outcome, ResolvePolicy, UnknownServicePolicy
from hashdesk.integrations.alertmanager.models import Alert, AlertGroup, AlertNotification
from hashdesk.status import tiers
from hashdesk.status.snapshot import build_snapshot
from hashdesk.wall import actions as wall_actions
from hashdesk.wall.models import Post
from tests.integrations.alertmanager.conftest import alert, notification

Receiver = tuple[Any, str]


def _counts() -> tuple[int, int, int, int]:
    return (
        Incident.objects.count(),
        TimelineEntry.objects.count(),
        AlertGroup.objects.count(),
        Alert.objects.count(),
    )


# --- Authentication and bad input ---------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "wrong", ""])
def test_a_missing_or_wrong_token_is_401_with_bearer_challenge_and_creates_nothing(
    receiver: Receiver, post: Callable[..., Any], token: str | None
) -> None:
    before = _counts()
    for path in ("/integrations/alertmanager/", f"/integrations/alertmanager/{receiver[0].slug}/"):
        response = post(token, notification([alert("a1")]), path=path)
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert response["Content-Type"] == "application/problem+json"
    assert _counts() == before
    assert not AlertNotification.objects.exists()


def test_another_receivers_token_does_not_open_this_receivers_address(
    receiver: Receiver, make_receiver: Any, post: Callable[..., Any]
) -> None:
    _, other_token = make_receiver("Other")
    response = post(
        other_token,
        notification([alert("a1")]),
        path=f"/integrations/alertmanager/{receiver[0].slug}/",
    )
    assert response.status_code == 401 and not Incident.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        (b"{not json", None),
        (b"[]", None),
        ({**notification([alert("a1")]), "version": "3"}, "version"),
        ({**notification([alert("a1")]), "alerts": []}, "alerts"),
        ({**notification([alert("a1")]), "status": "pending"}, "status"),
        (notification([{**alert("a1"), "fingerprint": 7}]), "alerts[0].fingerprint"),
        (notification([{**alert("a1"), "startsAt": "yesterday"}]), "alerts[0].startsAt"),
    ],
)
def test_malformed_notifications_are_400_problem_details_and_create_nothing(
    receiver: Receiver, post: Callable[..., Any], body: Any, field: str | None
) -> None:
    before = _counts()
    response = post(receiver[1], body)
    assert response.status_code == 400
    problem = response.json()
    assert problem["type"] == "urn:hashdesk:problem:malformed_notification"
    if field:
        assert problem["errors"][0]["field"] == field
    assert _counts() == before
    assert AlertNotification.objects.get().outcome == Outcome.REJECTED


def test_a_body_over_the_limit_is_413(
    receiver: Receiver, post: Callable[..., Any], settings: Any
) -> None:
    settings.ALERTMANAGER_MAX_BYTES = 1000
    payload = notification([alert(f"f{n}") for n in range(20)])
    response = post(receiver[1], payload)
    assert response.status_code == 413 and not Incident.objects.exists()


def test_the_receiver_is_rate_limited(
    receiver: Receiver, post: Callable[..., Any], settings: Any
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "alertmanager": (2, 60)}
    codes = [post(receiver[1], notification([alert("a1")])).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert Incident.objects.count() == 1


# --- Services -----------------------------------------------------------------------------------


def test_an_unknown_label_value_is_422_and_nothing_is_created_when_the_receiver_rejects(
    receiver: Receiver, post: Callable[..., Any]
) -> None:
    before = _counts()
    response = post(receiver[1], notification([alert("a1", service="mainframe")]))
    assert response.status_code == 422
    assert response.json()["type"] == "urn:hashdesk:problem:unknown_service"
    assert "mainframe" in response.json()["detail"]
    assert _counts() == before
    assert AlertNotification.objects.get().outcome == Outcome.REJECTED


def test_unknown_values_go_to_the_default_service_and_mappings_win(
    make_receiver: Any,
    administrator: User,
    vpn_service: Service,
    sso_service: Service,
    post: Callable[..., Any],
) -> None:
    receiver, token = make_receiver(
        unknown_policy=UnknownServicePolicy.DEFAULT_SERVICE, default_service=sso_service
    )
    actions.do_set_mapping(administrator, receiver, label_value="openvpn", service=vpn_service)
    post(token, notification([alert("a1", service="mainframe")], group_key="g1"))
    post(token, notification([alert("a2", service="openvpn")], group_key="g2"))
    post(token, notification([alert("a3", service="vpn")], group_key="g3"))
    services = [g.incident.service for g in AlertGroup.objects.order_by("id")]
    assert services == [sso_service, vpn_service, vpn_service]


# --- Opening, grouping, deduplication -----------------------------------------------------------


def test_a_firing_alert_opens_an_incident_reported_by_the_receivers_account(
    receiver: Receiver, post: Callable[..., Any], capture_events: Any, vpn_service: Service
) -> None:
    with capture_events() as events:
        response = post(receiver[1], notification([alert("a1")]))
    assert response.status_code == 200
    incident = Incident.objects.get()
    assert response.json() == {
        "outcome": "opened",
        "incident": incident.number,
        "new_alerts": 1,
        "resolved_alerts": 0,
    }
    assert incident.source == Channel.ALERT
    assert incident.service == vpn_service
    assert incident.reporter == receiver[0].reporter
    assert not incident.reporter.is_active and not incident.reporter.has_usable_password()
    assert incident.priority == Priority.P1  # severity=critical
    assert incident.title == "VPNDown on vpn-1"
    assert ("incident", "create") in {(e.type, e.op) for e in events}
    note = AlertNotification.objects.get()
    assert (note.outcome, note.alert_count, note.incident) == ("opened", 1, incident)


@pytest.mark.parametrize(
    "severity, priority", [("warning", Priority.P3), ("info", Priority.P5), ("", Priority.P4)]
)
def test_severity_label_sets_impact_and_urgency(
    receiver: Receiver, post: Callable[..., Any], severity: str, priority: int
) -> None:
    post(receiver[1], notification([alert("a1", severity=severity)]))
    assert Incident.objects.get().priority == priority


def test_the_same_group_updates_one_incident_and_repeats_add_nothing(
    receiver: Receiver, post: Callable[..., Any]
) -> None:
    token = receiver[1]
    post(token, notification([alert("a1", severity="warning")]))
    incident = Incident.objects.get()
    entries = TimelineEntry.objects.filter(incident=incident).count()

    # Alertmanager's repeat_interval: the same alert again.
    again = post(token, notification([alert("a1", severity="warning")]))
    assert again.json()["outcome"] == "unchanged"
    assert TimelineEntry.objects.filter(incident=incident).count() == entries

    # A new fingerprint in the group: one work note, severity raised.
    more = post(
        token,
        notification(
            [alert("a1", severity="warning"), alert("a2", instance="vpn-2", severity="critical")]
        ),
    )
    assert more.json() == {
        "outcome": "updated",
        "incident": incident.number,
        "new_alerts": 1,
        "resolved_alerts": 0,
    }
    assert Incident.objects.count() == 1
    notes = TimelineEntry.objects.filter(incident=incident, kind=TimelineKind.WORK_NOTE)
    assert notes.count() == 1 and "vpn-2" in notes.get().body
    assert not notes.get().is_public
    incident.refresh_from_db()
    assert incident.priority == Priority.P1

    # Another group key: its own incident.
    post(token, notification([alert("b1")], group_key="other-group"))
    assert Incident.objects.count() == 2


# --- Resolving ------------------------------------------------------------------------------------


def test_the_incident_resolves_when_every_alert_of_its_group_is_resolved_and_reopens_anew(
    receiver: Receiver, post: Callable[..., Any]
) -> None:
    token = receiver[1]
    post(token, notification([alert("a1"), alert("a2", instance="vpn-2")]))
    incident = Incident.objects.get()

    half = post(
        token, notification([alert("a1", status="resolved"), alert("a2", instance="vpn-2")])
    )
    assert half.json()["outcome"] == "updated"
    incident.refresh_from_db()
    assert incident.state == State.NEW
    assert "1 alert(s) resolved" in TimelineEntry.objects.filter(incident=incident).last().body

    done = post(
        token,
        notification(
            [alert("a1", status="resolved"), alert("a2", status="resolved", instance="vpn-2")]
        ),
    )
    assert done.json()["outcome"] == "resolved"
    incident.refresh_from_db()
    assert incident.state == State.RESOLVED
    assert incident.resolution_code == ResolutionCode.SOLVED
    assert not AlertGroup.objects.get(incident=incident).is_open

    # Fires again after resolution: a new incident that names the earlier one.
    again = post(token, notification([alert("a1")]))
    assert again.json()["outcome"] == "opened"
    fresh = Incident.objects.exclude(pk=incident.pk).get()
    assert incident.number in TimelineEntry.objects.filter(incident=fresh).last().body
    incident.refresh_from_db()
    assert incident.state == State.RESOLVED


def test_record_only_policy_keeps_the_incident_open(
    make_receiver: Any, vpn_service: Service, post: Callable[..., Any]
) -> None:
    _, token = make_receiver(resolve_policy=ResolvePolicy.RECORD)
    post(token, notification([alert("a1")]))
    response = post(token, notification([alert("a1", status="resolved")]))
    assert response.json()["outcome"] == "updated"
    incident = Incident.objects.get()
    assert incident.state == State.NEW
    assert "stays open" in TimelineEntry.objects.filter(incident=incident).last().body


def test_an_incident_resolved_by_an_agent_closes_its_group(
    receiver: Receiver, post: Callable[..., Any], vpn_agent: User
) -> None:
    token = receiver[1]
    post(token, notification([alert("a1")]))
    incident = Incident.objects.get()
    incident_actions.do_transition(
        vpn_agent,
        incident,
        State.RESOLVED,
        expected_version=incident.version,
        resolution_code=ResolutionCode.WORKAROUND,
        resolution_notes="Failed over to the second concentrator.",
    )
    # A resolved notification of a closed group changes nothing.
    response = post(token, notification([alert("a1", status="resolved")]))
    assert response.json() == {
        "outcome": "unchanged",
        "incident": None,
        "new_alerts": 0,
        "resolved_alerts": 0,
    }
    assert not AlertGroup.objects.get().is_open


# --- The human gate -----------------------------------------------------------------------------


def _on_public_status_page(incident: Incident) -> bool:
    snapshot = build_snapshot(tiers.PUBLIC)
    return any(incident.number in row["incidents"] for row in snapshot["services"])


def test_a_gated_incident_stays_off_the_status_page_and_wall_until_an_agent_publishes_it(
    receiver: Receiver, post: Callable[..., Any], vpn_agent: User, client: Client
) -> None:
    post(receiver[1], notification([alert("a1")]))
    incident = Incident.objects.get()
    assert incident.visibility == Visibility.INTERNAL
    assert not _on_public_status_page(incident)
    incident_actions.do_add_update(
        vpn_agent, incident, body="We are looking into the VPN.", public=True
    )
    assert not Post.objects.filter(incident=incident).exists()

    client.force_login(vpn_agent)
    page = client.get("/integrations/alertmanager/awaiting/")
    assert incident.number in page.content.decode()
    incident.refresh_from_db()
    published = client.post(
        f"/integrations/alertmanager/awaiting/{incident.pk}/publish",
        {"version": incident.version},
    )
    assert published.status_code == 302
    incident.refresh_from_db()
    assert incident.visibility == Visibility.PUBLIC
    assert _on_public_status_page(incident)
    incident_actions.do_add_update(vpn_agent, incident, body="Failing over now.", public=True)
    assert Post.objects.filter(incident=incident).count() == 1
    page = client.get("/integrations/alertmanager/awaiting/").content.decode()
    assert f"/awaiting/{incident.pk}/publish" not in page


def test_requesters_cannot_publish(
    receiver: Receiver, post: Callable[..., Any], requester: User, client: Client
) -> None:
    post(receiver[1], notification([alert("a1")]))
    incident = Incident.objects.get()
    client.force_login(requester)
    response = client.post(f"/integrations/alertmanager/awaiting/{incident.pk}/publish")
    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.visibility == Visibility.INTERNAL


def test_without_the_gate_the_incident_is_public_at_once(
    make_receiver: Any, vpn_service: Service, post: Callable[..., Any]
) -> None:
    _, token = make_receiver(human_gate=False)
    post(token, notification([alert("a1")]))
    incident = Incident.objects.get()
    assert incident.visibility == Visibility.PUBLIC
    assert _on_public_status_page(incident)


# --- Bursts ---------------------------------------------------------------------------------------


def _soon() -> Any:
    return timezone.now() + timedelta(seconds=1)


def test_alerts_count_as_reports_without_people_so_they_only_push_a_burst_over_the_edge(
    make_receiver: Any,
    make_person: Callable[..., User],
    network_team: Any,
    post: Callable[..., Any],
) -> None:
    wifi = catalog_actions.do_create_service(
        None, name="Wi-Fi", hashtag="wifi", owner_team=network_team, visibility=Visibility.PUBLIC
    )
    _, token = make_receiver(human_gate=True)
    alerts = [alert(f"w{n}", service="wi-fi", instance=f"ap-{n}") for n in range(6)]
    post(token, notification(alerts, group_key="wifi"))

    reports = live.collect_reports(timezone.now() - timedelta(minutes=5), _soon())
    kinds = [(r.kind, r.author_id) for r in reports if r.stream == live.service_stream(wifi.pk)]
    # One report per new alert, no author; the incident the group opened is not counted again.
    assert kinds == [(ItemKind.ALERT, None)] * 6
    # Six alerts and nobody: no burst.
    assert live.run_minute(_soon()).bursts == []

    # Three people's posts (too few alone: MIN_REPORTS is 4) plus the alerts: a burst.
    people = [make_person(f"floor{n}@example.test", roles=[Role.REQUESTER]) for n in range(3)]
    for n, person in enumerate(people):
        wall_actions.do_post(person, body=f"#wifi down on floor {n}")
    summary = live.run_minute(_soon() + timedelta(seconds=30))
    assert summary.raised == 1
    probable = ProbableIncident.objects.get()
    assert probable.stream == live.service_stream(wifi.pk)
    assert set(probable.items.values_list("kind", flat=True)) == {ItemKind.POST, ItemKind.ALERT}
