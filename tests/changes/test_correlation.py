"""Incidents a change may have caused (docs/changes.md, "Correlation with incidents")."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.models import Service
from hashdesk.changes import correlation
from hashdesk.changes.choices import AffectedReason, ChangeState
from hashdesk.changes.models import AffectedService, Change, ChangeIncident
from hashdesk.core.errors import Forbidden, NotFound
from hashdesk.incidents.models import Incident
from tests.api.support import ApiCaller, assert_problem, raw_token
from tests.changes.comms_support import scheduled_change

pytestmark = pytest.mark.django_db

VPN_SUMMARY = "Firmware upgrade of the VPN concentrator"


def started(owner: User, services: list[Service], *, hours_ago: int = 10) -> Change:
    """A change that began ``hours_ago`` and failed (its record as the lifecycle leaves it)."""
    began = timezone.now().replace(microsecond=0) - timedelta(hours=hours_ago)
    change = scheduled_change(owner, services, began, state=ChangeState.FAILED)
    change.actual_start, change.actual_end = began, began + timedelta(hours=1)
    change.save()
    return change


def incident(reporter: User, service: Service, at: datetime, title: str) -> Incident:
    raised = Incident.objects.create(
        title=title, description="", service=service, reporter=reporter, created_at=at
    )
    raised.number = f"INC-{raised.pk:06d}"
    raised.save(update_fields=["number"])
    return raised


def test_incidents_after_the_change_on_its_services_are_scored(
    requester: User, vpn_agent: User, vpn_service: Service, sso_service: Service
) -> None:
    change = started(vpn_agent, [vpn_service])
    AffectedService.objects.create(
        change=change, service=sso_service, reason=AffectedReason.DERIVED, distance=1
    )
    start = change.actual_start
    assert start is not None
    soon_after = incident(
        requester, vpn_service, start + timedelta(hours=1), "VPN concentrator down"
    )
    later = incident(requester, vpn_service, start + timedelta(hours=30), "Printer jams")
    downstream = incident(requester, sso_service, start + timedelta(hours=1), "Login loops")
    incident(requester, vpn_service, start - timedelta(hours=1), "Before the change")
    incident(requester, vpn_service, start + timedelta(hours=49), "After the window")

    links = correlation.score_incidents(change)

    assert [link.incident for link in links] == [soon_after, downstream, later]
    first = links[0]
    assert first.evidence["distance"] == 1.0 and first.evidence["graph_distance"] == 0
    assert first.evidence["time"] == pytest.approx(0.5 ** (1 / 6), abs=0.001)
    assert first.evidence["text"] > 0  # shares "concentrator" and "vpn" with the change
    assert links[1].evidence["distance"] == 0.6
    assert all(0 <= link.score <= 1 for link in links)
    assert ChangeIncident.objects.filter(change=change).count() == 3


def test_rescoring_updates_but_keeps_judgements(
    requester: User, vpn_agent: User, vpn_service: Service, capture_events: Any
) -> None:
    change = started(vpn_agent, [vpn_service])
    start = change.actual_start
    assert start is not None
    kept = incident(requester, vpn_service, start + timedelta(hours=2), "VPN drops")
    dismissed = incident(requester, vpn_service, start + timedelta(hours=3), "Mail slow")
    correlation.score_incidents(change)

    with capture_events() as events:
        correlation.do_confirm_link(vpn_agent, change, kept)
        correlation.do_dismiss_link(vpn_agent, change, dismissed)
    ChangeIncident.objects.update(score=0.0)
    correlation.score_incidents(change)

    confirmed_link = ChangeIncident.objects.get(incident=kept)
    dismissed_link = ChangeIncident.objects.get(incident=dismissed)
    assert (confirmed_link.confirmed, confirmed_link.confirmed_by, confirmed_link.score) == (
        True,
        vpn_agent,
        0.0,
    )
    assert dismissed_link.evidence["dismissed"] is True and dismissed_link.score == 0.0
    assert [(e.type, e.op) for e in events] == [("change", "correlation")] * 2
    assert AuditEntry.objects.filter(action__startswith="changes.correlation.").count() == 2


def test_only_staff_judge_links(requester: User, vpn_agent: User, vpn_service: Service) -> None:
    change = started(vpn_agent, [vpn_service])
    start = change.actual_start
    assert start is not None
    raised = incident(requester, vpn_service, start + timedelta(hours=1), "VPN drops")
    with pytest.raises(Forbidden):
        correlation.do_confirm_link(requester, change, raised)
    with pytest.raises(NotFound):
        correlation.do_dismiss_link(vpn_agent, change, raised)  # never scored
    assert not ChangeIncident.objects.exists()


@pytest.mark.parametrize("count", [3, 30])
def test_scoring_takes_constant_queries(
    requester: User,
    vpn_agent: User,
    vpn_service: Service,
    django_assert_num_queries: Any,
    count: int,
) -> None:
    change = started(vpn_agent, [vpn_service], hours_ago=40)
    start = change.actual_start
    assert start is not None
    for hour in range(count):
        incident(requester, vpn_service, start + timedelta(hours=1, minutes=hour), f"VPN {hour}")
    # A savepoint pair around: the lock, services, items, incidents, existing links, the upsert.
    with django_assert_num_queries(8):
        links = correlation.score_incidents(change)
    assert len(links) == count


def test_the_hourly_task_scores_open_and_just_closed_windows(
    requester: User, vpn_agent: User, vpn_service: Service
) -> None:
    now = timezone.now()
    open_window = started(vpn_agent, [vpn_service], hours_ago=5)
    just_closed = started(vpn_agent, [vpn_service], hours_ago=48)
    long_closed = started(vpn_agent, [vpn_service], hours_ago=60)
    not_started = scheduled_change(vpn_agent, [vpn_service], now - timedelta(hours=2))
    incident(requester, vpn_service, now - timedelta(minutes=30), "VPN drops")

    assert correlation.refresh_correlations(now) == 2

    linked = set(ChangeIncident.objects.values_list("change_id", flat=True))
    assert linked == {open_window.pk, just_closed.pk}
    assert long_closed.pk not in linked and not_started.pk not in linked


def test_correlations_through_the_api(
    requester: User, vpn_agent: User, vpn_service: Service
) -> None:
    change = started(vpn_agent, [vpn_service])
    start = change.actual_start
    assert start is not None
    raised = incident(requester, vpn_service, start + timedelta(hours=1), "VPN concentrator down")
    correlation.score_incidents(change)
    staff = ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(vpn_agent)}"})
    path = f"/api/v1/changes/{change.number}/correlations"

    listed = staff.get(path)
    confirmed = staff.post(f"{path}/{raised.number}/confirm")
    dismissed = staff.post(f"{path}/{raised.number}/dismiss")

    assert listed.status_code == 200, listed.content
    [row] = json.loads(listed.content)
    assert (row["incident"], row["confirmed"], row["dismissed"]) == (raised.number, False, False)
    assert set(row["evidence"]) >= {"time", "distance", "text"}
    assert json.loads(confirmed.content)["confirmed"] is True
    assert json.loads(dismissed.content)["dismissed"] is True
    assert_problem(staff.post(f"{path}/INC-999999/confirm"), 404)
    outsider = ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(requester)}"})
    assert_problem(outsider.get(path), 403)


def test_the_change_page_shows_possibly_caused_incidents_to_staff_only(
    requester: User, vpn_agent: User, vpn_service: Service
) -> None:
    change = started(vpn_agent, [vpn_service])
    start = change.actual_start
    assert start is not None
    raised = incident(requester, vpn_service, start + timedelta(hours=1), "VPN concentrator down")
    correlation.score_incidents(change)
    staff, other = Client(), Client()
    staff.force_login(vpn_agent)
    other.force_login(requester)

    page = staff.get(f"/changes/{change.number}/").content.decode()

    assert "Possibly caused incidents" in page and str(raised.number) in page
    hidden = other.get(f"/changes/{change.number}/").content.decode()
    assert "Possibly caused incidents" not in hidden


def test_the_incident_page_names_the_change_that_may_have_caused_it_to_staff_only(
    requester: User, vpn_agent: User, vpn_service: Service
) -> None:
    change = started(vpn_agent, [vpn_service])
    start = change.actual_start
    assert start is not None
    raised = incident(requester, vpn_service, start + timedelta(hours=1), "VPN concentrator down")
    unrelated = incident(requester, vpn_service, start + timedelta(hours=40), "Printer jams")
    correlation.score_incidents(change)
    staff, reporter = Client(), Client()
    staff.force_login(vpn_agent)
    reporter.force_login(requester)

    page = staff.get(f"/incidents/{raised.number}/").content.decode()
    assert "Possibly caused by" in page and str(change.number) in page
    # Forty hours later the score is too low to put on the incident's page.
    assert "Possibly caused by" not in staff.get(f"/incidents/{unrelated.number}/").content.decode()
    # The requester sees their incident, never the desk's suspicions.
    assert "Possibly caused by" not in reporter.get(f"/incidents/{raised.number}/").content.decode()

    # A dismissed link disappears from the incident's page.
    link = ChangeIncident.objects.get(change=change, incident=raised)
    link.evidence = {**link.evidence, "dismissed": True}
    link.save(update_fields=["evidence"])
    assert "Possibly caused by" not in staff.get(f"/incidents/{raised.number}/").content.decode()
