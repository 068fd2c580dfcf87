"""Trending hashtags and report rates: is something going on right now? (docs/wall.md)

A *report* is a post (not a reply, not an official post) that is not deleted or hidden.

Trending compares each tag's reports in the last hour with its usual hourly rate, the average
over the seven days before that hour::

    usual = reports in [now - 7 d - 1 h, now - 1 h) / 168
    score = recent / max(usual, FLOOR)          FLOOR = 1 report per hour

The floor keeps a tag that is usually silent from trending on one or two posts; a tag needs at
least ``MIN_RECENT`` reports in the hour to trend at all. Ties go to the busier tag, then by
name. Only posts the viewer may see are counted, so a team's or a confidential service's posts
never show in someone else's figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet

from hashdesk.catalog.models import Service
from hashdesk.core.visibility import Viewer, visible_to
from hashdesk.wall.choices import ModerationState, PostKind
from hashdesk.wall.models import Hashtag, Post

HOUR = timedelta(hours=1)
BASELINE = timedelta(days=7)
BASELINE_HOURS = BASELINE / HOUR
FLOOR = 1.0
MIN_RECENT = 2


@dataclass(frozen=True)
class TrendingTag:
    name: str
    service_id: int | None
    recent: int
    usual: float
    score: float


@dataclass(frozen=True)
class ReportRate:
    recent: int
    usual: int

    def __str__(self) -> str:
        noun = "report" if self.recent == 1 else "reports"
        return f"{self.recent} {noun} in the last hour, usually {self.usual}"


def _reports(viewer: Viewer) -> QuerySet[Post]:
    return visible_to(viewer, Post.objects.all()).filter(
        kind=PostKind.POST,
        reply_to__isnull=True,
        deleted_at__isnull=True,
        moderation=ModerationState.VISIBLE,
    )


def trending_hashtags(now: datetime, limit: int = 10, *, viewer: Viewer) -> list[TrendingTag]:
    """The tags most above their usual rate in the hour before ``now`` (one query)."""
    hour_ago = now - HOUR
    since = hour_ago - BASELINE
    reports = _reports(viewer).filter(created_at__gte=since, created_at__lt=now)
    rows = (
        Hashtag.objects.filter(posts__in=reports)
        .annotate(
            recent=Count("posts", filter=Q(posts__created_at__gte=hour_ago)),
            before=Count("posts", filter=Q(posts__created_at__lt=hour_ago)),
        )
        .filter(recent__gte=MIN_RECENT)
        .values_list("name", "service_id", "recent", "before")
    )
    tags = []
    for name, service_id, recent, before in rows:
        usual = before / BASELINE_HOURS
        tags.append(
            TrendingTag(name, service_id, recent, round(usual, 2), recent / max(usual, FLOOR))
        )
    tags.sort(key=lambda tag: (-tag.score, -tag.recent, tag.name))
    return tags[:limit]


def report_rate(target: Service | Hashtag, now: datetime, *, viewer: Viewer) -> ReportRate:
    """Reports about a service (bound to it) or a tag in the last hour, and the usual hourly
    number (the seven-day average before it, rounded) — "3 reports in the last hour, usually 0"."""
    hour_ago = now - HOUR
    reports = _reports(viewer).filter(created_at__gte=hour_ago - BASELINE, created_at__lt=now)
    if isinstance(target, Service):
        reports = reports.filter(service=target)
    else:
        tagged = Post.hashtags.through.objects.filter(hashtag_id=target.pk).values("post_id")
        reports = reports.filter(pk__in=tagged)
    figures = reports.aggregate(
        recent=Count("pk", filter=Q(created_at__gte=hour_ago)),
        before=Count("pk", filter=Q(created_at__lt=hour_ago)),
    )
    return ReportRate(figures["recent"], round(figures["before"] / BASELINE_HOURS))
