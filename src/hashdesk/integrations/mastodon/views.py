"""Mastodon REST endpoints over the wall (docs/integrations/mastodon.md).

Each view parses Mastodon's parameters, reads through the wall's timelines and
``core.visibility`` (never a second copy of who sees what) and writes through the wall's
actions (``wall.actions``) with ``source="mastodon"``; responses.endpoint does the bearer
authentication, scopes, rate limits, errors and CORS.
"""

from __future__ import annotations

import contextlib
import hashlib
from functools import cache
from importlib import metadata
from typing import Any

from django.conf import settings
from django.core.cache import cache as shared_cache
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from hashdesk.accounts.models import Team, User
from hashdesk.core.errors import Conflict, NotFound, ValidationFailed
from hashdesk.core.visibility import person_condition, visible_to
from hashdesk.integrations.mastodon import entities, responses
from hashdesk.integrations.mastodon.responses import Caller, MastodonError, endpoint
from hashdesk.notify import actions as notify_actions
from hashdesk.notify.models import Notification
from hashdesk.wall import actions as wall_actions
from hashdesk.wall import timelines
from hashdesk.wall.choices import ModerationState, PostVisibility
from hashdesk.wall.media import MEDIA_MAX_PIXELS, MEDIA_PER_POST_MAX, max_bytes
from hashdesk.wall.models import BODY_MAX, Hashtag, Post, Reaction
from hashdesk.web.requests import client_address

MASTODON_VERSION = "4.3.0"
API_VERSION = 2
IDEMPOTENCY_SECONDS = 3600
# Mastodon's limits on a thread's context.
ANCESTORS_MAX = 40
DESCENDANTS_MAX = 4096

READ_STATUSES = {"GET": "read:statuses"}
READ_ACCOUNTS = {"GET": "read:accounts"}


@cache
def hashdesk_version() -> str:
    try:
        return metadata.version("hashdesk")
    except metadata.PackageNotFoundError:
        return "0.1.0"


def version_string() -> str:
    """What Mastodon.py and other clients parse: the Mastodon API level first."""
    return f"{MASTODON_VERSION} (compatible; Hashdesk {hashdesk_version()})"


def _posts(caller: Caller) -> QuerySet[Post]:
    return timelines.public(caller.person)


def _post(caller: Caller, status_id: str) -> Post:
    if not status_id.isdigit():
        raise NotFound("No such post.")
    post = _posts(caller).filter(pk=int(status_id)).first()
    if post is None:
        raise NotFound("No such post.")
    return post


def _status_response(caller: Caller, post: Post, **extra: Any) -> HttpResponse:
    entity = entities.status(post, caller.person)
    entity.update(extra)
    return responses.ok(entity)


def _timeline(request: HttpRequest, caller: Caller, rows: QuerySet[Post]) -> HttpResponse:
    page = responses.page(request, rows.prefetch_related("hashtags", "mentions", "media"))
    return responses.paged(request, entities.statuses(page.items, caller.person), page.ids)


# --- Instance -----------------------------------------------------------------------------------


def _instance_counts(caller: Caller | None) -> tuple[int, int]:
    # The organisation's size is for its members, not for anonymous visitors.
    if caller is None or caller.user is None:
        return 0, 0
    people = User.objects.filter(person_condition(), is_active=True).count()
    posts = Post.objects.filter(
        deleted_at__isnull=True,
        moderation=ModerationState.VISIBLE,
        visibility=PostVisibility.PUBLIC,
    ).count()
    return people, posts


def _statuses_configuration() -> dict[str, Any]:
    return {
        "statuses": {
            "max_characters": BODY_MAX,
            "max_media_attachments": MEDIA_PER_POST_MAX,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            "supported_mime_types": ["image/png", "image/jpeg", "image/gif", "image/webp"],
            "image_size_limit": max_bytes(),
            "image_matrix_limit": MEDIA_MAX_PIXELS,
            "video_size_limit": 0,
            "video_frame_rate_limit": 0,
            "video_matrix_limit": 0,
        },
        "polls": {
            "max_options": 0,
            "max_characters_per_option": 0,
            "min_expiration": 0,
            "max_expiration": 0,
        },
        "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
    }


