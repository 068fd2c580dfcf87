"""The live ``status`` event: one per tier whose page changed, with that tier's data only."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hashdesk.accounts.models import User
from hashdesk.core import streams
from hashdesk.incidents.choices import State
from hashdesk.incidents.models import Incident
from hashdesk.status import hooks
from hashdesk.status import snapshot as snapshots
from hashdesk.status.tiers import MEMBERS, PUBLIC, STAFF
from tests.status.support import committed, make_incident, make_service

# The status events are sent by a task queued after commit: run it there and then.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_tasks")]


@pytest.fixture
def services(requester: User) -> dict[str, Any]:
    sso = make_service("SSO")
    vpn = make_service("VPN", depends_on=[sso])
    vault = make_service("Key vault", visibility="confidential")
    hooks.refresh()  # what every tier has now
    return {"sso": sso, "vpn": vpn, "vault": vault}


def status_events(events: list[Any]) -> list[Any]:
    return [event for event in events if event.type == "status"]


def test_a_public_incident_sends_one_event_per_tier(
    services: dict[str, Any],
    requester: User,
    capture_events: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with capture_events() as events, committed(django_capture_on_commit_callbacks):
        make_incident(services["sso"], requester, title="Sign-in fails", is_major=True)
    sent = status_events(events)
    assert sorted(event.streams[0] for event in sent) == sorted(
        [streams.PUBLIC, streams.MEMBERS, streams.STAFF]
    )
    assert all(len(event.streams) == 1 for event in sent)
    public = next(event for event in sent if event.streams == [streams.PUBLIC])
    assert public.payload["tier"] == "public"
    assert public.payload["overall"]["state"] == "major_outage"
    states = {item["slug"]: item for item in public.payload["services"]}
    assert states[services["vpn"].slug]["state"] == "degraded"
    assert states[services["vpn"].slug]["reasons"] == ["Depends on SSO (major outage)"]
    assert services["vault"].slug not in states
    assert public.payload["digest"] == snapshots.get_snapshot(PUBLIC)["digest"]


def test_a_confidential_incident_is_told_to_staff_only(
    services: dict[str, Any],
    requester: User,
    capture_events: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with capture_events() as events, committed(django_capture_on_commit_callbacks):
        make_incident(
            services["vpn"], requester, title="Phishing wave", priority=1, visibility="confidential"
        )
    sent = status_events(events)
    assert [event.streams for event in sent] == [[streams.STAFF]]
    for event in events:
        if streams.STAFF not in event.streams:
            assert "Phishing wave" not in json.dumps(event.payload)


def test_a_write_that_changes_no_page_sends_nothing(
    services: dict[str, Any],
    requester: User,
    capture_events: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    incident = make_incident(services["vpn"], requester, priority=5, visibility="internal")
    hooks.refresh()
    with capture_events() as events, committed(django_capture_on_commit_callbacks):
        Incident.objects.filter(pk=incident.pk).update(title="Renamed")
        incident.title = "Renamed again"
        incident.save(update_fields=["title"])
    # The staff page lists no P5 incident: nothing changed for anyone.
    assert status_events(events) == []


def test_resolution_turns_the_page_operational_and_is_told(
    services: dict[str, Any],
    requester: User,
    capture_events: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    incident = make_incident(services["sso"], requester, priority=2)
    hooks.refresh()
    assert snapshots.get_snapshot(MEMBERS)["overall"]["state"] == "partial_outage"
    with capture_events() as events, committed(django_capture_on_commit_callbacks):
        incident.state = State.RESOLVED
        incident.save(update_fields=["state"])
    assert len(status_events(events)) == 3
    assert snapshots.get_snapshot(PUBLIC)["overall"]["state"] == "operational"
    assert snapshots.get_snapshot(STAFF)["overall"]["headline"] == "All systems operational"


def test_a_rolled_back_write_sends_nothing(
    services: dict[str, Any],
    requester: User,
    capture_events: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from django.db import transaction

    before = snapshots.generation()
    with capture_events() as events, committed(django_capture_on_commit_callbacks):
        try:
            with transaction.atomic():
                make_incident(services["sso"], requester, is_major=True)
                raise RuntimeError("abandon")
        except RuntimeError:
            pass
    assert status_events(events) == []
    assert snapshots.generation() == before
