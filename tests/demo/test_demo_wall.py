"""The demo's wall: planned from the seed and the stored incidents, written in bulk, consistent
with what the wall's actions would have left, silent (no events, no audit rows), visible by the
wall's rules and loaded only once.

One small demo (200 incidents, 500 posts) is loaded for the module inside a transaction that is
rolled back at the end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.cli import build_parser
from hashdesk.core.models import Event
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.demo.loader import DemoSummary, load_demo
from hashdesk.demo.wall import DEMO_POSTS, plan_wall, posts_for
from hashdesk.incidents.choices import Channel
from hashdesk.incidents.models import AffectedUser
from hashdesk.wall.choices import FollowKind, PostKind, ReactionKind
from hashdesk.wall.models import Follow, Hashtag, Post, Reaction
from hashdesk.wall.parsing import hashtags
from hashdesk.wall.trending import trending_hashtags

INCIDENTS = 200
POSTS = 500


# Runs before the module's demo is loaded (it would still be there otherwise).
@pytest.mark.django_db
def test_the_demo_loads_without_posts() -> None:
    summary = load_demo(incidents=0, posts=0)
    assert "posts" not in summary.created
    assert not Post.objects.exists()
    assert User.objects.count() == 500


@dataclass
class Loaded:
    summary: DemoSummary
    # Events and audit rows before and after the demo with its wall was loaded.
    events: tuple[int, int]
    audit: tuple[int, int]


@pytest.fixture(scope="module")
def wall(django_db_setup: Any, django_db_blocker: Any) -> Iterator[Loaded]:
    with django_db_blocker.unblock(), transaction.atomic():
        load_demo(incidents=0)
        events, audit = Event.objects.count(), AuditEntry.objects.count()
        summary = load_demo(incidents=INCIDENTS, posts=POSTS)
        yield Loaded(summary, (events, Event.objects.count()), (audit, AuditEntry.objects.count()))
        transaction.set_rollback(True)


def _rows() -> dict[str, int]:
    return {
        "posts": Post.objects.count(),
        "reactions": Reaction.objects.count(),
        "follows": Follow.objects.count(),
        "hashtags": Hashtag.objects.count(),
        "post hashtags": Post.hashtags.through.objects.count(),
        "post mentions": Post.mentions.through.objects.count(),
    }


def test_the_wall_has_the_posts_asked_for_and_reports_what_it_wrote(wall: Loaded, db: Any) -> None:
    created = wall.summary.created
    rows = _rows()
    assert POSTS <= rows["posts"] <= POSTS * 1.2
    for kind, count in rows.items():
        assert created[kind] == count, kind
    kinds = Counter(Post.objects.values_list("kind", flat=True))
    assert kinds[PostKind.POST] > 0.9 * rows["posts"]
    assert kinds[PostKind.ANNOUNCEMENT] >= 1
    assert Post.objects.filter(reply_to__isnull=False).exists()
    assert not Post.objects.filter(created_at__gt=timezone.now()).exists()
    # Reactions come after the post they react to, and nothing lies in the future.
    assert not Reaction.objects.filter(created_at__lt=F("post__created_at")).exists()
    assert not Reaction.objects.filter(created_at__gt=timezone.now()).exists()


def test_seed_data_sends_no_events_and_writes_no_audit_rows(wall: Loaded, db: Any) -> None:
    assert wall.events[0] == wall.events[1]
    assert wall.audit[0] == wall.audit[1]


def test_counters_match_the_rows(wall: Loaded, db: Any) -> None:
    reactions = Counter(Reaction.objects.values_list("post_id", "kind"))
    replies = Counter(
        Post.objects.filter(reply_to__isnull=False).values_list("reply_to_id", flat=True)
    )
    for post in Post.objects.all():
        assert post.like_count == reactions[(post.pk, ReactionKind.LIKE)], post.pk
        assert post.me_too_count == reactions[(post.pk, ReactionKind.ME_TOO)], post.pk
        assert post.thanks_count == reactions[(post.pk, ReactionKind.THANKS)], post.pk
        assert post.reply_count == replies[post.pk], post.pk
    # Nobody reacts to their own post; a reply belongs to its parent's thread.
    assert not Reaction.objects.filter(user_id=F("post__author_id")).exists()
    for reply in Post.objects.filter(reply_to__isnull=False):
        assert reply.thread_root_id == reply.reply_to_id


def test_hashtags_mentions_and_html_are_those_of_real_posts(wall: Loaded, db: Any) -> None:
    services = dict(Service.objects.values_list("hashtag", "pk"))
    for tag in Hashtag.objects.all():
        assert tag.service_id == services.get(tag.name), tag.name
    assert Hashtag.objects.filter(service__isnull=False).exists()
    assert Hashtag.objects.filter(service__isnull=True).exists()  # free topics
    for post in Post.objects.prefetch_related("hashtags", "mentions"):
        stored = sorted(t.name for t in post.hashtags.all())
        expected = [] if post.kind == PostKind.OFFICIAL else sorted(hashtags(post.body))
        assert stored == expected, post.body
        for tag in stored:
            assert f'href="/wall/tags/{tag}/"' in post.body_html
        for person in post.mentions.all():
            assert f"@{person.email.split('@')[0]}" in post.body
            assert f'href="/wall/people/{person.pk}/"' in post.body_html
        service_tags = [t for t in stored if t in services]
        if post.kind == PostKind.POST and service_tags and post.reply_to_id is None:
            # A post is bound to its first service hashtag.
            first_service = next(t for t in hashtags(post.body) if t in services)
            assert post.service_id == services[first_service], post.body
    assert Post.mentions.through.objects.exists()


def test_posts_tell_the_story_of_the_incidents(wall: Loaded, db: Any) -> None:
    linked = Post.objects.filter(incident__isnull=False, kind=PostKind.POST)
    # Only incidents reported on the wall (promoted) link their posts.
    assert linked.exists()
    assert set(linked.values_list("incident__source", flat=True)) == {Channel.WALL}
    for post in linked.filter(reply_to__isnull=True).select_related("incident"):
        assert post.service_id == post.incident.service_id
        assert AffectedUser.objects.filter(incident=post.incident, user=post.author).exists()
    # Official posts: public updates of public incidents, by staff.
    officials = Post.objects.filter(kind=PostKind.OFFICIAL).select_related("incident", "author")
    assert officials.exists()
    for post in officials:
        assert post.incident.visibility == Visibility.PUBLIC
        assert is_staff(post.author)
        assert post.service_id == post.incident.service_id
    # Nothing about confidential services or incidents.
    assert not Post.objects.filter(
        Q(service__visibility=Visibility.CONFIDENTIAL)
        | Q(incident__visibility=Visibility.CONFIDENTIAL)
    ).exists()
    # Someone says "me too" and agents answer, mentioning the author.
    assert Reaction.objects.filter(kind=ReactionKind.ME_TOO).exists()
    assert Post.objects.filter(reply_to__isnull=False, mentions__isnull=False).exists()


def test_outages_are_bursts_of_posts_within_the_hour(wall: Loaded, db: Any) -> None:
    before = timezone.now() - timedelta(hours=2)
    reports = Post.objects.filter(
        kind=PostKind.POST, reply_to__isnull=True, service__isnull=False, created_at__lt=before
    ).order_by("service_id", "created_at")
    by_service: dict[int, list[datetime]] = {}
    for service_id, moment in reports.values_list("service_id", "created_at"):
        by_service.setdefault(service_id, []).append(moment)
    # The most posts on one service within any 60 minutes.
    busiest = max(
        sum(1 for other in moments if moment <= other < moment + timedelta(hours=1))
        for moments in by_service.values()
        for moment in moments
    )
    assert busiest >= 12


def test_a_burst_in_the_last_hour_trends_and_the_last_week_has_a_trickle(
    wall: Loaded, db: Any
) -> None:
    now = timezone.now()
    admin = User.objects.get(email__startswith="admin@")
    trending = trending_hashtags(now, viewer=admin)
    assert trending and trending[0].recent >= 10
    week = Post.objects.filter(created_at__gte=now - timedelta(days=7))
    days = {moment.date() for moment in week.values_list("created_at", flat=True)}
    assert len(days) >= 4


def test_announcements_are_by_staff_and_the_latest_are_pinned(wall: Loaded, db: Any) -> None:
    announcements = Post.objects.filter(kind=PostKind.ANNOUNCEMENT).select_related("author")
    assert announcements.exists()
    assert all(is_staff(post.author) for post in announcements)
    assert Post.objects.filter(is_pinned=True).exclude(kind=PostKind.ANNOUNCEMENT).count() == 0
    assert announcements.filter(is_pinned=True).exists()


def test_follows_point_at_what_exists(wall: Loaded, db: Any) -> None:
    kinds = Counter(Follow.objects.values_list("kind", flat=True))
    assert kinds[FollowKind.SERVICE] > 0
    assert kinds[FollowKind.HASHTAG] > 0
    assert kinds[FollowKind.THREAD] > 0
    targets = {
        FollowKind.SERVICE: set(Service.objects.values_list("pk", flat=True)),
        FollowKind.HASHTAG: set(Hashtag.objects.values_list("pk", flat=True)),
        FollowKind.THREAD: set(
            Post.objects.filter(reply_to__isnull=True).values_list("pk", flat=True)
        ),
    }
    for kind, target in Follow.objects.values_list("kind", "target_id"):
        assert target in targets[kind], (kind, target)


def test_every_post_is_visible_by_the_wall_rules(wall: Loaded, db: Any) -> None:
    requester = User.objects.get(email__startswith="requester@")
    admin = User.objects.get(email__startswith="admin@")
    total = Post.objects.count()
    assert visible_to(admin, Post.objects.all()).count() == total
    assert visible_to(requester, Post.objects.all()).count() == total
    assert not Post.objects.exclude(moderation="visible").exists()
    assert not Post.objects.filter(deleted_at__isnull=False).exists()


def test_loading_again_adds_nothing(wall: Loaded, db: Any) -> None:
    before = _rows()
    summary = load_demo(incidents=INCIDENTS, posts=POSTS)
    assert summary.created == {}
    assert _rows() == before


def test_the_plan_is_the_same_for_the_same_seed(wall: Loaded, db: Any) -> None:
    now = datetime(2026, 3, 12, 15, 40, tzinfo=UTC)

    def plan(seed: int) -> list[tuple[Any, ...]]:
        planner = plan_wall(seed, POSTS, now)
        return [(p.author, p.kind, p.body, p.created_at, p.reply_to) for p in planner.posts]

    first = plan(2024)
    assert first == plan(2024)
    assert first != plan(7)


def test_the_default_follows_the_incidents_and_zero_posts_means_none() -> None:
    assert posts_for(30_000) == DEMO_POSTS
    assert posts_for(0) == 0
    assert build_parser().parse_args(["demo", "--posts", "0"]).posts == 0
    assert build_parser().parse_args(["demo"]).posts is None


def test_the_demo_shows_story_one_a_public_vpn_outage_going_on_now(db):
    """Story 1, "Is it just me?": the demo requester typing about #vpn finds the open, public
    VPN incident, similar posts and a last hour far above the usual rate."""
    from django.utils import timezone

    from hashdesk.accounts.models import User
    from hashdesk.demo.loader import load_demo
    from hashdesk.wall import similar

    load_demo(incidents=400, posts=300)
    requester = User.objects.get(email__startswith="requester@")
    found = similar.is_it_just_me(requester, "#vpn drops every 5 min since 9am", timezone.now())
    assert found.service is not None and found.service.slug == "vpn"
    current = [i for i in found.incidents if i.visibility == "public" and i.state == "in_progress"]
    assert current, found.incidents
    assert found.rate is not None and found.rate.recent > found.rate.usual