def _host(request: HttpRequest) -> str:
    return request.get_host()


@endpoint("GET", auth=False)
def instance_v1(request: HttpRequest, caller: Caller | None) -> HttpResponse:
    people, posts = _instance_counts(caller)
    return responses.ok(
        {
            "uri": _host(request),
            "title": "Hashdesk",
            "short_description": "The service desk's wall, for Mastodon apps.",
            "description": "The service desk's wall, for Mastodon apps.",
            "email": settings.DEFAULT_FROM_EMAIL,
            "version": version_string(),
            "urls": {"streaming_api": settings.MASTODON_STREAMING_URL},
            "stats": {"user_count": people, "status_count": posts, "domain_count": 1},
            "thumbnail": None,
            "languages": ["en"],
            "registrations": False,
            "approval_required": False,
            "invites_enabled": False,
            "configuration": _statuses_configuration(),
            "contact_account": None,
            "rules": [],
        }
    )


@endpoint("GET", auth=False)
def instance_v2(request: HttpRequest, caller: Caller | None) -> HttpResponse:
    people, _posts_count = _instance_counts(caller)
    configuration = _statuses_configuration()
    configuration["urls"] = {"streaming": settings.MASTODON_STREAMING_URL, "status": None}
    configuration["vapid"] = {"public_key": ""}
    configuration["translation"] = {"enabled": False}
    return responses.ok(
        {
            "domain": _host(request),
            "title": "Hashdesk",
            "version": version_string(),
            "source_url": "https://github.com/hashdesk/hashdesk",
            "description": "The service desk's wall, for Mastodon apps.",
            "usage": {"users": {"active_month": people}},
            "thumbnail": {"url": entities.absolute(entities.AVATAR_PATH)},
            "icon": [],
            "languages": ["en"],
            "configuration": configuration,
            "registrations": {"enabled": False, "approval_required": False, "message": None},
            "api_versions": {"mastodon": API_VERSION},
            "contact": {"email": settings.DEFAULT_FROM_EMAIL, "account": None},
            "rules": [],
        }
    )


# --- Accounts -----------------------------------------------------------------------------------


def _person(caller: Caller, account_id: str) -> User:
    if not account_id.isdigit():
        raise NotFound("No such person.")
    person = visible_to(caller.person, User.objects.filter(is_active=True, pk=int(account_id)))
    found = person.first()
    if found is None:
        raise NotFound("No such person.")
    return found


@endpoint("GET", scope={"GET": "read:accounts"})
def verify_credentials(request: HttpRequest, caller: Caller) -> HttpResponse:
    return responses.ok(entities.credential_account(caller.person))


@endpoint("GET", scope=READ_ACCOUNTS)
def account_detail(request: HttpRequest, caller: Caller, account_id: str) -> HttpResponse:
    return responses.ok(entities.account(_person(caller, account_id)))


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "on", "yes")


@endpoint("GET", scope=READ_STATUSES)
def account_statuses(request: HttpRequest, caller: Caller, account_id: str) -> HttpResponse:
    person = _person(caller, account_id)
    rows = timelines.person(caller.person, person)
    if _truthy(request.GET.get("exclude_replies", "")):
        rows = rows.filter(reply_to__isnull=True)
    if _truthy(request.GET.get("pinned", "")):
        rows = rows.filter(is_pinned=True)
    if _truthy(request.GET.get("only_media", "")):
        rows = rows.filter(media__isnull=False).distinct()
    tagged = request.GET.get("tagged", "").strip().lstrip("#").lower()
    if tagged:
        rows = rows.filter(hashtags__name=tagged)
    return _timeline(request, caller, rows)


