"""Trending hashtags and report rates (formula in wall/trending.py and docs/wall.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hashdesk.wall import actions, trending
from hashdesk.wall.choices import PostVisibility
from hashdesk.wall.models import Hashtag, Post


@pytest.fixture
def now():
    return timezone.now().replace(microsecond=0) + timedelta(days=1)


def _posts_at(author, body, moments):
    for moment in moments:
        post = actions.do_post(author, body=body)
        # Placing posts in time: the wall stamps them now, the figures look back from `now`.
        Post.objects.filter(pk=post.pk).update(created_at=moment)


def test_a_burst_above_the_usual_rate_trends_first(requester, other_requester, vpn_service, now):
    minutes = [now - timedelta(minutes=m) for m in (5, 10, 20, 30)]
    # #vpn: 4 in the hour, usually 168 a week = 1 an hour -> score 4.
    _posts_at(requester, "#vpn down", minutes)
    _posts_at(requester, "#vpn old", [now - timedelta(hours=2, minutes=m) for m in range(168)])
    # #printers: 3 in the hour, never before -> the floor of 1 an hour -> score 3.
    _posts_at(other_requester, "#printers jammed", minutes[:3])
    # #coffee: a single post does not trend.
    _posts_at(other_requester, "#coffee", minutes[:1])
    # Older than the last hour but inside the baseline: not recent.
    _posts_at(other_requester, "#lunch", [now - timedelta(hours=3)] * 3)
    tags = trending.trending_hashtags(now, viewer=other_requester)
    assert [(t.name, t.recent, t.usual, t.score) for t in tags] == [
        ("vpn", 4, 1.0, 4.0),
        ("printers", 3, 0.0, 3.0),
    ]
    assert tags[0].service_id == vpn_service.pk
    assert trending.trending_hashtags(now, limit=1, viewer=other_requester)[0].name == "vpn"


def test_trending_counts_only_what_the_viewer_may_see(
    requester, other_requester, finance_team, now
):
    for _ in range(3):
        post = actions.do_post(
            requester, body="#budget", visibility=PostVisibility.TEAM, team=finance_team
        )
        Post.objects.filter(pk=post.pk).update(created_at=now - timedelta(minutes=1))
    assert [t.name for t in trending.trending_hashtags(now, viewer=requester)] == ["budget"]
    assert trending.trending_hashtags(now, viewer=other_requester) == []


def test_report_rate_for_a_service_and_a_tag(requester, vpn_service, now):
    _posts_at(requester, "#vpn #remote down", [now - timedelta(minutes=m) for m in (1, 2, 3)])
    _posts_at(requester, "#vpn", [now - timedelta(days=2)] * 336)
    rate = trending.report_rate(vpn_service, now, viewer=requester)
    assert (rate.recent, rate.usual) == (3, 2)
    assert str(rate) == "3 reports in the last hour, usually 2"
    tag_rate = trending.report_rate(Hashtag.objects.get(name="remote"), now, viewer=requester)
    assert str(tag_rate) == "3 reports in the last hour, usually 0"
