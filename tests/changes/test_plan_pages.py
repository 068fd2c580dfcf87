"""The change pages that write: planning a change, moving and editing it, the CAB's decision,
the calendar and one's own feed (docs/changes.md, "Pages")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.changes import approvals, windows
from hashdesk.changes.models import Approval, CalendarFeed, Change
from tests.changes.core_support import move, new_change, soon

pytestmark = pytest.mark.django_db


def _client(person: User) -> Client:
    client = Client()
    client.force_login(person)
    return client


def _plan(services: list[Service], **extra: Any) -> dict[str, Any]:
    start = soon().astimezone(ZoneInfo("Europe/Madrid")).replace(tzinfo=None)
    return {
        "type": "normal",
        "summary": "Firmware upgrade of the VPN concentrator",
        "description": "New firmware fixes session drops.",
        "implementation_plan": "Upgrade the standby, fail over, upgrade the primary.",
        "backout_plan": "Boot the previous image.",
        "services": [s.pk for s in services],
        "planned_start": start.strftime("%Y-%m-%dT%H:%M"),
        "planned_end": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "time_zone": "Europe/Madrid",
        "risk_tested_in_staging": "yes",
        "risk_outage_expected": "no",
        **extra,
    }


def test_staff_plan_a_change_and_are_sent_to_its_page(
    change_manager: User, vpn_service: Service
) -> None:
    client = _client(change_manager)
    assert client.get("/changes/new/").status_code == 200
    response = client.post("/changes/new/", _plan([vpn_service]))
    change = Change.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/changes/{change.number}/"
    assert change.time_zone == "Europe/Madrid" and change.state == "draft"
    local = (
        change.planned_start.astimezone(ZoneInfo("Europe/Madrid")) if change.planned_start else None
    )
    assert local is not None and local.replace(tzinfo=None) == soon().astimezone(
        ZoneInfo("Europe/Madrid")
    ).replace(tzinfo=None)
    assert change.risk_answers["tested_in_staging"] is True
    assert change.risk_answers["outage_expected"] is False
    assert "done_before" not in change.risk_answers


def test_bad_plans_come_back_with_their_errors_and_nothing_is_recorded(
    change_manager: User, vpn_service: Service
) -> None:
    client = _client(change_manager)
    no_service = client.post("/changes/new/", _plan([], summary="Nothing named"))
    assert no_service.status_code == 400
    assert "Name at least one affected service" in no_service.content.decode()
    backwards = _plan([vpn_service], planned_end=_plan([])["planned_start"])
    assert client.post("/changes/new/", backwards).status_code == 400
    assert (
        client.post("/changes/new/", _plan([vpn_service], time_zone="Mars/Base")).status_code == 400
    )
    assert not Change.objects.exists()


def test_requesters_may_not_plan_changes(requester: User) -> None:
    assert _client(requester).get("/changes/new/").status_code == 403
    assert _client(requester).post("/changes/new/", {}).status_code == 403


def test_transitions_are_offered_and_refusals_explained(
    change_manager: User, vpn_service: Service
) -> None:
    change = new_change(change_manager, [vpn_service])
    client = _client(change_manager)
    page = client.get(f"/changes/{change.number}/").content.decode()
    assert 'value="assess"' in page and 'value="scheduled"' not in page
    stale = client.post(
        f"/changes/{change.number}/transition/",
        {"move-to_state": "assess", "move-version": change.version + 1},
    )
    assert stale.status_code == 400 and "changed by someone else" in stale.content.decode()
    no_notes = client.post(
        f"/changes/{change.number}/transition/",
        {"move-to_state": "cancelled", "move-version": change.version},
    )
    assert no_notes.status_code == 400 and "needs notes" in no_notes.content.decode()
    done = client.post(
        f"/changes/{change.number}/transition/",
        {"move-to_state": "assess", "move-version": change.version},
    )
    assert done.status_code == 302
    change.refresh_from_db()
    assert change.state == "assess"


def test_requesters_cannot_post_to_a_change(
    requester: User, change_manager: User, vpn_service: Service
) -> None:
    change = new_change(change_manager, [vpn_service])
    url = f"/changes/{change.number}/transition/"
    response = _client(requester).post(
        url, {"move-to_state": "assess", "move-version": change.version}
    )
    assert response.status_code == 404
    change.refresh_from_db()
    assert change.state == "draft"


def test_a_conflicting_schedule_needs_a_change_managers_justification(
    change_manager: User, vpn_agent: User, vpn_service: Service
) -> None:
    windows.do_create_window(
        change_manager,
        kind="freeze",
        name="Year-end freeze",
        starts_at=soon(days=9),
        ends_at=soon(days=12),
    )
    change = new_change(vpn_agent, [vpn_service], type="emergency")
    approvals.do_create_approver_group(
        None, name="ECAB", members=[change_manager], change_types=["emergency"], quorum=1
    )
    change = move(vpn_agent, change, "authorise")
    manager = _client(change_manager)
    page = manager.get(f"/changes/{change.number}/").content.decode()
    assert "Your decision" in page and "Year-end freeze" in page
    assert (
        manager.post(f"/changes/{change.number}/decide/", {"decide-decision": "reject"}).status_code
        == 400
    )
    approved = manager.post(f"/changes/{change.number}/decide/", {"decide-decision": "approve"})
    assert approved.status_code == 302
    assert Approval.objects.get().decision == "approved"
    change.refresh_from_db()
    url = f"/changes/{change.number}/transition/"
    refused = _client(vpn_agent).post(
        url, {"move-to_state": "scheduled", "move-version": change.version}
    )
    assert refused.status_code == 400 and "Year-end freeze" in refused.content.decode()
    overridden = manager.post(
        url,
        {
            "move-to_state": "scheduled",
            "move-version": change.version,
            "move-override_justification": "The firmware fixes an exploited flaw.",
        },
    )
    assert overridden.status_code == 302
    change.refresh_from_db()
    assert change.state == "scheduled" and change.conflict_override


def test_the_calendar_shows_changes_and_windows_and_costs_the_same_for_many(
    change_manager: User,
    requester: User,
    vpn_service: Service,
    sso_service: Service,
    query_count: Callable[[], Any],
) -> None:
    start = soon(days=3)
    day = start.date().isoformat()
    windows.do_create_window(
        change_manager,
        kind="freeze",
        name="Audit freeze",
        starts_at=start,
        ends_at=start + timedelta(hours=4),
    )
    new_change(
        change_manager, [vpn_service], planned_start=start, planned_end=start + timedelta(hours=1)
    )
    client = _client(change_manager)
    for view in ("month", "week"):
        page = client.get(f"/changes/calendar/?view={view}&date={day}")
        html = page.content.decode()
        assert page.status_code == 200 and "Audit freeze" in html and "Upgrade the VPN" in html
    other = client.get(f"/changes/calendar/?date={day}&service={sso_service.slug}").content.decode()
    assert "Upgrade the VPN" not in other
    assert client.get("/changes/calendar/?service=nope").status_code == 404
    url = f"/changes/calendar/?view=month&date={day}"
    with query_count() as few:
        client.get(url)
    for hour in range(1, 28):
        begins = start + timedelta(minutes=hour)
        new_change(
            change_manager,
            [vpn_service],
            planned_start=begins,
            planned_end=begins + timedelta(hours=1),
        )
    with query_count() as many:
        assert client.get(url).content.decode().count("Upgrade the VPN") >= 28
    assert len(many) == len(few)


def test_people_create_and_revoke_their_feed(requester: User) -> None:
    client = _client(requester)
    assert "Create my feed" in client.get("/changes/").content.decode()
    created = client.post("/changes/feed/", {"action": "create"})
    html = created.content.decode()
    assert created.status_code == 200 and "/changes/feeds/" in html
    secret_url = html.split("data-feed-url")[0].rsplit('value="', 1)[1].split('"')[0]
    feed_path = secret_url[secret_url.index("/changes/feeds/") :]
    assert Client().get(feed_path).status_code == 200
    assert "Revoke my feed" in client.get("/changes/").content.decode()
    revoked = client.post("/changes/feed/", {"action": "revoke"})
    assert revoked.status_code == 302
    assert not CalendarFeed.objects.exists()
    assert Client().get(feed_path).status_code == 404


def test_managers_role_is_needed_for_the_override_field(
    make_person: Callable[..., User], vpn_agent: User, vpn_service: Service
) -> None:
    change = new_change(vpn_agent, [vpn_service])
    agent_page = _client(vpn_agent).get(f"/changes/{change.number}/").content.decode()
    assert "override_justification" not in agent_page
    manager = make_person("cm2@example.test", roles=[Role.CHANGE_MANAGER])
    manager_page = _client(manager).get(f"/changes/{change.number}/").content.decode()
    assert "override_justification" in manager_page


def test_moving_a_scheduled_change_bumps_its_sequence_and_stale_edits_are_refused(
    change_manager: User, vpn_service: Service
) -> None:
    change = new_change(change_manager, [vpn_service])
    Change.objects.filter(pk=change.pk).update(state="scheduled")
    change.refresh_from_db()
    client = _client(change_manager)
    later = soon(days=11).replace(tzinfo=None)  # read in UTC, the change's zone
    form = {
        "edit-summary": change.summary,
        "edit-description": "Moved a day.",
        "edit-planned_start": later.strftime("%Y-%m-%dT%H:%M"),
        "edit-planned_end": (later + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "edit-time_zone": "UTC",
        "edit-version": change.version,
    }
    url = f"/changes/{change.number}/edit/"
    stale = client.post(url, {**form, "edit-version": change.version + 1})
    assert stale.status_code == 400 and "changed by someone else" in stale.content.decode()
    assert client.post(url, form).status_code == 302
    moved = Change.objects.get(pk=change.pk)
    assert moved.planned_start == soon(days=11)
    assert moved.sequence == change.sequence + 1 and moved.description == "Moved a day."


def test_an_empty_plan_is_refused_and_odd_calendar_dates_show_today(
    change_manager: User, vpn_service: Service
) -> None:
    client = _client(change_manager)
    assert client.post("/changes/new/", {}).status_code == 400
    for day in ("nonsense", "9999-12-31", "0001-01-01"):
        assert client.get(f"/changes/calendar/?date={day}").status_code == 200, day
