"""Posting to the wall, one post or many at once (docs/wall.md, "Posting in bulk").

``do_post_many`` is the one place a post is created: ``actions.do_post`` (the page, ``POST
/api/v1/wall/posts``) hands it a batch of one, and ``POST /api/v1/wall/posts/batch`` up to
``MAX_BATCH`` — an integration forwarding chat messages, an import.

Every item is checked and prepared before anything is written: redaction, watched words (read
once for the batch), hashtags and mentions (parsed per post, resolved once for the batch), the
services the author may see, the parents of replies and the author's teams. One bad item
refuses the whole batch, naming it (``posts[3].body``), and nothing is written. The write
transaction then costs the same statements whatever the batch's size: hashtag rows (insert the
new ones, read them all), one insert of the posts, one per through table (hashtags, mentions),
one update of the parents' reply counters, one attaching images (``media``, read once before),
one insert of audit entries and one of events.
Mention notices are sent together too (one insert, one unread count, one insert of events),
each with its own post's text; only a held post's notice to moderators is per post.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Case, F, PositiveIntegerField, Value, When
from django.utils import timezone

from hashdesk.accounts.models import Team, User
from hashdesk.audit import trail
from hashdesk.catalog.models import Service
from hashdesk.core import ratelimit
from hashdesk.core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from hashdesk.core.events import send_events
from hashdesk.core.redaction import redact
from hashdesk.core.visibility import can_moderate, is_staff, visible_to
from hashdesk.notify.actions import do_send_notices
from hashdesk.wall import media, parsing
from hashdesk.wall.actions import (
    MENTION_NOTIFY_MAX,
    _check_body,
    _notify_moderators,
    _require_signed_in,
    _watched,
    mention_notices,
    post_snapshot,
    post_streams,
    reply_notices,
    watched_patterns,
)
from hashdesk.wall.choices import ModerationState, PostKind, PostVisibility, WatchedWordAction
from hashdesk.wall.events import WallPostEvent
from hashdesk.wall.models import BODY_MAX, Hashtag, MediaAttachment, Post

# The most posts one batch may hold: an import's or a chat bridge's backlog, while the write
# transaction (which holds SQLite's only write lock) stays far under a second.
MAX_BATCH = 500


@dataclass(frozen=True)
class NewPost:
    """One post to make: what ``actions.do_post`` takes (``reply_to`` must be visible)."""

    body: str
    reply_to: Post | None = None
    visibility: str = PostVisibility.PUBLIC
    team: Team | None = None
    # Ids of the author's own unattached images (wall.media), in the order shown; with any,
    # the text may be empty.
    media: Sequence[int] = ()
    # Ask for help (issue 8): a first post marked as a question takes accepted answers.
    question: bool = False


def do_post_many(
    actor: User | None, items: Sequence[NewPost], *, source: str = "api"
) -> list[Post]:
    """Post ``items`` for ``actor``, all or none, and return the posts in the order given.

    Rate limited as one request per batch (``wall_post_batch``, per person): an integration
    sending 500 posts at once is one call, not 500 posts against the per-person ``wall_post``
    bucket meant for people typing.
    """
    author = _require_signed_in(actor)
    ratelimit.hit("wall_post_batch", str(author.pk))
    return ingest(author, items, source=source)


def ingest(
    actor: User | None,
    items: Sequence[NewPost],
    *,
    source: str,
    indexed_fields: bool = True,
) -> list[Post]:
    """Check every item, then write them all in one transaction (no rate limit: callers count).

    An error names the bad item's field as ``posts[<index>].<field>`` (pointer
    ``/posts/<index>/<field>``); ``indexed_fields=False`` names the field alone, for the
    single-post action.
    """
    author = _require_signed_in(actor)
    if len(items) > MAX_BATCH:
        raise ValidationFailed(
            f"Send at most {MAX_BATCH} posts at once, not {len(items)}.", field="posts"
        )
    if not items:
        return []
    batch = _Batch(author, items)
    for index, item in enumerate(items):
        try:
            batch.add(item)
        except DomainError as error:
            if not indexed_fields:
                raise
            raise item_error(error, index) from error
    batch.resolve()
    with transaction.atomic():
        batch.write(source)
    return batch.posts


@dataclass
class _Prepared:
    """A checked item: its unsaved post and what the post's text names."""

    post: Post
    tag_names: list[str]
    handles: list[str]
    watched: str | None
    held: bool = False
    people: list[User] = field(default_factory=list)
    media: list[MediaAttachment] = field(default_factory=list)


