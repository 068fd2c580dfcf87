"""RSS and Atom feeds of the status page, read as a feed reader reads them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import feedparser
import pytest
from django.test import Client
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.incidents.choices import State, TimelineKind
from hashdesk.incidents.models import TimelineEntry
from tests.status.support import make_change, make_incident, make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def story(requester: User, change_manager: User) -> dict[str, Any]:
    vpn = make_service("VPN")
    sso = make_service("SSO")
    vault = make_service("Key vault", visibility="confidential")
    now = timezone.now()
    drops = make_incident(
        vpn,
        requester,
        title="drops every 5 minutes",
        priority=2,
        created_at=now - timedelta(hours=3),
        resolved_at=now - timedelta(hours=1),
        state=State.RESOLVED,
    )
    TimelineEntry.objects.create(
        incident=drops,
        kind=TimelineKind.PUBLIC_UPDATE,
        body="Gateway restarted.",
        body_html="<p>Gateway restarted.</p>",
        is_public=True,
        created_at=now - timedelta(hours=2),
    )
    TimelineEntry.objects.create(
        incident=drops,
        kind=TimelineKind.WORK_NOTE,
        body="Root password rotated.",
        body_html="<p>Root password rotated.</p>",
        is_public=False,
    )
    make_incident(sso, requester, title="Sign-in slow", priority=3, visibility="internal")
    make_incident(vpn, requester, title="Phishing wave", priority=1, visibility="confidential")
    make_incident(vault, requester, title="Vault sealed", priority=1)
    make_change(change_manager, [vpn], summary="VPN concentrator firmware")
    make_change(change_manager, [vault], summary="Vault rotation")
    return {"vpn": vpn, "sso": sso, "vault": vault, "drops": drops}


def test_rss_feed_has_public_incidents_updates_resolution_and_maintenance(
    client: Client, story: dict[str, Any]
) -> None:
    response = client.get("/status/feed.rss")
    assert response.status_code == 200
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.feed.title == "Hashdesk status"
    titles = [entry.title for entry in feed.entries]
    number = story["drops"].number
    assert f"{number} VPN: drops every 5 minutes — Partial outage" in titles
    assert f"{number} VPN: drops every 5 minutes — Update" in titles
    assert f"{number} VPN: drops every 5 minutes — Resolved" in titles
    assert any(title.endswith("Maintenance: VPN concentrator firmware") for title in titles)
    text = response.content.decode()
    for secret in ("Sign-in slow", "Phishing wave", "Vault sealed", "Vault rotation", "password"):
        assert secret not in text
    guids = [entry.id for entry in feed.entries]
    assert len(guids) == len(set(guids))
    # Newest first: the resolution is the latest incident item.
    incident_titles = [title for title in titles if title.startswith(number)]
    assert incident_titles[0].endswith("Resolved")


def test_atom_feed_parses_with_the_same_items(client: Client, story: dict[str, Any]) -> None:
    rss = feedparser.parse(client.get("/status/feed.rss").content)
    atom = feedparser.parse(client.get("/status/feed.atom").content)
    assert not atom.bozo, atom.bozo_exception
    assert atom.version == "atom10"
    assert [entry.id for entry in atom.entries] == [entry.id for entry in rss.entries]


def test_service_feed_has_that_service_only(
    client: Client, story: dict[str, Any], requester: User
) -> None:
    make_incident(story["sso"], requester, title="Sign-in fails", priority=1)
    feed = feedparser.parse(client.get(f"/status/{story['vpn'].slug}/feed.atom").content)
    assert feed.feed.title == "VPN · Hashdesk status"
    assert all("Sign-in fails" not in entry.title for entry in feed.entries)
    assert any("drops every 5 minutes" in entry.title for entry in feed.entries)
    assert client.get(f"/status/{story['vault'].slug}/feed.rss").status_code == 404


def test_feeds_are_read_without_cookies_even_by_staff(
    client: Client, story: dict[str, Any], vpn_agent: User
) -> None:
    client.force_login(vpn_agent)
    assert b"Phishing wave" not in client.get("/status/feed.rss").content
