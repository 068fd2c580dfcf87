"""The database side of the Mastodon streaming API (hashdesk.integrations.mastodon.streaming).

Everything here is synchronous ORM work that the event server runs on its database threads
(``EventServer.client_database``): identifying a token once per connection, and rendering an
event's Status or Notification JSON once per event and viewer class, never per connection.

Who may hear what is not decided here: a connection's streams come from
hashdesk.realtime.subscriptions (core.visibility's ``default_streams`` and ``can_subscribe``),
the home timeline from hashdesk.wall.timelines, the JSON from the Mastodon entities.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from hashdesk.accounts.models import User
from hashdesk.core import ratelimit
from hashdesk.core import streams as stream_names
from hashdesk.core.errors import RateLimited
from hashdesk.core.visibility import is_staff
from hashdesk.realtime.subscriptions import decide

# Fields of a Status that describe the viewer's own relation to it. A streamed Status is rendered
# once for many people, so, like Mastodon's streaming server (which renders for nobody), it
# leaves them out; clients fetch them with the status when they need them.
PERSONAL_FIELDS = ("favourited", "reblogged", "muted", "bookmarked", "pinned", "filtered")


class Refused(Exception):
    """A streaming request refused before it streams: HTTP status and Mastodon's error text."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


@dataclass(frozen=True)
class StreamViewer:
    """Who is on a streaming connection, decided once when it opens."""

    user: User
    staff: bool
    scopes: frozenset[str]
    # The event streams this person may hear (public, members, user:<id>, team:<id>, staff).
    streams: frozenset[str] = field(default_factory=frozenset)
    # The bearer token, kept to check now and then that it still holds (never logged).
    token: str = field(default="", repr=False)

    @property
    def user_id(self) -> int:
        return int(self.user.pk)

    def allows(self, scope: str) -> bool:
        """Whether the token covers ``scope`` (the Mastodon API's own rule, tokens.allows)."""
        from hashdesk.integrations.mastodon import tokens

        return tokens.allows(self.scopes, scope)

    @property
    def viewer_class(self) -> str:
        """Rendering class: everyone in one class sees the same Status of a post."""
        return "staff" if self.staff else "member"


def identify(raw_token: str | None, address: str) -> StreamViewer:
    """The viewer behind a bearer token, with the streams they may hear; raises Refused.

    The wall shows nothing to anonymous visitors (hashdesk.wall.visibility), so every stream
    needs a token. Refusals count against the client address (``mastodon_stream_refused``).
    """
    from hashdesk.integrations.mastodon import tokens

    found = tokens.authenticate(raw_token) if raw_token else None
    if found is None:
        try:
            ratelimit.hit("mastodon_stream_refused", address or "unknown")
        except RateLimited as limited:
            raise Refused(429, "Too many requests") from limited
        raise Refused(401, "Invalid access token" if raw_token else "Missing access token")
    user, scopes = found
    team_streams = [
        stream_names.team(team_id) for team_id in user.memberships.values_list("team_id", flat=True)
    ]
    granted = decide(user, team_streams, with_defaults=True).granted
    return StreamViewer(
        user=user,
        staff=is_staff(user),
        scopes=frozenset(str(scope) for scope in scopes),
        streams=frozenset(granted),
        token=raw_token or "",
    )


def tokens_still_valid(raw_tokens: Iterable[str]) -> set[str]:
    """Which of ``raw_tokens`` still authenticate (not revoked, not expired, person active)."""
    from hashdesk.integrations.mastodon import tokens

    return {raw for raw in set(raw_tokens) if tokens.authenticate(raw) is not None}


def _dumps(value: Any) -> bytes:
    return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


@dataclass(frozen=True)
class RenderedPost:
    """One post event's Status JSON per viewer class, and whose home timeline holds it."""

    status_by_class: dict[str, bytes]
    home_user_ids: frozenset[int]


def render_post(
    post_id: int,
    representatives: dict[str, StreamViewer],
    home_candidates: Iterable[StreamViewer],
) -> RenderedPost | None:
    """Render ``post_id`` once per viewer class (``representatives``: one viewer of each).

    Every connection that gets the event already may hear the streams it was published on,
    which are chosen from the post's own audience (wall.actions.post_streams); the Status is
    rendered as one of them sees it, without the personal fields. ``home_candidates``: the
    user-stream viewers to check against their home timeline, all in one query
    (wall.timelines.home_audience).
    None when the post is gone by now (a later event will say so).
    """
    from hashdesk.integrations.mastodon import entities
    from hashdesk.wall import timelines
    from hashdesk.wall.models import Post

    post = (
        Post.objects.select_related("author", "service", "team", "incident", "reply_to")
        .prefetch_related("hashtags", "mentions", "media")
        .filter(pk=post_id)
        .first()
    )
    if post is None:
        return None
    rendered: dict[str, bytes] = {}
    for viewer_class, viewer in representatives.items():
        status = dict(entities.status(post, viewer.user))
        for name in PERSONAL_FIELDS:
            status.pop(name, None)
        rendered[viewer_class] = _dumps(status)
    home = frozenset(timelines.home_audience(post, (viewer.user_id for viewer in home_candidates)))
    return RenderedPost(status_by_class=rendered, home_user_ids=home)


def render_notification(notification_id: int, viewer: StreamViewer) -> bytes | None:
    """The Mastodon Notification JSON of one of ``viewer``'s notifications, or None."""
    from hashdesk.integrations.mastodon import entities
    from hashdesk.notify.models import Notification

    notice = Notification.objects.filter(pk=notification_id, recipient_id=viewer.user_id).first()
    if notice is None:
        return None
    rendered = list(entities.notifications([notice], viewer.user))
    if not rendered:
        return None
    return _dumps(rendered[0])