# --- Statuses -----------------------------------------------------------------------------------


def status_visibility(person: User, requested: str) -> tuple[str, Team | None]:
    """Mastodon's visibility as the wall's: ``public`` is public, ``private`` a team post to
    the author's team (they must be in exactly one); ``unlisted`` and ``direct`` have no
    counterpart on the wall and are refused (422)."""
    if requested in ("", "public"):
        return PostVisibility.PUBLIC, None
    if requested == "private":
        teams = list(Team.objects.filter(memberships__user=person).order_by("pk")[:2])
        if len(teams) != 1:
            raise ValidationFailed(
                "private posts go to your team; you must be in exactly one team "
                "(post from the web page to choose among several)"
            )
        return PostVisibility.TEAM, teams[0]
    if requested == "unlisted":
        raise ValidationFailed(
            "unlisted is not supported: every public post is on the wall's timelines"
        )
    if requested == "direct":
        raise ValidationFailed("direct is not supported: use chat for private conversations")
    raise ValidationFailed(f"visibility must be public or private, not {requested[:40]!r}")


def _list_param(values: Any, name: str) -> list[str]:
    if hasattr(values, "getlist"):
        found = values.getlist(f"{name}[]") or values.getlist(name)
        return [str(item) for item in found]
    value = values.get(name) or values.get(f"{name}[]") or []
    return [str(item) for item in (value if isinstance(value, list) else [value])]


def _refuse_unrepresentable(values: Any) -> None:
    if str(values.get("spoiler_text", "") or "").strip():
        raise ValidationFailed("content warnings (spoiler_text) are not supported")
    if values.get("poll") or _list_param(values, "poll[options]"):
        raise ValidationFailed("polls are not supported")
    if values.get("scheduled_at"):
        raise ValidationFailed("scheduled posts are not supported")


def _media_ids(values: Any) -> list[int]:
    ids = _list_param(values, "media_ids")
    if not all(item.isdigit() for item in ids):
        raise ValidationFailed("media_ids must be ids")
    return [int(item) for item in ids]


def _idempotency_key(request: HttpRequest, person: User) -> str | None:
    raw = request.headers.get("Idempotency-Key", "")
    if not raw:
        return None
    digest = hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()
    return f"mastodon:idempotency:{person.pk}:{digest}"


def _create_status(request: HttpRequest, caller: Caller) -> HttpResponse:
    person = caller.person
    values = responses.params(request)
    key = _idempotency_key(request, person)
    if key is not None:
        seen = shared_cache.get(key)
        if isinstance(seen, int):
            earlier = _posts(caller).filter(pk=seen).first()
            if earlier is not None:
                return _status_response(caller, earlier)
        if seen == "pending" or not shared_cache.add(key, "pending", IDEMPOTENCY_SECONDS):
            raise Conflict("a request with this Idempotency-Key is still being processed")
    try:
        _refuse_unrepresentable(values)
        visibility, team = status_visibility(person, str(values.get("visibility", "") or ""))
        reply_to = None
        parent_id = str(values.get("in_reply_to_id", "") or "")
        if parent_id:
            reply_to = _post(caller, parent_id)
        post = wall_actions.do_post(
            person,
            body=str(values.get("status", "") or ""),
            reply_to=reply_to,
            visibility=visibility,
            team=team,
            source="mastodon",
            ip=client_address(request),
            media=_media_ids(values),
        )
    except BaseException:
        if key is not None:
            shared_cache.delete(key)
        raise
    if key is not None:
        shared_cache.set(key, post.pk, IDEMPOTENCY_SECONDS)
    created = _posts(caller).filter(pk=post.pk).first() or post
    return _status_response(caller, created)


@endpoint("POST", scope={"POST": "write:statuses"})
def statuses_create(request: HttpRequest, caller: Caller) -> HttpResponse:
    return _create_status(request, caller)


