"""The state machine: every legal move, illegal ones refused clearly, stale versions refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hashdesk.audit.models import AuditEntry
from hashdesk.core.errors import Conflict, Forbidden, ValidationFailed
from hashdesk.core.models import Event
from hashdesk.incidents import actions
from hashdesk.incidents.lifecycle import TRANSITIONS
from hashdesk.incidents.models import Incident, TimelineEntry
from hashdesk.notify.models import Notification

REQUIREMENTS = {
    "on_hold": {"hold_reason": "awaiting_user"},
    "resolved": {"resolution_code": "solved", "resolution_notes": "Restarted the gateway."},
    "cancelled": {"resolution_notes": "Reported twice."},
}

# A path from New to each state, so every legal transition can be tried from where it starts.
PATHS = {
    "new": [],
    "assigned": ["assigned"],
    "in_progress": ["assigned", "in_progress"],
    "on_hold": ["assigned", "on_hold"],
    "resolved": ["assigned", "resolved"],
    "closed": ["assigned", "resolved", "closed"],
    "cancelled": ["cancelled"],
}


def move(actor, incident, state):
    return actions.do_transition(
        actor, incident, state, expected_version=incident.version, **REQUIREMENTS.get(state, {})
    )


def bring_to(agent, incident, state, network_team):
    incident = actions.do_assign(
        agent, incident, expected_version=incident.version, group=network_team, assignee=agent
    )
    for step in PATHS[state][1:] if PATHS[state][:1] == ["assigned"] else PATHS[state]:
        incident = move(agent, incident, step)
    return incident


LEGAL = [(start, target) for start, targets in TRANSITIONS.items() for target in targets]


@pytest.mark.django_db
@pytest.mark.parametrize(("start", "target"), LEGAL)
def test_every_legal_transition(start, target, vpn_agent, network_team, vpn_incident):
    if start == "new":
        incident = vpn_incident
        if target in {"assigned", "in_progress"}:
            # Assigned and In progress need an owner; give one without leaving New.
            Incident.objects.filter(pk=incident.pk).update(assignment_group=network_team)
            incident.refresh_from_db()
    else:
        incident = bring_to(vpn_agent, vpn_incident, start, network_team)
    assert incident.state == start
    moved = move(vpn_agent, incident, target)
    assert moved.state == target
    assert moved.version == incident.version + 1
    assert TimelineEntry.objects.filter(
        incident=incident, kind="state_change", data__new=target
    ).exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "target", "words"),
    [
        ("new", "closed", "From New it can go to: Assigned, In progress, Resolved, Cancelled"),
        ("new", "on_hold", "cannot go from New to On hold"),
        ("resolved", "on_hold", "From Resolved it can go to: Closed, In progress"),
        ("closed", "in_progress", "cannot change"),
        ("in_progress", "new", "cannot go from In progress to New"),
    ],
)
def test_illegal_transitions_are_refused_and_change_nothing(
    start, target, words, vpn_agent, network_team, vpn_incident
):
    incident = (
        vpn_incident if start == "new" else bring_to(vpn_agent, vpn_incident, start, network_team)
    )
    audit_rows, event_rows = AuditEntry.objects.count(), Event.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        move(vpn_agent, incident, target)
    assert words in caught.value.detail
    fresh = Incident.objects.get(pk=incident.pk)
    assert (fresh.state, fresh.version) == (start, incident.version)
    assert (AuditEntry.objects.count(), Event.objects.count()) == (audit_rows, event_rows)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("target", "fields", "field"),
    [
        ("assigned", {}, "assignee"),
        ("on_hold", {"hold_reason": "bored"}, "hold_reason"),
        ("resolved", {"resolution_notes": "fixed"}, "resolution_code"),
        ("resolved", {"resolution_code": "solved"}, "resolution_notes"),
        ("sideways", {}, "state"),
    ],
)
def test_transitions_need_their_fields(
    target, fields, field, vpn_agent, network_team, vpn_incident
):
    incident = vpn_incident
    if target in {"on_hold", "resolved"}:
        incident = bring_to(vpn_agent, incident, "assigned", network_team)
    with pytest.raises(ValidationFailed) as caught:
        actions.do_transition(
            vpn_agent, incident, target, expected_version=incident.version, **fields
        )
    assert caught.value.field == field


@pytest.mark.django_db
def test_stale_version_is_a_conflict_and_changes_nothing(
    vpn_agent, network_team, vpn_incident, capture_events
):
    incident = bring_to(vpn_agent, vpn_incident, "assigned", network_team)
    stale = incident.version - 1
    audit_rows, timeline_rows = AuditEntry.objects.count(), TimelineEntry.objects.count()
    with capture_events() as events:
        with pytest.raises(Conflict) as caught:
            actions.do_transition(vpn_agent, incident, "in_progress", expected_version=stale)
        with pytest.raises(Conflict):
            actions.do_update_incident(vpn_agent, incident, expected_version=stale, title="Changed")
    assert caught.value.status == 409
    fresh = Incident.objects.get(pk=incident.pk)
    assert (fresh.state, fresh.title, fresh.version) == (
        "assigned",
        "VPN drops every ten minutes",
        incident.version,
    )
    assert events == []
    assert AuditEntry.objects.count() == audit_rows
    assert TimelineEntry.objects.count() == timeline_rows


@pytest.mark.django_db
def test_reopen_clears_the_resolution(vpn_agent, network_team, vpn_incident):
    incident = bring_to(vpn_agent, vpn_incident, "resolved", network_team)
    assert incident.resolved_at and incident.resolution_code == "solved"
    reopened = move(vpn_agent, incident, "in_progress")
    assert (reopened.resolved_at, reopened.resolution_code) == (None, "")


@pytest.mark.django_db
def test_resolving_tells_everyone_affected_and_following_but_not_the_resolver(
    requester, other_requester, vpn_agent, network_team, vpn_incident
):
    actions.do_add_affected_user(vpn_agent, vpn_incident, other_requester, channel="web")
    vpn_incident.refresh_from_db()
    bring_to(vpn_agent, vpn_incident, "resolved", network_team)
    told = Notification.objects.filter(kind="incident.resolved")
    assert set(told.values_list("recipient", flat=True)) == {requester.pk, other_requester.pk}
    assert told.first().body == "Restarted the gateway."


@pytest.mark.django_db
def test_a_confidential_incident_is_resolved_quietly_for_requesters(
    requester, vpn_agent, problem_manager, network_team, vpn_incident
):
    actions.do_follow(problem_manager, vpn_incident)
    vpn_incident.refresh_from_db()
    incident = actions.do_update_incident(
        vpn_agent, vpn_incident, expected_version=vpn_incident.version, visibility="confidential"
    )
    bring_to(vpn_agent, incident, "resolved", network_team)
    told = Notification.objects.filter(kind="incident.resolved")
    assert list(told.values_list("recipient", flat=True)) == [problem_manager.pk]


@pytest.mark.django_db
def test_requesters_may_reopen_their_own_resolved_incident_but_not_resolve(
    requester, other_requester, vpn_agent, network_team, vpn_incident
):
    with pytest.raises(Forbidden):
        move(requester, vpn_incident, "resolved")
    incident = bring_to(vpn_agent, vpn_incident, "resolved", network_team)
    actions.do_add_affected_user(vpn_agent, incident, other_requester, channel="web")
    incident.refresh_from_db()
    with pytest.raises(Forbidden):
        move(other_requester, incident, "in_progress")
    assert move(requester, incident, "in_progress").state == "in_progress"


@pytest.mark.django_db
def test_assignment_needs_staff_in_the_group(
    vpn_agent, problem_manager, requester, network_team, vpn_incident
):
    with pytest.raises(ValidationFailed):
        actions.do_assign(vpn_agent, vpn_incident, expected_version=1, assignee=requester)
    with pytest.raises(ValidationFailed):
        actions.do_assign(
            vpn_agent,
            vpn_incident,
            expected_version=1,
            group=network_team,
            assignee=problem_manager,
        )
    with pytest.raises(Forbidden):
        actions.do_assign(requester, vpn_incident, expected_version=1, group=network_team)
    assigned = actions.do_assign(
        vpn_agent, vpn_incident, expected_version=1, group=network_team, assignee=vpn_agent
    )
    assert (assigned.state, assigned.assignee, assigned.version) == ("assigned", vpn_agent, 2)
    assert assigned.assigned_at is not None and assigned.first_response_at is not None


@pytest.mark.django_db
def test_resolved_incidents_close_after_the_configured_days(
    settings, vpn_agent, network_team, vpn_incident, requester, vpn_service, capture_events
):
    settings.INCIDENT_AUTO_CLOSE_DAYS = 7
    old = bring_to(vpn_agent, vpn_incident, "resolved", network_team)
    recent = actions.do_create_incident(
        requester, title="Recent", description="", service=vpn_service
    )
    recent = bring_to(vpn_agent, recent, "resolved", network_team)
    Incident.objects.filter(pk=old.pk).update(resolved_at=timezone.now() - timedelta(days=8))
    with capture_events() as events:
        assert actions.close_resolved_incidents() == 1
    assert Incident.objects.get(pk=old.pk).state == "closed"
    assert Incident.objects.get(pk=old.pk).closed_at is not None
    assert Incident.objects.get(pk=recent.pk).state == "resolved"
    assert [(e.op, e.payload["incident"]["id"]) for e in events] == [("transition", old.pk)]
    entry = AuditEntry.objects.filter(action="incident.transition").latest("sequence")
    assert entry.actor is None and entry.actor_label == "system"


@pytest.mark.django_db
def test_the_worker_closes_resolved_incidents_every_hour(
    settings, vpn_agent, network_team, vpn_incident
):
    from hashdesk.incidents.tasks import close_resolved

    settings.INCIDENT_AUTO_CLOSE_DAYS = 7
    old = bring_to(vpn_agent, vpn_incident, "resolved", network_team)
    Incident.objects.filter(pk=old.pk).update(resolved_at=timezone.now() - timedelta(days=8))
    assert close_resolved.call_local() == 1
    assert Incident.objects.get(pk=old.pk).state == "closed"
