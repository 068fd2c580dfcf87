"""Recording and editing changes: numbers, checks, derived services, versions, audit, events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.models import Service
from hashdesk.changes import actions
from hashdesk.changes.choices import AffectedReason, ChangeState, ChangeType
from hashdesk.changes.models import AffectedService, Change
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.changes.core_support import move, new_change, soon


@pytest.fixture
def mail_service(db: Any, sso_service: Service) -> Service:
    """Mail depends on single sign-on; the portal depends on mail (two hops from SSO)."""
    mail = catalog_actions.do_create_service(
        None, name="Mail", hashtag="mail", criticality="medium"
    )
    catalog_actions.do_add_dependency(None, mail, sso_service)
    return mail


@pytest.fixture
def portal_service(db: Any, mail_service: Service) -> Service:
    portal = catalog_actions.do_create_service(None, name="Portal", hashtag="portal")
    catalog_actions.do_add_dependency(None, portal, mail_service)
    return portal


def affected(change: Change) -> dict[str, tuple[str, int]]:
    return {
        row.service.hashtag: (row.reason, row.distance)
        for row in AffectedService.objects.filter(change=change).select_related("service")
    }


def test_a_change_gets_a_number_its_services_and_dependents(
    vpn_agent: User, sso_service: Service, portal_service: Service, capture_events: Any
) -> None:
    with capture_events() as events:
        change = new_change(vpn_agent, [sso_service])
    assert change.number == f"CHG-{change.pk:06d}"
    assert change.state == ChangeState.DRAFT
    assert change.requester == vpn_agent and change.owner == vpn_agent
    assert affected(change) == {
        "sso": (AffectedReason.CHOSEN, 0),
        "mail": (AffectedReason.DERIVED, 1),
        "portal": (AffectedReason.DERIVED, 2),
    }
    assert [(e.type, e.op, e.streams) for e in events] == [("change", "create", ["staff"])]
    entry = AuditEntry.objects.get(action="change.create")
    assert entry.object_id == str(change.pk)


def test_a_configuration_items_service_and_its_dependents_are_derived(
    vpn_agent: User, sso_service: Service, mail_service: Service
) -> None:
    item = catalog_actions.do_create_configuration_item(None, service=sso_service, name="idp-1")
    change = actions.do_create_change(
        vpn_agent,
        summary="Patch idp-1",
        configuration_items=[item],
        planned_start=soon(),
        planned_end=soon(hours=1),
    )
    assert affected(change) == {
        "sso": (AffectedReason.DERIVED, 0),
        "mail": (AffectedReason.DERIVED, 1),
    }
    assert list(change.configuration_items.all()) == [item]


def test_naive_planned_times_are_read_in_the_changes_time_zone(
    vpn_agent: User, vpn_service: Service
) -> None:
    start = soon().replace(tzinfo=None)
    change = new_change(
        vpn_agent,
        [vpn_service],
        planned_start=start,
        planned_end=start + timedelta(hours=1),
        time_zone="Europe/Madrid",
    )
    change.refresh_from_db()
    assert change.planned_start == start.replace(tzinfo=ZoneInfo("Europe/Madrid"))


@pytest.mark.parametrize(
    ("fields", "error", "field"),
    [
        ({"summary": "  "}, ValidationFailed, "summary"),
        (
            {"planned_start": soon(), "planned_end": soon() - timedelta(hours=1)},
            ValidationFailed,
            "planned_end",
        ),
        (
            {"planned_start": soon(days=-1), "planned_end": soon()},
            ValidationFailed,
            "planned_start",
        ),
        ({"time_zone": "Mars/Olympus"}, ValidationFailed, "time_zone"),
        ({"type": "sideways"}, ValidationFailed, "type"),
        ({"type": ChangeType.STANDARD}, ValidationFailed, "template"),
        ({"risk_answers": {"feeling_lucky": True}}, ValidationFailed, "risk_answers"),
        ({"risk_answers": {"done_before": "yes"}}, ValidationFailed, "risk_answers"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    vpn_agent: User,
    vpn_service: Service,
    fields: dict[str, Any],
    error: type[Exception],
    field: str,
    capture_events: Any,
) -> None:
    with capture_events() as events, pytest.raises(error) as raised:
        new_change(vpn_agent, [vpn_service], **fields)
    assert raised.value.field == field  # type: ignore[attr-defined]
    assert not Change.objects.exists() and not events
    assert not AuditEntry.objects.filter(action__startswith="change.").exists()


def test_unknown_or_invisible_services_are_not_found(
    vpn_agent: User, requester: User, vpn_service: Service, security_service: Service
) -> None:
    ghost = Service(pk=999_999, name="Ghost")
    with pytest.raises(NotFound) as raised:
        new_change(vpn_agent, [vpn_service, ghost])
    assert raised.value.field == "services"
    with pytest.raises(Forbidden):
        new_change(requester, [vpn_service])
    assert not Change.objects.exists()


def test_a_change_names_at_least_one_service(vpn_agent: User) -> None:
    with pytest.raises(ValidationFailed) as raised:
        new_change(vpn_agent, [])
    assert raised.value.field == "services"


def test_a_standard_change_copies_its_templates_plans_and_services(
    vpn_agent: User, vpn_service: Service
) -> None:
    template = actions.do_create_template(
        None,
        name="Rotate VPN certificates",
        implementation_plan="Rotate with the runbook.",
        backout_plan="Restore the old certificate.",
        services=[vpn_service],
    )
    change = actions.do_create_change(
        vpn_agent,
        type=ChangeType.STANDARD,
        template=template,
        summary="Rotate certificates",
        planned_start=soon(),
        planned_end=soon(hours=1),
    )
    assert change.implementation_plan == "Rotate with the runbook."
    assert change.backout_plan == "Restore the old certificate."
    assert set(affected(change)) == {"vpn"}
    actions.do_retire_template(None, template)
    with pytest.raises(ValidationFailed):
        actions.do_create_change(
            vpn_agent, type=ChangeType.STANDARD, template=template, summary="Again"
        )


def test_updating_rederives_services_and_risk_and_bumps_the_version(
    vpn_agent: User, vpn_service: Service, sso_service: Service, mail_service: Service
) -> None:
    change = new_change(vpn_agent, [vpn_service])
    low = change.risk_score
    updated = actions.do_update_change(
        vpn_agent,
        change,
        expected_version=1,
        services=[vpn_service, sso_service],
        summary="Upgrade VPN and SSO",
    )
    assert updated.version == 2 and updated.summary == "Upgrade VPN and SSO"
    assert set(affected(updated)) == {"vpn", "sso", "mail"}
    assert updated.risk_score > low
    assert AuditEntry.objects.filter(action="change.update").count() == 1


def test_a_stale_version_is_a_conflict_and_changes_nothing(
    vpn_agent: User, vpn_service: Service, capture_events: Any
) -> None:
    change = new_change(vpn_agent, [vpn_service])
    actions.do_update_change(vpn_agent, change, expected_version=1, summary="First edit")
    with capture_events() as events, pytest.raises(Conflict):
        actions.do_update_change(vpn_agent, change, expected_version=1, summary="Second edit")
    change.refresh_from_db()
    assert change.summary == "First edit" and change.version == 2 and not events


def test_moving_a_scheduled_change_bumps_its_sequence_and_tells_people(
    vpn_agent: User, vpn_service: Service, capture_events: Any
) -> None:
    change = new_change(vpn_agent, [vpn_service], type=ChangeType.EMERGENCY)
    move(vpn_agent, change, ChangeState.AUTHORISE)
    change = move(vpn_agent, change, ChangeState.SCHEDULED)
    assert change.sequence == 0
    with capture_events() as events:
        moved = actions.do_update_change(
            vpn_agent,
            change,
            expected_version=change.version,
            planned_start=soon(days=12),
            planned_end=soon(days=12, hours=2),
        )
    assert moved.sequence == 1
    assert ("change", "update") in [(e.type, e.op) for e in events]
    assert f"service:{vpn_service.pk}" in events[-1].streams
    assert moved.announcements.filter(moment="moved").exists()


def test_a_started_change_cannot_move_nor_change_its_services(
    vpn_agent: User, vpn_service: Service, sso_service: Service
) -> None:
    change = new_change(vpn_agent, [vpn_service], type=ChangeType.EMERGENCY)
    move(vpn_agent, change, ChangeState.AUTHORISE)
    move(vpn_agent, change, ChangeState.SCHEDULED)
    change = move(vpn_agent, change, ChangeState.IMPLEMENTING)
    for fields in ({"planned_start": soon(days=20)}, {"services": [sso_service]}):
        with pytest.raises(ValidationFailed):
            actions.do_update_change(vpn_agent, change, expected_version=change.version, **fields)