@endpoint("GET", "DELETE", scope={"GET": "read:statuses", "DELETE": "write:statuses"})
def status_detail(request: HttpRequest, caller: Caller, status_id: str) -> HttpResponse:
    post = _post(caller, status_id)
    if request.method == "DELETE":
        entity = entities.status(post, caller.person)
        wall_actions.do_delete_post(caller.person, post, reason="Deleted from a Mastodon app")
        # Mastodon answers the deleted status with its source text, for "delete and redraft".
        entity["text"] = post.body
        return responses.ok(entity)
    return responses.ok(entities.status(post, caller.person))


@endpoint("GET", scope=READ_STATUSES)
def status_context(request: HttpRequest, caller: Caller, status_id: str) -> HttpResponse:
    """Ancestors (oldest first) and descendants (depth first, oldest first) the viewer sees."""
    post = _post(caller, status_id)
    thread = list(
        timelines.thread(caller.person, post).order_by("id")[: DESCENDANTS_MAX + ANCESTORS_MAX]
    )
    by_id = {item.pk: item for item in thread}
    ancestors: list[Post] = []
    parent_id = post.reply_to_id
    while parent_id and parent_id in by_id and len(ancestors) < ANCESTORS_MAX:
        ancestors.append(by_id[parent_id])
        parent_id = by_id[parent_id].reply_to_id
    ancestors.reverse()
    children: dict[int, list[Post]] = {}
    for item in thread:
        if item.reply_to_id:
            children.setdefault(item.reply_to_id, []).append(item)
    descendants: list[Post] = []
    stack = list(reversed(children.get(post.pk, [])))
    while stack and len(descendants) < DESCENDANTS_MAX:
        item = stack.pop()
        descendants.append(item)
        stack.extend(reversed(children.get(item.pk, [])))
    built = {
        int(entity["id"]): entity
        for entity in entities.statuses([*ancestors, *descendants], caller.person)
    }
    return responses.ok(
        {
            "ancestors": [built[item.pk] for item in ancestors],
            "descendants": [built[item.pk] for item in descendants],
        }
    )


@endpoint("POST", scope={"POST": "write:favourites"})
def favourite(request: HttpRequest, caller: Caller, status_id: str) -> HttpResponse:
    post = _post(caller, status_id)
    # Already favourited: Mastodon answers the status all the same.
    with contextlib.suppress(Conflict):
        wall_actions.do_react(caller.person, post, entities.favourite_kind(post))
    return _status_response(caller, _post(caller, status_id))


@endpoint("POST", scope={"POST": "write:favourites"})
def unfavourite(request: HttpRequest, caller: Caller, status_id: str) -> HttpResponse:
    post = _post(caller, status_id)
    # Not favourited: nothing to take back.
    with contextlib.suppress(NotFound):
        wall_actions.do_unreact(caller.person, post, entities.favourite_kind(post))
    return _status_response(caller, _post(caller, status_id))


@endpoint("GET", scope=READ_ACCOUNTS)
def favourited_by(request: HttpRequest, caller: Caller, status_id: str) -> HttpResponse:
    post = _post(caller, status_id)
    rows = Reaction.objects.filter(post=post, kind=entities.favourite_kind(post))
    page = responses.page(request, rows.select_related("user"))
    people = [reaction.user for reaction in page.items]
    return responses.paged(request, entities.accounts(people), page.ids)


# --- Timelines ----------------------------------------------------------------------------------


@endpoint("GET", scope=READ_STATUSES)
def timeline_home(request: HttpRequest, caller: Caller) -> HttpResponse:
    return _timeline(request, caller, timelines.home(caller.person))


@endpoint("GET", scope=READ_STATUSES)
def timeline_public(request: HttpRequest, caller: Caller) -> HttpResponse:
    rows = timelines.public(caller.person)
    if _truthy(request.GET.get("remote", "")):
        # Nothing is federated: every post is local.
        rows = rows.none()
    if _truthy(request.GET.get("only_media", "")):
        rows = rows.filter(media__isnull=False).distinct()
    return _timeline(request, caller, rows)


