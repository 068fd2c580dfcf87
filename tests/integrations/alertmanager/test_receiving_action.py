"""The intake as an action: ``actions.do_receive_notification`` and ``do_record_notification``,
called directly, the way the webhook view calls them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hashdesk.catalog.models import Service
from hashdesk.core.models import Event
from hashdesk.incidents.choices import Channel, TimelineKind
from hashdesk.incidents.models import AffectedUser, Incident, IncidentFollower, TimelineEntry
from hashdesk.integrations.alertmanager import actions, rules
from hashdesk.integrations.alertmanager.choices import Outcome, UnknownServicePolicy
from hashdesk.integrations.alertmanager.models import Alert, AlertGroup, AlertNotification
from hashdesk.integrations.alertmanager.payload import Notification, parse
from tests.integrations.alertmanager.conftest import alert, notification

Receiver = tuple[Any, str]


def _parsed(alerts: list[dict[str, Any]], **extra: Any) -> Notification:
    return parse(json.dumps(notification(alerts, **extra)).encode())


def test_receiving_opens_updates_and_resolves_through_the_action(
    receiver: Receiver, vpn_service: Service, capture_events: Any
) -> None:
    with capture_events() as events:
        opened = actions.do_receive_notification(receiver[0], _parsed([alert("a1")]))
    assert (opened.outcome, opened.new_alerts, opened.resolved_alerts) == (Outcome.OPENED, 1, 0)
    incident = Incident.objects.get()
    assert opened.incident == incident
    assert (incident.source, incident.service) == (Channel.ALERT, vpn_service)
    assert ("incident", "create") in {(e.type, e.op) for e in events}
    assert AlertGroup.objects.get().incident == incident
    # The receiver's account reports it, but nobody is affected through it, nor follows it.
    assert incident.reporter == receiver[0].reporter
    assert not AffectedUser.objects.filter(incident=incident).exists()
    assert not IncidentFollower.objects.filter(incident=incident).exists()

    # The same notification again (repeat_interval): nothing written, no event.
    entries = TimelineEntry.objects.count()
    with capture_events() as events:
        again = actions.do_receive_notification(receiver[0], _parsed([alert("a1")]))
    assert (again.outcome, again.incident) == (Outcome.UNCHANGED, incident)
    assert TimelineEntry.objects.count() == entries
    assert list(events) == []

    resolved = actions.do_receive_notification(
        receiver[0], _parsed([alert("a1", status="resolved")])
    )
    assert (resolved.outcome, resolved.resolved_alerts) == (Outcome.RESOLVED, 1)
    assert not AlertGroup.objects.get().is_open
    assert Alert.objects.get().status == "resolved"
    assert TimelineEntry.objects.filter(incident=incident, kind=TimelineKind.WORK_NOTE).exists()


def test_a_refused_notification_leaves_nothing_behind(
    make_receiver: Any, vpn_service: Service
) -> None:
    receiver, _ = make_receiver(unknown_policy=UnknownServicePolicy.REJECT)
    events_before = Event.objects.count()
    with pytest.raises(rules.UnknownService):
        actions.do_receive_notification(receiver, _parsed([alert("a1", service="mainframe")]))
    assert not Incident.objects.exists()
    assert not AlertGroup.objects.exists() and not Alert.objects.exists()
    assert Event.objects.count() == events_before


def test_the_log_records_what_arrived(receiver: Receiver) -> None:
    parsed = _parsed([alert("a1"), alert("a2", instance="vpn-2")])
    logged = actions.do_record_notification(
        receiver[0], outcome=Outcome.REJECTED, notification=parsed, detail="x" * 600
    )
    assert logged == AlertNotification.objects.get()
    assert (logged.outcome, logged.alert_count, logged.status) == ("rejected", 2, "firing")
    assert logged.group_key == parsed.group_key and len(logged.detail) == 500
    bare = actions.do_record_notification(receiver[0], outcome=Outcome.REJECTED, detail="Too big")
    assert (bare.group_key, bare.alert_count, bare.incident) == ("", 0, None)
