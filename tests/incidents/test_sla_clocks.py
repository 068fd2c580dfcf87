"""SLA clocks of incidents: start, pause, response, reopen, re-target, warnings and breaches.

"Now" is frozen by passing explicit instants to the plain functions of incidents/sla.py; the
actions themselves stamp clocks with the current time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hashdesk.incidents import actions, sla
from hashdesk.incidents.models import Incident, IncidentSlaClock, TimelineEntry
from hashdesk.sla.models import SlaPolicy

MIN = timedelta(minutes=1)


def clocks(incident: Incident) -> dict[str, IncidentSlaClock]:
    return {c.kind: c for c in IncidentSlaClock.objects.filter(incident=incident)}


def fresh(incident: Incident) -> Incident:
    return Incident.objects.get(pk=incident.pk)


@pytest.fixture
def critical_incident(requester, vpn_agent, vpn_service) -> Incident:
    """P1 (impact and urgency high): the 24x7 policy, 15 min response, 4 h resolution."""
    return actions.do_create_incident(
        vpn_agent,
        title="VPN down for everyone",
        description="Nobody can connect.",
        service=vpn_service,
        impact=1,
        urgency=1,
        reporter=requester,
    )


@pytest.mark.django_db
def test_clocks_start_with_the_policy_for_the_priority(critical_incident):
    found = clocks(critical_incident)
    policy = SlaPolicy.objects.get(priority=1, service=None)
    start = critical_incident.created_at
    assert found["response"].policy == policy
    assert found["response"].due_at == start + 15 * MIN
    assert found["resolution"].due_at == start + 240 * MIN
    assert found["resolution"].warning_at == start + 180 * MIN
    incident = fresh(critical_incident)
    assert (incident.sla_state, incident.sla_due_at) == ("running", start + 15 * MIN)


@pytest.mark.django_db
def test_due_times_count_business_hours_of_the_standard_calendar(requester, vpn_service):
    # P3: 4 business hours to respond, Monday-Friday 08:00-18:00 London (UTC in early March).
    incident = actions.do_create_incident(
        requester, title="Slow VPN", description="", service=vpn_service, impact=2, urgency=2
    )
    IncidentSlaClock.objects.filter(incident=incident).delete()
    friday_five_pm = datetime(2026, 3, 6, 17, tzinfo=UTC)
    sla.start_clocks(incident, friday_five_pm)
    # One hour on Friday, three on Monday morning.
    assert clocks(incident)["response"].due_at == datetime(2026, 3, 9, 11, tzinfo=UTC)


@pytest.mark.django_db
def test_no_policy_means_no_clocks(requester, vpn_service):
    SlaPolicy.objects.filter(priority=5).update(is_active=False)
    incident = actions.do_create_incident(
        requester, title="Wallpaper", description="", service=vpn_service
    )
    assert not IncidentSlaClock.objects.filter(incident=incident).exists()
    assert (fresh(incident).sla_state, fresh(incident).sla_due_at) == ("", None)


@pytest.mark.django_db
def test_on_hold_pauses_and_resuming_pushes_the_due_time_out(critical_incident):
    start = critical_incident.created_at
    sla.on_transition(critical_incident, "in_progress", "on_hold", start + 10 * MIN)
    paused = clocks(critical_incident)["resolution"]
    assert paused.state == "paused" and paused.paused_since == start + 10 * MIN
    assert critical_incident.sla_state == "paused" and critical_incident.sla_due_at is None
    sla.on_transition(critical_incident, "on_hold", "in_progress", start + 70 * MIN)
    resumed = clocks(critical_incident)["resolution"]
    assert resumed.paused_since is None and resumed.state == "running"
    assert resumed.due_at == start + (240 + 60) * MIN
    assert clocks(critical_incident)["response"].due_at == start + (15 + 60) * MIN


@pytest.mark.django_db
def test_on_hold_through_the_actions(critical_incident, vpn_agent, network_team):
    incident = actions.do_assign(
        vpn_agent, critical_incident, expected_version=1, group=network_team
    )
    incident = actions.do_transition(
        vpn_agent,
        incident,
        "on_hold",
        expected_version=incident.version,
        hold_reason="awaiting_supplier",
    )
    assert all(c.paused_since is not None for c in clocks(incident).values())
    assert fresh(incident).sla_state == "paused"


@pytest.mark.django_db
def test_first_public_staff_update_meets_the_response_target(
    critical_incident, requester, vpn_agent
):
    actions.do_add_update(requester, critical_incident, body="Still down", public=True)
    assert clocks(critical_incident)["response"].stopped_at is None
    actions.do_add_update(vpn_agent, critical_incident, body="On it", public=False)
    assert clocks(critical_incident)["response"].stopped_at is None
    actions.do_add_update(vpn_agent, critical_incident, body="We are on it", public=True)
    found = clocks(critical_incident)
    assert found["response"].state == "met" and found["response"].stopped_at is not None
    assert found["resolution"].stopped_at is None
    assert fresh(critical_incident).sla_due_at == found["resolution"].due_at


@pytest.mark.django_db
def test_assignment_to_a_person_is_a_response_but_to_a_group_is_not(
    critical_incident, vpn_agent, network_team
):
    incident = actions.do_assign(
        vpn_agent, critical_incident, expected_version=1, group=network_team
    )
    assert clocks(incident)["response"].stopped_at is None
    actions.do_assign(vpn_agent, incident, expected_version=incident.version, assignee=vpn_agent)
    assert clocks(incident)["response"].state == "met"


@pytest.mark.django_db
def test_reopening_continues_the_resolution_clock_where_it_stopped(critical_incident):
    start = critical_incident.created_at
    sla.on_transition(critical_incident, "in_progress", "resolved", start + 60 * MIN)
    stopped = clocks(critical_incident)
    assert stopped["resolution"].state == "met" and stopped["response"].stopped_at is not None
    sla.on_transition(critical_incident, "resolved", "in_progress", start + 180 * MIN)
    reopened = clocks(critical_incident)
    assert reopened["resolution"].stopped_at is None
    # 60 minutes counted before, 120 resolved do not count, 180 left from the reopening.
    assert reopened["resolution"].due_at == start + (240 + 120) * MIN
    assert reopened["response"].stopped_at is not None


@pytest.mark.django_db
def test_a_priority_change_re_targets_the_clocks(requester, vpn_agent, vpn_service):
    incident = actions.do_create_incident(
        requester, title="Printer jam", description="", service=vpn_service
    )
    assert clocks(incident)["response"].target_minutes == 30 * 60  # P5
    incident = actions.do_update_incident(
        vpn_agent, incident, expected_version=incident.version, impact=1, urgency=1
    )
    found = clocks(incident)
    assert (found["response"].target_minutes, found["resolution"].target_minutes) == (15, 240)
    assert found["response"].policy.priority == 1
    # Same start: elapsed time is kept, only the targets change.
    assert found["response"].due_at == found["response"].started_at + 15 * MIN
    assert fresh(incident).sla_due_at == found["response"].due_at


@pytest.mark.django_db
def test_refresh_warns_then_breaches_exactly_once_on_staff_and_team_streams(
    critical_incident, vpn_agent, network_team, capture_events
):
    incident = actions.do_assign(
        vpn_agent, critical_incident, expected_version=1, group=network_team
    )
    start = incident.created_at
    with capture_events() as events:
        assert sla.refresh_sla_clocks(start + 5 * MIN) == 0
        assert sla.refresh_sla_clocks(start + 12 * MIN) == 1  # 75% of 15 minutes
        assert sla.refresh_sla_clocks(start + 13 * MIN) == 0
        assert fresh(incident).sla_state == "warning"
        assert sla.refresh_sla_clocks(start + 16 * MIN) == 1
        assert sla.refresh_sla_clocks(start + 20 * MIN) == 0
    assert [(e.op, e.payload["sla"]["kind"]) for e in events] == [
        ("sla_warning", "response"),
        ("sla_breach", "response"),
    ]
    for event in events:
        assert sorted(event.streams) == sorted(["staff", f"team:{network_team.pk}"])
    breach = TimelineEntry.objects.get(incident=incident, kind="sla_breach")
    assert not breach.is_public
    incident = fresh(incident)
    assert incident.sla_state == "breached"
    assert incident.version == 2  # the task does not bump the version agents edit against


@pytest.mark.django_db
def test_a_late_response_is_recorded_as_a_breach_once(critical_incident, capture_events):
    start = critical_incident.created_at
    with capture_events() as events:
        sla.stop_response(critical_incident, start + 20 * MIN)
        assert sla.refresh_sla_clocks(start + 30 * MIN) == 0
    assert [e.op for e in events] == ["sla_breach"]
    assert clocks(critical_incident)["response"].state == "breached"
