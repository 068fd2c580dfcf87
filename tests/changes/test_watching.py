"""Watching a change: "Watch this change" on its page, and a watcher who uses none of its
services hears each announcement like those who do (PRODUCT.md story 5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from hashdesk.audit.models import AuditEntry
from hashdesk.changes import announcements
from hashdesk.changes.audience import people_concerned
from hashdesk.changes.models import ChangeWatcher
from hashdesk.changes.watching import do_unwatch_change, do_watch_change
from hashdesk.core.errors import Conflict, NotFound
from hashdesk.core.models import OutboxMessage
from hashdesk.notify.models import Notification
from tests.changes.comms_support import a_week_ahead, follows, scheduled_change
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def signed_in(person) -> Client:
    client = Client()
    assert client.login(username=person.email, password=PASSWORD)
    return client


@pytest.fixture
def vpn_change(vpn_agent, vpn_service):
    return scheduled_change(vpn_agent, [vpn_service], a_week_ahead())


def test_watch_and_unwatch_are_recorded(requester, vpn_change):
    do_watch_change(requester, vpn_change)
    assert ChangeWatcher.objects.filter(change=vpn_change, user=requester).exists()
    with pytest.raises(Conflict):
        do_watch_change(requester, vpn_change)

    do_unwatch_change(requester, vpn_change)
    assert not ChangeWatcher.objects.exists()
    with pytest.raises(NotFound):
        do_unwatch_change(requester, vpn_change)
    assert list(
        AuditEntry.objects.filter(action__startswith="changes.").values_list("action", flat=True)
    ) == ["changes.watch", "changes.unwatch"]


def test_nobody_watches_a_change_they_may_not_see(requester, vpn_agent, security_service):
    secret = scheduled_change(vpn_agent, [security_service], a_week_ahead())

    with pytest.raises(NotFound):
        do_watch_change(requester, secret)
    assert not ChangeWatcher.objects.exists()


def test_a_watcher_is_told_of_the_changes_announcements(requester, other_requester, vpn_change):
    follows(other_requester, vpn_change.affected.get().service)
    do_watch_change(requester, vpn_change)
    now = vpn_change.planned_start - timedelta(days=7)

    announcements.plan(vpn_change, "scheduled", now=now)

    [notice] = Notification.objects.filter(recipient=requester)
    assert notice.kind == "change.scheduled"
    assert notice.url == f"/changes/{vpn_change.number}/"
    assert Notification.objects.filter(recipient=other_requester).count() == 1
    # Story 5 through every channel: the watcher's default is email at once.
    mail = OutboxMessage.objects.get(recipient=requester, channel="email")
    assert mail.kind == "change.scheduled"


def test_a_watcher_is_told_once_even_when_also_following_the_service(requester, vpn_change):
    follows(requester, vpn_change.affected.get().service)
    do_watch_change(requester, vpn_change)

    people = list(people_concerned([vpn_change.affected.get().service], change=vpn_change))

    assert people == [requester]


def test_a_watcher_who_lost_sight_of_a_confidential_change_is_not_told(
    requester, vpn_agent, vpn_change, vpn_service
):
    do_watch_change(requester, vpn_change)
    from hashdesk.catalog import actions as catalog_actions

    catalog_actions.do_update_service(None, vpn_service, visibility="confidential")
    vpn_service.refresh_from_db()

    assert vpn_agent not in people_concerned([vpn_service], change=vpn_change)
    assert requester not in people_concerned([vpn_service], change=vpn_change)


def test_the_watch_button_on_the_change_page(requester, vpn_change):
    client = signed_in(requester)
    page = f"/changes/{vpn_change.number}/"

    html = client.get(page).content.decode()
    assert "Watch this change" in html
    assert f'action="/changes/{vpn_change.number}/watch/"' in html

    response = client.post(f"/changes/{vpn_change.number}/watch/", {"watch": "1"})
    assert response.status_code == 302 and response["Location"] == page
    html = client.get(page).content.decode()
    assert "Stop watching" in html
    assert f"You watch {vpn_change.number}" in html

    client.post(f"/changes/{vpn_change.number}/watch/", {"watch": "0"})
    assert not ChangeWatcher.objects.exists()


def test_the_watch_button_is_404_for_a_change_one_may_not_see(
    requester, vpn_agent, security_service
):
    secret = scheduled_change(vpn_agent, [security_service], a_week_ahead())

    response = signed_in(requester).post(f"/changes/{secret.number}/watch/", {"watch": "1"})

    assert response.status_code == 404
    assert not ChangeWatcher.objects.exists()


def test_the_watch_button_needs_a_post(requester, vpn_change):
    response = signed_in(requester).get(f"/changes/{vpn_change.number}/watch/")
    assert response.status_code == 405