class _Batch:
    """What every item of a batch is checked against, read once, and the posts it prepares."""

    def __init__(self, author: User, items: Sequence[NewPost]) -> None:
        self.author = author
        self.now = timezone.now()
        self.is_staff = is_staff(author)
        self.is_moderator = can_moderate(author)
        self.patterns = watched_patterns()
        self.parents = _visible_parents(author, items)
        self.images = media.unattached_for(author, {pk for item in items for pk in item.media})
        self.images_taken: set[int] = set()
        self.teams: set[int] | None = None
        self.prepared: list[_Prepared] = []
        self.posts: list[Post] = []
        self.tags: dict[str, Hashtag] = {}

    def _own_teams(self) -> set[int]:
        if self.teams is None:
            self.teams = set(self.author.memberships.values_list("team_id", flat=True))
        return self.teams

    def add(self, item: NewPost) -> None:
        """Check the item in the order the single action always did: audience, then text."""
        author = self.author
        parent = None
        visibility, team = item.visibility, item.team
        if item.reply_to is not None:
            parent = self.parents.get(item.reply_to.pk)
            if parent is None or parent.deleted_at is not None:
                raise NotFound("No such post.", field="reply_to")
            if parent.moderation != ModerationState.VISIBLE:
                raise ValidationFailed(
                    "This post is under review and takes no replies.", field="reply_to"
                )
            # A reply is read by the thread's audience: it takes its parent's.
            visibility, team = parent.visibility, parent.team
        else:
            if visibility not in PostVisibility.values:
                raise ValidationFailed(f"Unknown visibility {visibility!r}.", field="visibility")
            if visibility == PostVisibility.TEAM:
                if team is None:
                    raise ValidationFailed("Choose the team for a team post.", field="team")
                if not self.is_staff and team.pk not in self._own_teams():
                    raise Forbidden("You can post to your own teams only.")
            else:
                team = None
        images = self._images(item)
        redacted = redact(_check_body(item.body, allow_empty=bool(images)))
        body = redacted.text
        # Redaction may shorten or lengthen the text; the stored text must still fit.
        if len(body) > BODY_MAX:
            raise ValidationFailed(f"A post is at most {BODY_MAX} characters.", field="body")
        watched = _watched(body, self.patterns)
        if watched == WatchedWordAction.BLOCK:
            # The list is not shown: naming the word would tell people how to get around it.
            raise ValidationFailed("This post contains a word that is not allowed.", field="body")
        held = watched == WatchedWordAction.HOLD and not self.is_moderator
        post = Post(
            author=author,
            kind=PostKind.POST,
            body=body,
            redactions=[
                {"kind": finding.kind, "count": finding.count, "label": finding.label}
                for finding in redacted.findings
            ],
            service=parent.service if parent is not None else None,
            visibility=visibility,
            team=team,
            reply_to=parent,
            thread_root_id=(parent.thread_root_id or parent.pk) if parent is not None else None,
            moderation=ModerationState.HELD if held else ModerationState.VISIBLE,
            moderation_reason="Contains a watched word" if held else "",
            is_question=bool(item.question) and parent is None,
            created_at=self.now,
        )
        self.prepared.append(
            _Prepared(
                post=post,
                tag_names=parsing.hashtags(body),
                handles=parsing.handles(body),
                watched=watched,
                held=held,
                media=images,
            )
        )

    def _images(self, item: NewPost) -> list[MediaAttachment]:
        """The item's images: the author's own, not on a post yet, each used once."""
        if len(item.media) > media.MEDIA_PER_POST_MAX:
            raise ValidationFailed(
                f"A post has at most {media.MEDIA_PER_POST_MAX} images.", field="media_ids"
            )
        images = []
        for pk in item.media:
            image = self.images.get(pk)
            if image is None or pk in self.images_taken:
                raise ValidationFailed(
                    f"Image {pk} is not an upload of yours waiting for a post.", field="media_ids"
                )
            self.images_taken.add(pk)
            images.append(image)
        return images

    def resolve(self) -> None:
        """Mentions and services of the whole batch (a query each), then each post's service
        and HTML. Still before the write transaction."""
        handles = {name for item in self.prepared for name in item.handles}
        people = parsing.resolve_handles(handles) if handles else {}
        names = list(dict.fromkeys(name for item in self.prepared for name in item.tag_names))
        self.services: dict[str, Service] = {}
        visible: set[int] = set()
        if names:
            active = Service.objects.filter(hashtag__in=names, is_active=True)
            self.services = {service.hashtag: service for service in active}
            if self.services:
                visible = set(
                    visible_to(
                        self.author, Service.objects.filter(pk__in=self.service_ids())
                    ).values_list("pk", flat=True)
                )
        for item in self.prepared:
            post = item.post
            found = {name: people[name] for name in item.handles if name in people}
            item.people = list(found.values())
            # The first service hashtag whose service the author may see binds the post: a
            # tag of a service they may not see stays a plain topic (binding would hide the
            # post from its own author). A reply without one keeps its parent's service.
            for name in item.tag_names:
                service = self.services.get(name)
                if service is not None and service.pk in visible:
                    post.service = service
                    break
            post.body_html = parsing.render(post.body, tag_names=item.tag_names, people=found)
            self.posts.append(post)

    def service_ids(self) -> list[int]:
        return [service.pk for service in self.services.values()]

    def write(self, source: str) -> None:
        """Insert everything, a statement a table, then audit entries, events and notices."""
        self.tags = _hashtag_rows(
            [name for item in self.prepared for name in item.tag_names], self.services
        )
        Post.objects.bulk_create(self.posts)
        # bulk_create sends no post_save: the similarity index is told, after commit.
        from hashdesk.insights.index import index_many

        written = list(self.posts)
        transaction.on_commit(lambda: index_many("post", written), robust=True)
        tag_links = Post.hashtags.through
        mention_links = Post.mentions.through
        tag_links.objects.bulk_create(
            tag_links(post_id=item.post.pk, hashtag_id=self.tags[name].pk)
            for item in self.prepared
            for name in item.tag_names
        )
        mention_links.objects.bulk_create(
            mention_links(post_id=item.post.pk, user_id=person.pk)
            for item in self.prepared
            for person in item.people
        )
        _count_replies(Counter(post.reply_to_id for post in self.posts if post.reply_to_id))
        _attach_media(self.prepared)
        trail.record_many(
            trail.Change(
                actor=self.author,
                action="wall.post",
                obj=post,
                after={
                    "visibility": post.visibility,
                    "team_id": post.team_id,
                    "service_id": post.service_id,
                    "reply_to_id": post.reply_to_id,
                    "moderation": post.moderation,
                    "redactions": post.redactions,
                    "source": source,
                    **({"media_ids": [image.pk for image in item.media]} if item.media else {}),
                },
            )
            for post, item in zip(self.posts, self.prepared, strict=True)
        )
        send_events(
            (
                WallPostEvent(
                    op="held" if item.held else "create",
                    post=post_snapshot(item.post, tag_names=item.tag_names, media=item.media),
                ),
                post_streams(item.post),
            )
            for item in self.prepared
        )
        for item in self.prepared:
            if item.held:
                _notify_moderators(item.post)
        self.notify_mentioned()

    def notify_mentioned(self) -> None:
        """Tell the people each visible post names and who may read it (never the author),
        at most ``MENTION_NOTIFY_MAX`` a post. Who may read what is one query per person
        named in the batch, not one per person and post."""
        author = self.author
        named: dict[int, tuple[User, list[int]]] = {}
        for item in self.prepared:
            if item.held:
                continue
            for person in item.people[:MENTION_NOTIFY_MAX]:
                if person.pk != author.pk:
                    named.setdefault(person.pk, (person, []))[1].append(item.post.pk)
        readable: set[tuple[int, int]] = set()
        for person, post_ids in named.values():
            seen = visible_to(person, Post.objects.filter(pk__in=post_ids))
            readable.update((person.pk, pk) for pk in seen.values_list("pk", flat=True))
        notices = [
            notice
            for item in self.prepared
            for notice in mention_notices(
                item.post,
                [
                    person
                    for person in item.people[:MENTION_NOTIFY_MAX]
                    if (person.pk, item.post.pk) in readable
                ],
                author,
            )
        ]
        # A reply tells the author of the post it answers, in the same insert (wall.reply).
        notices += reply_notices(self.posts, author, readable)
        do_send_notices(notices)


