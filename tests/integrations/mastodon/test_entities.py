"""Mastodon entities from wall records: field mapping, batching, and what favourites mean."""

from __future__ import annotations

from typing import Any

import pytest

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.integrations.mastodon import entities
from hashdesk.integrations.mastodon.views import status_visibility
from hashdesk.notify.models import Notification
from hashdesk.wall import actions as wall
from hashdesk.wall import timelines
from hashdesk.wall.models import Post

pytestmark = pytest.mark.django_db


def test_a_page_of_statuses_costs_the_same_queries_whatever_its_length(
    requester: User, other_requester: User, vpn_service: Service, query_count: Any
) -> None:
    for number in range(8):
        wall.do_post(requester, body=f"#vpn slow again {number} @colleague")

    def build(size: int) -> int:
        page = timelines.page(timelines.public(other_requester), limit=size)
        with query_count() as queries:
            built = entities.statuses(page.posts, other_requester)
        assert len(built) == size
        return len(queries)

    assert build(2) == build(8)
    status = entities.statuses(list(Post.objects.filter(author=requester)[:1]), other_requester)[0]
    assert status["id"].isdigit() and status["created_at"].endswith("Z")
    assert status["account"]["acct"] == "requester"
    assert status["account"]["statuses_count"] == 8
    assert status["tags"] == [{"name": "vpn", "url": "http://127.0.0.1:8000/wall/tags/vpn/"}]
    assert status["mentions"][0]["id"] == str(other_requester.pk)
    assert 'href="http://127.0.0.1:8000/wall/tags/vpn/"' in status["content"]


def test_favourite_is_me_too_on_incident_posts_and_like_elsewhere(
    requester: User, vpn_agent: User, vpn_service: Service
) -> None:
    post = wall.do_post(requester, body="#vpn is down for me")
    assert entities.favourite_kind(post) == "like"
    incident = wall.do_promote_to_incident(vpn_agent, [post], title="VPN down", service=vpn_service)
    post.refresh_from_db()
    assert post.incident_id == incident.pk
    assert entities.favourite_kind(post) == "me_too"


def test_notifications_about_posts_map_to_mastodon_types(
    requester: User, other_requester: User
) -> None:
    wall.do_post(requester, body="Can you look, @colleague?")
    notices = list(Notification.objects.filter(recipient=other_requester))
    built = entities.notifications(notices, other_requester)
    assert [(n["type"], n["account"]["acct"]) for n in built] == [("mention", "requester")]
    # A notice whose post is gone is left out, as Mastodon drops them with the status.
    wall.do_delete_post(requester, Post.objects.get(author=requester))
    assert entities.notifications(notices, other_requester) == []


def test_visibility_mapping_refuses_what_the_wall_cannot_represent(requester: User) -> None:
    assert status_visibility(requester, "public") == ("public", None)
    for name in ("unlisted", "direct", "private", "secret"):
        with pytest.raises(Exception) as refused:
            status_visibility(requester, name)
        assert getattr(refused.value, "status", None) == 422
