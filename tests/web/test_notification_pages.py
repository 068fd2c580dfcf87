"""The notifications page, the bell menu's fragment and marking read."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from hashdesk.accounts.models import User
from hashdesk.notify.actions import do_notify
from hashdesk.notify.models import Notification
from tests.web.conftest import assert_shell_rules

pytestmark = pytest.mark.django_db


def test_people_see_only_their_own_notifications(
    browser_for: Any, requester: User, other_requester: User
) -> None:
    do_notify(requester, kind="test", title="Your VPN ticket was answered")
    do_notify(other_requester, kind="test", title="Someone else's news")
    html = browser_for(requester).get(reverse("notify:list")).content.decode()
    assert "Your VPN ticket was answered" in html
    assert "Someone else" not in html
    assert "1 unread." in html
    assert_shell_rules(html)


def test_marking_one_read(browser_for: Any, requester: User, capture_events: Any) -> None:
    first = do_notify(requester, kind="test", title="First")
    second = do_notify(requester, kind="test", title="Second")
    with capture_events() as events:
        response = browser_for(requester).post(
            reverse("notify:mark-read"),
            {"notification": [str(first.pk)], "next": reverse("notify:list")},
        )
    assert response["Location"] == reverse("notify:list")
    assert Notification.objects.get(pk=first.pk).read_at is not None
    assert Notification.objects.get(pk=second.pk).read_at is None
    assert [(e.type, e.op, e.payload["unread_count"]) for e in events] == [
        ("notification", "read", 1)
    ]


def test_marking_all_read_and_foreign_ids_are_ignored(
    browser_for: Any, requester: User, other_requester: User
) -> None:
    do_notify(requester, kind="test", title="Mine")
    theirs = do_notify(other_requester, kind="test", title="Theirs")
    client = browser_for(requester)
    client.post(reverse("notify:mark-read"), {"notification": [str(theirs.pk)]})
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    response = client.post(reverse("notify:mark-read"), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("notify:list")  # no open redirect
    assert not Notification.objects.filter(recipient=requester, read_at__isnull=True).exists()
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_the_menu_fragment_lists_the_latest(browser_for: Any, requester: User) -> None:
    for number in range(10):
        do_notify(requester, kind="test", title=f"Update {number}")
    response = browser_for(requester).get(reverse("notify:menu"))
    html = response.content.decode()
    assert 'data-unread-count="10"' in html
    assert html.count('class="notification notification--unread"') == 8
    assert "Update 9" in html and "Update 1" not in html
    assert "no-store" in response["Cache-Control"]


def test_the_notification_pages_need_a_signed_in_person(db: Any) -> None:
    from django.test import Client

    client = Client()
    assert client.get(reverse("notify:list")).status_code == 302
    assert client.get(reverse("notify:menu")).status_code == 302
    assert client.post(reverse("notify:mark-read")).status_code == 302