def _visible_parents(author: User, items: Sequence[NewPost]) -> dict[int, Post]:
    """The posts the batch replies to that ``author`` may see, in one query."""
    ids = {item.reply_to.pk for item in items if item.reply_to is not None}
    if not ids:
        return {}
    return visible_to(author, Post.objects.select_related("service", "team")).in_bulk(ids)


def _hashtag_rows(names: Sequence[str], services: dict[str, Service]) -> dict[str, Hashtag]:
    """Hashtag rows for ``names``: new ones inserted (a tag another post creates at the same
    moment is skipped, not an error), then all read back — two statements.

    Services' hashtags are kept in step here, lazily: a row whose service is not the active
    service with that hashtag (a tag first seen, a service created, renamed or retired since)
    is rebound. That is rare, so it costs statements only when it happens.
    """
    wanted = list(dict.fromkeys(names))
    if not wanted:
        return {}
    # Created unbound: binding here could collide with the old row of a renamed service's tag
    # (a service has one hashtag row), which ignore_conflicts would drop silently.
    Hashtag.objects.bulk_create([Hashtag(name=name) for name in wanted], ignore_conflicts=True)
    tags = {tag.name: tag for tag in Hashtag.objects.filter(name__in=wanted)}
    for name in wanted:
        tag, service = tags[name], services.get(name)
        expected = service.pk if service is not None else None
        if tag.service_id == expected:
            continue
        if service is not None:
            # The service's hashtag changed hands: unbind the old row first (one-to-one).
            Hashtag.objects.filter(service=service).exclude(pk=tag.pk).update(service=None)
        tag.service = service
        tag.save(update_fields=["service"])
    return tags


