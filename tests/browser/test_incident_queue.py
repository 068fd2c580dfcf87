"""The agent queue in Chromium: keyboard, bulk assignment, the shortcuts dialog, a phone's
width, and the live "incidents changed" notice over the real event server."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import transaction

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.incidents import actions
from hashdesk.incidents.models import Incident

pytestmark = pytest.mark.browser


def report(requester: User, service: Service, title: str) -> Incident:
    with transaction.atomic():
        return actions.do_create_incident(requester, title=title, description="", service=service)


def row_numbers(tab: Any) -> list[str]:
    return list(
        tab.page.eval_on_selector_all(
            "[data-queue-row] [data-queue-open]", "links => links.map(link => link.textContent)"
        )
    )


def test_an_agent_takes_unassigned_incidents_from_the_keyboard(
    open_tab: Any, vpn_agent: User, requester: User, vpn_service: Service
) -> None:
    first, second, third = (
        report(requester, vpn_service, f"VPN drops every {n} minutes") for n in (5, 10, 15)
    )
    tab = open_tab()
    tab.sign_in(vpn_agent)
    page = tab.page
    tab.open("/incidents/")
    page.get_by_role("navigation", name="Queues").get_by_role(
        "link", name=re.compile(r"^Unassigned")
    ).click()
    page.wait_for_url(re.compile(r"queue=unassigned"))
    assert row_numbers(tab) == [first.number, second.number, third.number]

    # j moves to the first row, x selects it; again for the second.
    for key in ("j", "x", "j", "x"):
        page.keyboard.press(key)
    checks = page.locator("[data-queue-check]")
    assert [checks.nth(i).is_checked() for i in range(3)] == [True, True, False]
    assert page.locator("[data-queue-selected]").inner_text() == "2 incidents selected:"
    assert page.evaluate("document.activeElement.matches('[data-queue-row]')")

    page.get_by_text("Assign…").click()
    page.locator("#bulk-assignee").select_option("me")
    page.get_by_role("button", name="Assign selected").click()
    page.wait_for_url(re.compile(r"queue=unassigned"))
    assert "2 updated" in page.locator(".messages").inner_text()
    assert row_numbers(tab) == [third.number]

    page.get_by_role("navigation", name="Queues").get_by_role(
        "link", name=re.compile(r"^Mine")
    ).click()
    page.wait_for_url(re.compile(r"queue=mine"))
    assert row_numbers(tab) == [first.number, second.number]
    assert tab.console_errors == []


def test_the_queue_says_when_incidents_change_while_it_is_open(
    open_tab: Any, vpn_agent: User, requester: User, vpn_service: Service
) -> None:
    report(requester, vpn_service, "Printer on floor 2 is offline")
    tab = open_tab()
    tab.sign_in(vpn_agent)
    tab.open("/incidents/")
    tab.wait_until_live()
    notice = tab.page.locator("[data-queue-live]")
    assert not notice.is_visible()
    report(requester, vpn_service, "Wi-Fi in building B keeps dropping")
    notice.wait_for(state="visible")
    assert "1 incident changed" in notice.inner_text()
    tab.page.get_by_role("link", name="Refresh").click()
    tab.page.wait_for_load_state("load")
    assert len(row_numbers(tab)) == 2
    assert not tab.page.locator("[data-queue-live]").is_visible()
    assert tab.console_errors == []


def test_shortcuts_help_search_key_and_typing_do_not_clash(
    open_tab: Any, vpn_agent: User, requester: User, vpn_service: Service
) -> None:
    incident = report(requester, vpn_service, "Outlook crashes on calendar attachments")
    tab = open_tab()
    tab.sign_in(vpn_agent)
    page = tab.page
    tab.open("/incidents/")
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    dialog.wait_for(state="visible")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    # "/" goes to the search box; letters typed there are text, not shortcuts.
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "id_q"
    page.keyboard.type("jx")
    assert page.locator("#id_q").input_value() == "jx"
    assert not page.locator("[data-queue-check]").first.is_checked()
    page.locator("#id_q").fill(incident.number)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=INC-"))
    assert row_numbers(tab) == [incident.number]
    # o opens the current row.
    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url(re.compile(rf"/incidents/{incident.number}/$"))
    assert tab.console_errors == []


def test_the_queue_fits_a_phone(
    open_tab: Any, vpn_agent: User, requester: User, vpn_service: Service
) -> None:
    report(requester, vpn_service, "A rather long title about the VPN dropping " * 3)
    tab = open_tab(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    tab.sign_in(vpn_agent)
    tab.open("/incidents/?queue=all")
    assert tab.no_horizontal_scroll()
    # Rows are labelled cards: each cell says what it is, the headers stay for screen readers.
    row = tab.page.locator("[data-queue-row]")
    assert row.count() == 1
    assert row.evaluate("row => getComputedStyle(row).display") == "block"
    label = row.locator("[data-label='Service']").evaluate(
        "cell => getComputedStyle(cell, '::before').content"
    )
    assert label == '"Service"'
    assert tab.console_errors == []
