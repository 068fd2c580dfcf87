"""Mastodon entities (docs.joinmastodon.org/entities) built from the wall's records.

Nothing here decides who sees what: callers hand in posts already filtered by
``core.visibility`` (the wall's timelines do). ``statuses`` and ``notifications`` build a whole
page in a fixed number of queries, whatever its length. Plain synchronous ORM code, so the
event server's streaming listener can call it on its database threads.

Mapping (docs/integrations/mastodon.md): a person is a local account whose ``username`` is their
wall handle (the local part of their email address); a post is a status; a wall ``public`` post
is ``public``, a ``team`` post is ``private``; a favourite is the wall's "me too" on a post about
an incident and "like" on any other post (``favourite_kind``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Max, Q
from django.db.models.functions import TruncDate
from django.db.models.query import prefetch_related_objects

from hashdesk.accounts.models import User
from hashdesk.core.visibility import Viewer, visible_to
from hashdesk.notify.models import Notification
from hashdesk.wall.choices import FollowKind, ModerationState, PostVisibility, ReactionKind
from hashdesk.wall.media import media_link, media_snapshot
from hashdesk.wall.models import Follow, Hashtag, MediaAttachment, Post, Reaction

AVATAR_PATH = "/mastodon/avatars/missing.png"
POST_PATH = "/wall/posts/{pk}/"
PERSON_PATH = "/wall/people/{pk}/"
TAG_PATH = "/wall/tags/{name}/"

# Wall visibility -> Mastodon visibility (posting maps back in views.status_visibility).
VISIBILITY: dict[str, str] = {PostVisibility.PUBLIC: "public", PostVisibility.TEAM: "private"}

# Notification kinds that are about a post (their url is the post's), as Mastodon types.
NOTIFICATION_TYPES: dict[str, str] = {
    "wall.mention": "mention",
    "wall.reply": "mention",
    "wall.answer_accepted": "mention",
    "incident.official_update": "status",
    "wall.workaround_proposed": "status",
    "wall.held": "status",
}
_POST_URL_RE = re.compile(r"^/wall/posts/([0-9]+)/")
_HREF_RE = re.compile(r'(\shref=")/(?!/)')


def absolute(path: str) -> str:
    return f"{settings.PUBLIC_URL}{path}"


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``, as Mastodon writes its times."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def handle(user: User) -> str:
    """A person's wall handle (what ``@`` mentions them with)."""
    return user.email.rsplit("@", 1)[0].lower()


def favourite_kind(post: Post) -> str:
    """The wall reaction a Mastodon favourite stands for on ``post``: "me too" on a post about
    an incident (which makes the person an affected user of it), "like" anywhere else."""
    return ReactionKind.ME_TOO if post.incident_id is not None else ReactionKind.LIKE


# --- Accounts -----------------------------------------------------------------------------------