@endpoint("GET", scope=READ_STATUSES)
def timeline_tag(request: HttpRequest, caller: Caller, hashtag: str) -> HttpResponse:
    tag = Hashtag.objects.filter(name=hashtag.lstrip("#").lower()).first()
    if tag is None:
        return _timeline(request, caller, Post.objects.none())
    rows = timelines.hashtag(caller.person, tag)
    if _truthy(request.GET.get("remote", "")):
        rows = rows.none()
    return _timeline(request, caller, rows)


# --- Notifications ------------------------------------------------------------------------------


def _notices(caller: Caller) -> QuerySet[Notification]:
    return visible_to(caller.person, Notification.objects.all()).filter(entities.mappable_notices())


def _kinds_of(types: list[str]) -> list[str]:
    return [kind for kind, name in entities.NOTIFICATION_TYPES.items() if name in types]


@endpoint("GET", scope={"GET": "read:notifications"})
def notifications(request: HttpRequest, caller: Caller) -> HttpResponse:
    rows = _notices(caller)
    types = _list_param(request.GET, "types")
    if types:
        rows = rows.filter(kind__in=_kinds_of(types))
    excluded = _list_param(request.GET, "exclude_types")
    if excluded:
        rows = rows.exclude(kind__in=_kinds_of(excluded))
    page = responses.page(request, rows, default=40, maximum=80)
    body = entities.notifications(page.items, caller.person)
    return responses.paged(request, body, page.ids)


@endpoint("GET", scope={"GET": "read:notifications"})
def notification_detail(request: HttpRequest, caller: Caller, notification_id: str) -> HttpResponse:
    if not notification_id.isdigit():
        raise NotFound("No such notification.")
    notice = get_object_or_404_domain(_notices(caller), int(notification_id))
    found = entities.notifications([notice], caller.person)
    if not found:
        raise NotFound("No such notification.")
    return responses.ok(found[0])


@endpoint("POST", scope={"POST": "write:notifications"})
def notifications_clear(request: HttpRequest, caller: Caller) -> HttpResponse:
    # The notification centre keeps the record of what someone was told: clearing marks
    # every notification read (notify.actions), it does not delete.
    notify_actions.do_mark_read(caller.person)
    return responses.ok({})


@endpoint("POST", scope={"POST": "write:notifications"})
def notification_dismiss(
    request: HttpRequest, caller: Caller, notification_id: str
) -> HttpResponse:
    if not notification_id.isdigit():
        raise NotFound("No such notification.")
    notice = get_object_or_404_domain(_notices(caller), int(notification_id))
    notify_actions.do_mark_read(caller.person, notification_ids=[notice.pk])
    return responses.ok({})


def get_object_or_404_domain(rows: QuerySet[Notification], pk: int) -> Notification:
    found = rows.filter(pk=pk).first()
    if found is None:
        raise NotFound("No such notification.")
    return found


# --- Everything else ----------------------------------------------------------------------------


@endpoint("GET", "POST", "PUT", "PATCH", "DELETE", auth=False)
def not_found(request: HttpRequest, caller: Caller | None, rest: str = "") -> HttpResponse:
    raise MastodonError(404, "Record not found")


def avatar(request: HttpRequest) -> HttpResponse:
    """The one avatar every account shows (people have no pictures in Hashdesk)."""
    response = HttpResponse(_avatar_png(), content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return responses.with_cors(response)


@cache
def _avatar_png() -> bytes:
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (120, 120), (217, 222, 230))
    draw = ImageDraw.Draw(image)
    draw.ellipse((38, 18, 82, 62), fill=(150, 160, 176))
    draw.ellipse((18, 70, 102, 150), fill=(150, 160, 176))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
