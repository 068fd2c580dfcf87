"""The wall's timelines: which posts a page or the API lists, newest first, in cursor pages.

Every timeline starts from ``visible_to(viewer, Post)`` and narrows it; nothing here decides
visibility. Rows come with their author, service and team joined and their hashtags,
mentions and images prefetched, so a page costs the same few queries whatever its length. Pages are
keyset pages (api.pagination.Keyset): a cursor names the last post seen, so new posts arriving
at the top never shift the next page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from hashdesk.accounts.models import User
from hashdesk.api.pagination import Keyset
from hashdesk.catalog.models import Service
from hashdesk.core.visibility import Viewer, can_moderate, visible_to
from hashdesk.wall.choices import FollowKind, ModerationState, PostKind, ReportState
from hashdesk.wall.models import Follow, Hashtag, Post

NEWEST_FIRST = Keyset(("-created_at", "-id"))
OLDEST_FIRST = Keyset(("created_at", "id"))
PAGE_SIZE = 20
PAGE_MAX = 100


@dataclass(frozen=True)
class Page:
    posts: list[Post]
    next_cursor: str | None


def _posts(viewer: Viewer) -> QuerySet[Post]:
    return visible_to(viewer, Post.objects.all()).select_related(
        "author", "service", "team", "incident"
    )


def _with_relations(posts: QuerySet[Post]) -> QuerySet[Post]:
    return posts.prefetch_related("hashtags", "mentions", "media")


def page(
    posts: QuerySet[Post],
    *,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
    keyset: Keyset = NEWEST_FIRST,
) -> Page:
    """One page of ``posts`` after ``cursor``; a bad cursor is a ValidationFailed."""
    size = max(1, min(int(limit), PAGE_MAX))
    rows = posts.order_by(*keyset.fields)
    if cursor:
        rows = rows.filter(keyset.after(keyset.decode(cursor, Post)))
    items = list(_with_relations(rows)[: size + 1])
    next_cursor = None
    if len(items) > size:
        items = items[:size]
        next_cursor = keyset.encode(items[-1])
    return Page(items, next_cursor)


def _followed(viewer: Viewer, kind: str) -> QuerySet[Follow, Any]:
    return Follow.objects.filter(user_id=viewer.pk, kind=kind).values("target_id")


def home(viewer: Viewer) -> QuerySet[Post]:
    """What ``viewer`` follows — services, hashtags, people, threads — and their own posts."""
    if not getattr(viewer, "is_authenticated", False):
        return Post.objects.none()
    tagged = Post.hashtags.through.objects.filter(
        hashtag_id__in=_followed(viewer, FollowKind.HASHTAG)
    ).values("post_id")
    threads = _followed(viewer, FollowKind.THREAD)
    return _posts(viewer).filter(
        Q(author_id=viewer.pk)
        | Q(service_id__in=_followed(viewer, FollowKind.SERVICE))
        | Q(author_id__in=_followed(viewer, FollowKind.PERSON))
        | Q(pk__in=tagged)
        | Q(pk__in=threads)
        | Q(thread_root_id__in=threads)
    )


def home_audience(post: Post, among: Iterable[int]) -> set[int]:
    """Which of the people ``among`` (user ids) have ``post`` on their home timeline, in one query.

    The follow half of ``home`` seen from the post's side, for pushing a new post to open home
    streams without one query per person. It does not decide visibility: the caller names only
    people already allowed to see the post (a stream's listeners, chosen by
    realtime.subscriptions.decide). tests/wall/test_timelines.py checks it agrees with ``home``.
    """
    candidates = set(among)
    if not candidates:
        return set()
    audience = {post.author_id} & candidates
    threads = {post.pk, post.thread_root_id} - {None}
    hashtags = Post.hashtags.through.objects.filter(post_id=post.pk).values("hashtag_id")
    follows = Q(kind=FollowKind.PERSON, target_id=post.author_id)
    follows |= Q(kind=FollowKind.THREAD, target_id__in=threads)
    follows |= Q(kind=FollowKind.HASHTAG, target_id__in=hashtags)
    if post.service_id is not None:
        follows |= Q(kind=FollowKind.SERVICE, target_id=post.service_id)
    audience.update(
        Follow.objects.filter(follows, user_id__in=candidates - audience).values_list(
            "user_id", flat=True
        )
    )
    return audience


def public(viewer: Viewer) -> QuerySet[Post]:
    """Everything ``viewer`` may see."""
    return _posts(viewer)


def service(viewer: Viewer, svc: Service) -> QuerySet[Post]:
    return _posts(viewer).filter(service=svc)


def hashtag(viewer: Viewer, tag: Hashtag) -> QuerySet[Post]:
    tagged = Post.hashtags.through.objects.filter(hashtag_id=tag.pk).values("post_id")
    condition = Q(pk__in=tagged)
    if tag.service_id:
        # A service's tag also lists the posts bound to the service (replies, official posts).
        condition |= Q(service_id=tag.service_id)
    return _posts(viewer).filter(condition)


def person(viewer: Viewer, author: User) -> QuerySet[Post]:
    return _posts(viewer).filter(author=author)


def mentions(viewer: Viewer) -> QuerySet[Post]:
    """Posts naming ``viewer``."""
    if not getattr(viewer, "is_authenticated", False):
        return Post.objects.none()
    named = Post.mentions.through.objects.filter(user_id=viewer.pk).values("post_id")
    return _posts(viewer).filter(pk__in=named)


def announcements(viewer: Viewer) -> QuerySet[Post]:
    """The desk speaking: official incident updates and announcements."""
    return _posts(viewer).filter(kind__in=[PostKind.OFFICIAL, PostKind.ANNOUNCEMENT])


def pinned(viewer: Viewer) -> list[Post]:
    """Pinned posts for the top of the wall, newest first (a handful, not paged)."""
    return list(
        _with_relations(_posts(viewer).filter(is_pinned=True)).order_by(*NEWEST_FIRST.fields)[
            :PAGE_SIZE
        ]
    )


def thread(viewer: Viewer, post: Post) -> QuerySet[Post]:
    """The thread ``post`` belongs to: its first post and every reply. Page it OLDEST_FIRST."""
    root_id = post.thread_root_id or post.pk
    return _posts(viewer).filter(Q(pk=root_id) | Q(thread_root_id=root_id))


def moderation_queue(viewer: Viewer) -> QuerySet[Post]:
    """Held posts and posts with open reports, for moderators (empty for anyone else)."""
    if not can_moderate(viewer):
        return Post.objects.none()
    return (
        _posts(viewer)
        .filter(
            Q(moderation=ModerationState.HELD) | Q(reports__state=ReportState.OPEN),
            deleted_at__isnull=True,
        )
        .distinct()
    )
