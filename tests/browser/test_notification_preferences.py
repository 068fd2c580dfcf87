"""The notification centre, preferences and subscriptions pages in a real browser: live, usable at
phone width without sideways scrolling, and free of console (CSP) errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.db import transaction

from hashdesk.accounts.models import User
from hashdesk.notify.actions import do_notify
from hashdesk.notify.preferences import preferences_for


@pytest.mark.parametrize("width", [390, 1280])
def test_preferences_and_subscriptions_work_at_phone_and_desk_width(
    open_tab: Any, requester: User, width: int
) -> None:
    tab = open_tab(viewport={"width": width, "height": 800})
    tab.sign_in(requester)

    for path in ("/notifications/preferences/", "/notifications/subscriptions/"):
        tab.open(path)
        assert tab.no_horizontal_scroll(), path

    tab.open("/notifications/preferences/")
    tab.page.get_by_label("Email for changes to services I use").uncheck()
    tab.page.get_by_label("How often for mentions and replies").select_option("daily")
    tab.page.get_by_role("button", name="Save preferences").click()
    tab.page.wait_for_selector("text=Your notification preferences are saved.")
    prefs = preferences_for([requester.pk])[requester.pk]
    assert prefs["changes"].channels == frozenset()
    assert prefs["mentions"].digest == "daily"
    assert tab.console_errors == []


def test_the_notifications_page_says_new_ones_arrived_and_marks_one_read(
    open_tab: Any, requester: User
) -> None:
    tab = open_tab()
    tab.sign_in(requester)
    tab.open("/notifications/")
    tab.wait_until_live()

    with transaction.atomic():
        do_notify(requester, kind="incident.update", title="VPN is back", url="/")

    tab.page.wait_for_selector("text=1 new notification: show it")
    tab.page.locator(".notifications-button").click()
    tab.page.get_by_role("button", name=re.compile(r"^Mark read\W+VPN is back$")).click()
    tab.page.wait_for_selector("[data-unread-badge][hidden]", state="attached")
    assert tab.console_errors == []