def _account_stats(user_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Counters of the people ``user_ids`` (three queries for all of them).

    ``statuses_count`` counts posts everyone signed in may read (public, visible, not deleted):
    an account's counters are the same for every viewer and must not reveal team posts.
    """
    ids = list(set(user_ids))
    stats: dict[int, dict[str, Any]] = {
        pk: {"statuses_count": 0, "followers_count": 0, "following_count": 0, "last": None}
        for pk in ids
    }
    if not ids:
        return stats
    rows = (
        Post.objects.filter(
            author_id__in=ids,
            deleted_at__isnull=True,
            moderation=ModerationState.VISIBLE,
            visibility=PostVisibility.PUBLIC,
        )
        .values("author_id")
        .annotate(count=Count("id"), last=Max("created_at"))
    )
    for row in rows:
        stats[row["author_id"]]["statuses_count"] = row["count"]
        stats[row["author_id"]]["last"] = row["last"]
    followers = (
        Follow.objects.filter(kind=FollowKind.PERSON, target_id__in=ids)
        .values("target_id")
        .annotate(count=Count("id"))
    )
    for row in followers:
        stats[row["target_id"]]["followers_count"] = row["count"]
    following = (
        Follow.objects.filter(kind=FollowKind.PERSON, user_id__in=ids)
        .values("user_id")
        .annotate(count=Count("id"))
    )
    for row in following:
        stats[row["user_id"]]["following_count"] = row["count"]
    return stats


def _account(user: User, stats: dict[str, Any]) -> dict[str, Any]:
    url = absolute(PERSON_PATH.format(pk=user.pk))
    avatar = absolute(AVATAR_PATH)
    fields = [
        {"name": label, "value": value, "verified_at": None}
        for label, value in (("Department", user.department), ("Site", user.site))
        if value
    ]
    last = stats["last"]
    return {
        "id": str(user.pk),
        "username": handle(user),
        "acct": handle(user),
        "url": url,
        "uri": url,
        "display_name": user.display_name,
        "note": "",
        "avatar": avatar,
        "avatar_static": avatar,
        "header": "",
        "header_static": "",
        "locked": False,
        "fields": fields,
        "emojis": [],
        "bot": False,
        "group": False,
        "discoverable": False,
        "indexable": False,
        "hide_collections": True,
        "noindex": True,
        # Mastodon gives the day an account was made, at midnight.
        "created_at": timestamp(
            user.date_joined.replace(hour=0, minute=0, second=0, microsecond=0)
        ),
        "last_status_at": last.date().isoformat() if last is not None else None,
        "statuses_count": stats["statuses_count"],
        "followers_count": stats["followers_count"],
        "following_count": stats["following_count"],
        "roles": [],
    }


def account(user: User) -> dict[str, Any]:
    """The Account entity of ``user``."""
    return _account(user, _account_stats([user.pk])[user.pk])


def accounts(users: Sequence[User]) -> list[dict[str, Any]]:
    stats = _account_stats(user.pk for user in users)
    return [_account(user, stats[user.pk]) for user in users]


def credential_account(user: User) -> dict[str, Any]:
    """The CredentialAccount entity: the account plus what only its owner sees."""
    entity = account(user)
    entity["source"] = {
        "note": "",
        "fields": entity["fields"],
        "privacy": "public",
        "sensitive": False,
        "language": "",
        "follow_requests_count": 0,
    }
    entity["role"] = {
        "id": "-99",
        "name": "",
        "permissions": "0",
        "color": "",
        "highlighted": False,
    }
    return entity


# --- Statuses -----------------------------------------------------------------------------------


def _content(post: Post) -> str:
    # The wall links its tags and mentions with site-relative addresses; clients need absolute.
    return _HREF_RE.sub(lambda m: f"{m.group(1)}{settings.PUBLIC_URL}/", post.body_html)


def media_attachment(image: MediaAttachment) -> dict[str, Any]:
    """The MediaAttachment entity of one wall image (the caller knows the viewer may see it).
    No smaller preview is made and no blurhash computed: ``preview_url`` is the image itself."""
    snap = media_snapshot(image)
    # Apps load pictures without their token: a signed link, good for a day (wall.media).
    url = absolute(media_link(image))
    return {
        "id": str(snap["id"]),
        "type": "image",
        "url": url,
        "preview_url": url,
        "remote_url": None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": {
            "original": {
                "width": snap["width"],
                "height": snap["height"],
                "size": f"{snap['width']}x{snap['height']}",
                "aspect": snap["width"] / snap["height"] if snap["height"] else 1,
            }
        },
        "description": snap["description"] or None,
        "blurhash": None,
    }


def _media(post: Post) -> list[dict[str, Any]]:
    return [media_attachment(image) for image in post.media.all()]


def statuses(posts: Sequence[Post], viewer: Viewer | None) -> list[dict[str, Any]]:
    """Status entities of ``posts`` (already visible to ``viewer``), in the given order.

    A fixed number of queries for the page: authors, parents' authors, counters, the viewer's
    reactions, and the hashtags, mentions and images prefetched (skipped when the caller's
    queryset already prefetched them, as the wall's timelines do).
    """
    posts = list(posts)
    if not posts:
        return []
    prefetch_related_objects(posts, "hashtags", "mentions", "media")
    parent_ids = {post.reply_to_id for post in posts if post.reply_to_id}
    parent_authors = dict(Post.objects.filter(pk__in=parent_ids).values_list("pk", "author_id"))
    people_ids = {post.author_id for post in posts}
    for post in posts:
        people_ids.update(person.pk for person in post.mentions.all())
    people = User.objects.in_bulk(people_ids)
    stats = _account_stats(people_ids)
    author_entities = {pk: _account(person, stats[pk]) for pk, person in people.items()}
    reacted: set[tuple[int, str]] = set()
    if viewer is not None and getattr(viewer, "is_authenticated", False):
        reacted = set(
            Reaction.objects.filter(
                user_id=viewer.pk,
                post_id__in=[post.pk for post in posts],
                kind__in=[ReactionKind.LIKE, ReactionKind.ME_TOO],
            ).values_list("post_id", "kind")
        )
    viewer_id = getattr(viewer, "pk", None)
    result = []
    for post in posts:
        kind = favourite_kind(post)
        url = absolute(POST_PATH.format(pk=post.pk))
        favourites = post.me_too_count if kind == ReactionKind.ME_TOO else post.like_count
        entity: dict[str, Any] = {
            "id": str(post.pk),
            "uri": url,
            "url": url,
            "created_at": timestamp(post.created_at),
            "edited_at": timestamp(post.edited_at) if post.edited_at else None,
            "account": author_entities[post.author_id],
            "content": _content(post),
            "visibility": VISIBILITY.get(post.visibility, "private"),
            "sensitive": False,
            "spoiler_text": "",
            "media_attachments": _media(post),
            "application": None,
            "mentions": [
                {
                    "id": str(person.pk),
                    "username": handle(person),
                    "acct": handle(person),
                    "url": absolute(PERSON_PATH.format(pk=person.pk)),
                }
                for person in post.mentions.all()
            ],
            "tags": [
                {"name": tag.name, "url": absolute(TAG_PATH.format(name=tag.name))}
                for tag in post.hashtags.all()
            ],
            "emojis": [],
            "reblogs_count": 0,
            "favourites_count": favourites,
            "replies_count": post.reply_count,
            "in_reply_to_id": str(post.reply_to_id) if post.reply_to_id else None,
            "in_reply_to_account_id": (
                str(parent_authors[post.reply_to_id])
                if post.reply_to_id in parent_authors
                else None
            ),
            "reblog": None,
            "poll": None,
            "card": None,
            "language": None,
            "text": None,
            "favourited": (post.pk, kind) in reacted,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
            "filtered": [],
        }
        if viewer_id is not None and viewer_id == post.author_id:
            entity["pinned"] = post.is_pinned
        result.append(entity)
    return result


def status(post: Post, viewer: Viewer | None) -> dict[str, Any]:
    """The Status entity of one post (already known to be visible to ``viewer``)."""
    return statuses([post], viewer)[0]


# --- Notifications ------------------------------------------------------------------------------


def post_id_of(notice: Notification) -> int | None:
    match = _POST_URL_RE.match(notice.url or "")
    return int(match.group(1)) if match else None


def mappable_notices() -> Q:
    """The notices the API lists: those about a post, of a kind Mastodon has a type for."""
    return Q(kind__in=list(NOTIFICATION_TYPES), url__startswith="/wall/posts/")


def notifications(notices: Sequence[Notification], viewer: Viewer) -> list[dict[str, Any]]:
    """Notification entities of ``viewer``'s ``notices``, in the given order.

    Each is about a post (its status; its account is the post's author). A notice whose post
    the viewer can no longer see (deleted, hidden, moved to a team) is left out, as Mastodon
    drops notifications of deleted statuses.
    """
    wanted = {pk for notice in notices if (pk := post_id_of(notice)) is not None}
    posts = visible_to(viewer, Post.objects.filter(pk__in=wanted)).select_related(
        "author", "service", "team", "incident"
    )
    by_id = {post.pk: post for post in posts}
    entities = {int(entity["id"]): entity for entity in statuses(list(by_id.values()), viewer)}
    result = []
    for notice in notices:
        post_id = post_id_of(notice)
        kind = NOTIFICATION_TYPES.get(notice.kind)
        if post_id is None or kind is None or post_id not in entities:
            continue
        entity = entities[post_id]
        result.append(
            {
                "id": str(notice.pk),
                "type": kind,
                "group_key": f"ungrouped-{notice.pk}",
                "created_at": timestamp(notice.created_at),
                "account": entity["account"],
                "status": entity,
            }
        )
    return result


# --- Relationships and tags ---------------------------------------------------------------------

TAG_HISTORY_DAYS = 7


def relationships(viewer: User, people: Sequence[User]) -> list[dict[str, Any]]:
    """Relationship entities of ``viewer`` to ``people`` (already visible), in one query.

    ``following`` is the viewer's wall person follow, ``followed_by`` theirs of the viewer;
    there are no blocks, mutes, requests, notes or per-person notifications on the wall.
    """
    ids = [person.pk for person in people]
    following: set[int] = set()
    followed_by: set[int] = set()
    if ids:
        rows = Follow.objects.filter(kind=FollowKind.PERSON).filter(
            Q(user_id=viewer.pk, target_id__in=ids) | Q(user_id__in=ids, target_id=viewer.pk)
        )
        for user_id, target_id in rows.values_list("user_id", "target_id"):
            if user_id == viewer.pk:
                following.add(target_id)
            if target_id == viewer.pk:
                followed_by.add(user_id)
    return [
        {
            "id": str(pk),
            "following": pk in following,
            "showing_reblogs": pk in following,
            "notifying": False,
            "languages": None,
            "followed_by": pk in followed_by,
            "blocking": False,
            "blocked_by": False,
            "muting": False,
            "muting_notifications": False,
            "requested": False,
            "requested_by": False,
            "domain_blocking": False,
            "endorsed": False,
            "note": "",
        }
        for pk in ids
    ]


def _tag_history(tag_ids: Iterable[int], today: datetime) -> dict[int, dict[int, tuple[int, int]]]:
    """Per tag, per day (days back from ``today``): (posts, authors) among the public posts
    everyone signed in may read, as for account counters: the same for every viewer."""
    ids = list(set(tag_ids))
    found: dict[int, dict[int, tuple[int, int]]] = {pk: {} for pk in ids}
    if not ids:
        return found
    start = today - timedelta(days=TAG_HISTORY_DAYS - 1)
    rows = (
        Post.hashtags.through.objects.filter(
            hashtag_id__in=ids,
            post__created_at__gte=start,
            post__deleted_at__isnull=True,
            post__moderation=ModerationState.VISIBLE,
            post__visibility=PostVisibility.PUBLIC,
        )
        .values("hashtag_id", day=TruncDate("post__created_at", tzinfo=UTC))
        .annotate(
            uses=Count("post_id", distinct=True),
            authors=Count("post__author_id", distinct=True),
        )
    )
    for row in rows:
        back = (today.date() - row["day"]).days
        found[row["hashtag_id"]][back] = (row["uses"], row["authors"])
    return found


def tags(found: Sequence[Hashtag | str], viewer: User) -> list[dict[str, Any]]:
    """Tag entities (``following`` is the viewer's wall hashtag follow), in two queries.

    A name nobody has used yet (a str) is a tag with an empty history, as Mastodon shows one.
    """
    saved = [item for item in found if isinstance(item, Hashtag)]
    followed = (
        set(
            Follow.objects.filter(
                user_id=viewer.pk,
                kind=FollowKind.HASHTAG,
                target_id__in=[tag.pk for tag in saved],
            ).values_list("target_id", flat=True)
        )
        if saved
        else set()
    )
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    history = _tag_history((tag.pk for tag in saved), today)
    result = []
    for item in found:
        name = item.name if isinstance(item, Hashtag) else item
        days = history.get(item.pk, {}) if isinstance(item, Hashtag) else {}
        entity: dict[str, Any] = {
            "name": name,
            "url": absolute(TAG_PATH.format(name=name)),
            "history": [
                {
                    "day": str(int((today - timedelta(days=back)).timestamp())),
                    "uses": str(days.get(back, (0, 0))[0]),
                    "accounts": str(days.get(back, (0, 0))[1]),
                }
                for back in range(TAG_HISTORY_DAYS)
            ],
            "following": isinstance(item, Hashtag) and item.pk in followed,
        }
        if isinstance(item, Hashtag):
            entity = {"id": str(item.pk), **entity}
        result.append(entity)
    return result