def _attach_media(prepared: Sequence[_Prepared]) -> None:
    """Put every item's images on its new post, in order: one UPDATE. An image attached or
    removed since it was checked refuses the batch (the transaction rolls back)."""
    placed = {
        image.pk: (item.post.pk, position)
        for item in prepared
        for position, image in enumerate(item.media)
    }
    if not placed:
        return
    updated = MediaAttachment.objects.filter(pk__in=list(placed), post__isnull=True).update(
        post_id=Case(*[When(pk=pk, then=Value(post)) for pk, (post, _) in placed.items()]),
        position=Case(
            *[When(pk=pk, then=Value(position)) for pk, (_, position) in placed.items()],
            output_field=PositiveIntegerField(),
        ),
    )
    if updated != len(placed):
        raise ValidationFailed(
            "An image was attached elsewhere or removed meanwhile; upload it again.",
            field="media_ids",
        )
    for item in prepared:
        for position, image in enumerate(item.media):
            image.post, image.position = item.post, position


def _count_replies(replies: Counter[int]) -> None:
    """Raise each parent's ``reply_count`` by its number of new replies: one UPDATE."""
    if not replies:
        return
    Post.objects.filter(pk__in=list(replies)).update(
        reply_count=F("reply_count")
        + Case(
            *[When(pk=pk, then=Value(count)) for pk, count in replies.items()],
            default=Value(0),
            output_field=PositiveIntegerField(),
        )
    )


def item_error(error: DomainError, index: int) -> DomainError:
    """``error`` about an item's ``field``, as a batch reports it: naming the item
    (``posts[3].body``, JSON pointer ``/posts/3/body``) and the field in it."""
    name = f"posts[{index}]" + (f".{error.field}" if error.field else "")
    pointer = f"/posts/{index}" + (f"/{error.field}" if error.field else "")
    extra: dict[str, Any] = {
        **error.extra,
        "errors": [{"field": name, "message": error.detail, "pointer": pointer}],
    }
    return type(error)(f"posts[{index}]: {error.detail}", field=name, **extra)
