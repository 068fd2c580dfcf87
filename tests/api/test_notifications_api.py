"""My notifications through the API: listing, filtering and marking read."""

from __future__ import annotations

import json

import pytest

from hashdesk.notify.actions import do_notify
from hashdesk.notify.models import Notification
from tests.api.support import assert_problem

pytestmark = pytest.mark.django_db


def body(response):
    return json.loads(response.content)


@pytest.fixture
def inbox(requester, other_requester):
    """Three notifications for the requester (plus the token one), one for a colleague."""
    mine = [do_notify(requester, kind="test.ping", title=f"Ping {i}") for i in range(3)]
    do_notify(other_requester, kind="test.ping", title="Not yours")
    return mine


def test_lists_only_my_notifications_newest_first(as_token, requester, inbox):
    caller = as_token(requester)
    page = body(caller.get("/api/v1/notifications?limit=2"))
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = body(caller.get(f"/api/v1/notifications?cursor={page['next_cursor']}"))
    titles = [n["title"] for n in page["items"] + rest["items"]]
    ids = [n["id"] for n in page["items"] + rest["items"]]
    assert ids == sorted(ids, reverse=True)
    assert "Not yours" not in titles
    assert {"Ping 0", "Ping 1", "Ping 2"} <= set(titles)


def test_mark_some_read_then_all(as_token, requester, inbox, capture_events):
    caller = as_token(requester)
    total_unread = Notification.objects.filter(recipient=requester, read_at=None).count()
    with capture_events() as events:
        response = caller.post("/api/v1/notifications/read", {"ids": [inbox[0].pk, inbox[1].pk]})
    assert body(response) == {"marked": 2, "unread_count": total_unread - 2}
    assert [(e.type, e.op) for e in events] == [("notification", "read")]
    unread = body(caller.get("/api/v1/notifications?unread=true"))["items"]
    assert inbox[0].pk not in {n["id"] for n in unread}
    read = body(caller.get("/api/v1/notifications?unread=false"))["items"]
    assert {n["id"] for n in read} == {inbox[0].pk, inbox[1].pk}
    assert all(n["read"] for n in read)

    assert body(caller.post("/api/v1/notifications/read", {"all": True})) == {
        "marked": total_unread - 2,
        "unread_count": 0,
    }


def test_cannot_mark_someone_elses_notifications(as_token, requester, other_requester, inbox):
    theirs = Notification.objects.get(recipient=other_requester, title="Not yours")
    response = as_token(requester).post("/api/v1/notifications/read", {"ids": [theirs.pk]})
    assert body(response)["marked"] == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize(
    "payload",
    [{}, {"ids": [1], "all": True}, {"ids": []}, {"ids": ["one"]}, {"all": "yes"}, {"every": True}],
)
def test_mark_read_needs_ids_or_all(as_token, requester, inbox, payload, nothing_changes):
    caller = as_token(requester)
    with nothing_changes():
        response = caller.post("/api/v1/notifications/read", payload)
    assert_problem(response, 422)
    assert not Notification.objects.filter(read_at__isnull=False).exists()
