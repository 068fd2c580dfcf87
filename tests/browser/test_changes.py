"""Story 5 of docs/PRODUCT end to end in Chromium: a change manager plans a firmware upgrade of
the VPN concentrator, sees what it conflicts with and overrides it with a justification; a CAB
member approves; once scheduled, a requester who follows #vpn sees the announcement arrive live
on the VPN wall and is notified; a move shows in the requester's iCal feed with the same UID and
SEQUENCE + 1, and a cancellation as STATUS:CANCELLED."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.test import Client

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.catalog import actions as catalog_actions
from hashdesk.changes import approvals, feeds, windows
from hashdesk.changes.models import Change
from hashdesk.notify.models import Notification
from tests.changes.comms_support import follows, scheduled_change

pytestmark = pytest.mark.browser

MADRID = ZoneInfo("Europe/Madrid")


def _saturday_at_ten() -> datetime:
    """The first Saturday at least three days ahead, 22:00 in Madrid."""
    day = date.today() + timedelta(days=3)
    day += timedelta(days=(5 - day.weekday()) % 7)
    return datetime(day.year, day.month, day.day, 22, tzinfo=MADRID)


def _event(feed_path: str) -> Any:
    body = Client().get(feed_path).content
    events = icalendar.Calendar.from_ical(body).walk("VEVENT")
    (event,) = [e for e in events if "Firmware upgrade" in str(e["SUMMARY"])]
    return event


def test_story_5_a_change_planned_approved_announced_moved_and_cancelled(
    open_tab: Any,
    change_manager: User,
    vpn_agent: User,
    requester: User,
    make_person: Any,
    vpn_service: Any,
) -> None:
    portal = catalog_actions.do_create_service(None, name="Portal", hashtag="portal")
    catalog_actions.do_add_dependency(None, portal, vpn_service)
    cab_member = make_person("cab@example.test", roles=[Role.CHANGE_MANAGER])
    approvals.do_create_approver_group(
        None, name="CAB", members=[cab_member], change_types=["normal", "emergency"], quorum=1
    )
    start = _saturday_at_ten()
    scheduled_change(vpn_agent, [vpn_service], start, summary="Renew the VPN certificates")
    windows.do_create_window(
        change_manager,
        kind="freeze",
        name="Quarter-end freeze",
        starts_at=start - timedelta(hours=1),
        ends_at=start + timedelta(hours=6),
    )
    follows(requester, vpn_service)
    secret = feeds.do_create_feed(requester)
    feed_path = feeds.feed_url(secret)[feeds.feed_url(secret).index("/changes/") :]

    manager = open_tab()
    manager.sign_in(change_manager)
    manager.open("/changes/new/")
    page = manager.page
    page.get_by_label("Summary").fill("Firmware upgrade of the VPN concentrator")
    page.get_by_label("Implementation plan").fill("Upgrade the standby, fail over, upgrade.")
    page.get_by_label("Back-out plan").fill("Boot the previous image.")
    page.get_by_label("Services").select_option(label="VPN")
    page.get_by_label("Planned start").fill(start.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Planned end").fill((start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Time zone").select_option("Europe/Madrid")
    page.get_by_role("button", name="Record the change").click()
    page.get_by_text("is recorded as a draft").wait_for()
    change = Change.objects.get(summary__startswith="Firmware")
    assert set(change.affected.values_list("service__name", flat=True)) == {"VPN", "Portal"}

    def move_to(state: str, **fields: str) -> None:
        form = page.locator("form[action$='/transition/']")
        form.get_by_label("Move to").select_option(state)
        for label, value in fields.items():
            form.get_by_label(label).fill(value)
        form.get_by_role("button", name="Move", exact=True).click()

    move_to("assess")
    page.get_by_text(f"{change.number} is assess.").wait_for()
    move_to("authorise")
    page.get_by_text("Approvals").first.wait_for()

    cab = open_tab()
    cab.sign_in(cab_member)
    cab.open(f"/changes/{change.number}/")
    cab.page.get_by_role("button", name="Approve").click()
    cab.page.get_by_text(f"You approved {change.number}.").wait_for()

    wall = open_tab()
    wall.sign_in(requester)
    wall.open("/wall/services/vpn/")
    wall.wait_until_live()

    manager.open(f"/changes/{change.number}/")
    move_to("scheduled")
    problem = page.locator(".error-summary")
    problem.wait_for()
    assert "Renew the VPN certificates" in problem.inner_text()
    assert "Quarter-end freeze" in problem.inner_text()
    move_to(
        "scheduled",
        **{"Why schedule despite the conflicts (change managers)": "Fixes an exploited flaw."},
    )
    page.get_by_text(f"{change.number} is scheduled.").wait_for()

    post = wall.page.locator("[data-wall-list] > [data-post-id]", has_text="Firmware upgrade")
    # It arrives live (the page was opened before the change was scheduled), behind the bar
    # that never moves the timeline under the reader.
    wall.page.get_by_role("button", name="1 new post — show").click()
    post.wait_for()
    assert post.locator(".wall-badge--official").count() == 1
    assert Notification.objects.filter(recipient=requester, kind__startswith="change.").exists()
    first = _event(feed_path)
    assert first["STATUS"] == "CONFIRMED"

    later = start + timedelta(days=1)
    edit = page.locator("form[action$='/edit/']")
    edit.get_by_label("Planned start").fill(later.strftime("%Y-%m-%dT%H:%M"))
    edit.get_by_label("Planned end").fill((later + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    edit.get_by_label("Why schedule despite the conflicts (change managers)").fill("Still needed.")
    edit.get_by_role("button", name="Save").click()
    page.get_by_text(f"{change.number} is saved.").wait_for()
    moved = _event(feed_path)
    assert moved["UID"] == first["UID"]
    assert int(moved["SEQUENCE"]) == int(first["SEQUENCE"]) + 1
    assert moved.decoded("DTSTART") == later

    move_to("cancelled", Notes="The vendor withdrew the firmware.")
    page.get_by_text(f"{change.number} is cancelled.").wait_for()
    assert _event(feed_path)["STATUS"] == "CANCELLED"
    # The refused scheduling is a 400 page, on purpose; nothing else may go wrong.
    assert [e for e in manager.console_errors if "400" not in e] == []
    assert wall.console_errors == [] and cab.console_errors == []


def test_the_plan_form_and_calendar_fit_a_phone(
    open_tab: Any, change_manager: User, vpn_service: Any
) -> None:
    phone = open_tab(viewport={"width": 375, "height": 740})
    phone.sign_in(change_manager)
    for path in ("/changes/new/", "/changes/calendar/", "/changes/calendar/?view=week"):
        assert phone.open(path).status == 200, path
        assert phone.page.locator("h1").count() == 1, path
        assert phone.no_horizontal_scroll(), path
    # The month grid gives way to the day list on a narrow screen.
    phone.open("/changes/calendar/")
    assert not phone.page.locator(".calendar-grid").is_visible()
    assert phone.console_errors == []
