"""Mastodon follows, relationships, hashtags and search over the wall
(docs/integrations/mastodon.md).

Following goes through the wall's own actions, the ones its pages use: ``wall.actions.do_follow``
/ ``do_unfollow`` for people, ``notify.subscriptions.do_follow_hashtag`` for a hashtag (which
binds a service's own hashtag to its service, as the wall does). Mastodon's follow and unfollow
are idempotent, so "already followed" and "not followed" are successes here. Nothing remote is
ever resolved: every account and tag is local.
"""

from __future__ import annotations

import contextlib
import re

from django.db.models import Exists, OuterRef, Q
from django.http import HttpRequest, HttpResponse, QueryDict

from hashdesk.accounts.models import User
from hashdesk.core.errors import Conflict, NotFound
from hashdesk.core.visibility import visible_to
from hashdesk.integrations.mastodon import entities, responses
from hashdesk.integrations.mastodon.responses import Caller, MastodonError, endpoint
from hashdesk.integrations.mastodon.views import _list_param, _person, _truthy
from hashdesk.notify.subscriptions import do_follow_hashtag
from hashdesk.search.query import search
from hashdesk.wall import actions as wall_actions
from hashdesk.wall import timelines
from hashdesk.wall.choices import FollowKind
from hashdesk.wall.models import Follow, Hashtag, Post

WRITE_FOLLOWS = {"POST": "write:follows"}
READ_FOLLOWS = {"GET": "read:follows"}
# Ids one relationships request may ask about (Mastodon's clients ask for a page at a time).
RELATIONSHIPS_MAX = 80
SEARCH_TYPES = ("accounts", "hashtags", "statuses")
SEARCH_QUERY_MAX = 200
OFFSET_MAX = 10_000
# The hashtag rule of the catalogue and the wall (catalog.models.hashtag_validator).
_TAG_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,49}$")


# --- Accounts -----------------------------------------------------------------------------------


def _relationship(caller: Caller, person: User) -> HttpResponse:
    return responses.ok(entities.relationships(caller.person, [person])[0])


@endpoint("POST", scope=WRITE_FOLLOWS)
def account_follow(request: HttpRequest, caller: Caller, account_id: str) -> HttpResponse:
    """Follow a person (``reblogs``, ``notify`` and ``languages`` are accepted and ignored:
    the wall has no boosts or per-person post notifications)."""
    person = _person(caller, account_id)
    # Already followed: Mastodon answers the relationship all the same.
    with contextlib.suppress(Conflict):
        wall_actions.do_follow(caller.person, FollowKind.PERSON, person)
    return _relationship(caller, person)


@endpoint("POST", scope=WRITE_FOLLOWS)
def account_unfollow(request: HttpRequest, caller: Caller, account_id: str) -> HttpResponse:
    person = _person(caller, account_id)
    # Not followed: nothing to take back.
    with contextlib.suppress(NotFound):
        wall_actions.do_unfollow(caller.person, FollowKind.PERSON, person)
    return _relationship(caller, person)


@endpoint("GET", scope=READ_FOLLOWS)
def account_relationships(request: HttpRequest, caller: Caller) -> HttpResponse:
    """Relationships to the accounts ``id[]`` the viewer may see, in the order asked; unknown
    and unseen ids are left out, as Mastodon leaves out accounts it does not find."""
    wanted: list[int] = []
    for raw in _list_param(request.GET, "id"):
        if raw.isdigit() and len(raw) <= 18 and int(raw) not in wanted:
            wanted.append(int(raw))
    wanted = wanted[:RELATIONSHIPS_MAX]
    found = {}
    if wanted:
        found = {
            person.pk: person
            for person in visible_to(caller.person, User.objects.filter(is_active=True)).filter(
                pk__in=wanted
            )
        }
    people = [found[pk] for pk in wanted if pk in found]
    return responses.ok(entities.relationships(caller.person, people))


# --- Hashtags -----------------------------------------------------------------------------------


def _tag_name(raw: str) -> str:
    """The wall's form of a tag name in a path; 404 for one that cannot be a hashtag."""
    name = raw.strip().lstrip("#").lower()
    if not _TAG_NAME_RE.match(name):
        raise NotFound("No such hashtag.")
    return name


def _tag_response(caller: Caller, name: str) -> HttpResponse:
    tag: Hashtag | str = Hashtag.objects.filter(name=name).first() or name
    return responses.ok(entities.tags([tag], caller.person)[0])


@endpoint("GET", scope={"GET": "read:statuses"})
def tag_detail(request: HttpRequest, caller: Caller, hashtag: str) -> HttpResponse:
    return _tag_response(caller, _tag_name(hashtag))


@endpoint("POST", scope=WRITE_FOLLOWS)
def tag_follow(request: HttpRequest, caller: Caller, hashtag: str) -> HttpResponse:
    """Follow a hashtag, even one nobody has used yet (as on the web preferences page)."""
    name = _tag_name(hashtag)
    with contextlib.suppress(Conflict):
        do_follow_hashtag(caller.person, name)
    return _tag_response(caller, name)


@endpoint("POST", scope=WRITE_FOLLOWS)
def tag_unfollow(request: HttpRequest, caller: Caller, hashtag: str) -> HttpResponse:
    name = _tag_name(hashtag)
    tag = Hashtag.objects.filter(name=name).first()
    if tag is not None:
        with contextlib.suppress(NotFound):
            wall_actions.do_unfollow(caller.person, FollowKind.HASHTAG, tag)
    return _tag_response(caller, name)


@endpoint("GET", scope=READ_FOLLOWS)
def followed_tags(request: HttpRequest, caller: Caller) -> HttpResponse:
    """The hashtags the viewer follows, newest follow first, paged by the follow's id with
    Link headers like every other list."""
    rows = Follow.objects.filter(user=caller.person, kind=FollowKind.HASHTAG)
    page = responses.page(request, rows, default=100, maximum=200)
    by_id = Hashtag.objects.in_bulk([follow.target_id for follow in page.items])
    found = [by_id[follow.target_id] for follow in page.items if follow.target_id in by_id]
    return responses.paged(request, entities.tags(found, caller.person), page.ids)


# --- Search -------------------------------------------------------------------------------------


def _offset_of(values: QueryDict) -> int:
    raw = str(values.get("offset", "") or "")
    if raw == "":
        return 0
    if not raw.isdigit():
        raise MastodonError(422, "Validation failed: offset must be a number")
    return min(int(raw), OFFSET_MAX)


def _handle_part(q: str) -> str:
    """``@name@host`` or ``name@host`` as the local handle ``name`` (every account is local)."""
    return q.lstrip("@").split("@", 1)[0].strip().lower()


def _accounts(caller: Caller, q: str, following: bool, limit: int, offset: int) -> list[User]:
    handle = _handle_part(q)
    matches = Q(display_name__icontains=q)
    if handle:
        # A handle is the local part of the email address: match that, never the domain.
        matches |= Q(email__istartswith=handle)
    rows = visible_to(caller.person, User.objects.filter(is_active=True)).filter(matches)
    if following:
        rows = rows.filter(
            pk__in=Follow.objects.filter(user=caller.person, kind=FollowKind.PERSON).values(
                "target_id"
            )
        )
    return list(rows.order_by("display_name", "pk")[offset : offset + limit])


def _hashtags(caller: Caller, q: str, limit: int, offset: int) -> list[Hashtag]:
    """Tags starting with ``q`` that the viewer has seen used (a post they may read carries
    it) or follows: a tag used only in another team's posts is not revealed."""
    prefix = q.lstrip("#").strip().lower()
    if not prefix:
        return []
    seen = timelines.public(caller.person).filter(hashtags=OuterRef("pk"))
    followed = Follow.objects.filter(
        user=caller.person, kind=FollowKind.HASHTAG, target_id=OuterRef("pk")
    )
    rows = Hashtag.objects.filter(name__startswith=prefix).filter(Exists(seen) | Exists(followed))
    return list(rows.order_by("name")[offset : offset + limit])


def _statuses(caller: Caller, q: str, account_id: str, limit: int, offset: int) -> list[Post]:
    """Posts through the project's search (its index and its visibility), best first."""
    hits = search(caller.person, q, kinds=["post"], limit=limit, offset=offset).hits
    ids = [hit.object.pk for hit in hits]
    rows = timelines.public(caller.person).filter(pk__in=ids)
    if account_id:
        rows = rows.filter(author_id=int(account_id)) if account_id.isdigit() else rows.none()
    by_id = {post.pk: post for post in rows.prefetch_related("hashtags", "mentions", "media")}
    return [by_id[pk] for pk in ids if pk in by_id]


@endpoint("GET", scope={"GET": "read:search"})
def search_v2(request: HttpRequest, caller: Caller) -> HttpResponse:
    """``q`` among accounts, hashtags and posts the viewer may see; ``type`` narrows it,
    ``limit`` (20, at most 40) and ``offset`` page each kind; ``resolve`` is accepted and
    nothing remote is looked up; ``following`` narrows accounts to those followed."""
    values = request.GET
    q = str(values.get("q", "") or "").strip()[:SEARCH_QUERY_MAX]
    kind = str(values.get("type", "") or "")
    if kind and kind not in SEARCH_TYPES:
        raise MastodonError(422, "Validation failed: type must be accounts, hashtags or statuses")
    limit = responses.limit_of(values)
    offset = _offset_of(values)
    found: dict[str, list[dict[str, object]]] = {"accounts": [], "statuses": [], "hashtags": []}
    if not q:
        return responses.ok(found)
    if kind in ("", "accounts"):
        people = _accounts(caller, q, _truthy(values.get("following", "")), limit, offset)
        found["accounts"] = entities.accounts(people)
    if kind in ("", "hashtags"):
        found["hashtags"] = entities.tags(_hashtags(caller, q, limit, offset), caller.person)
    if kind in ("", "statuses"):
        posts = _statuses(caller, q, str(values.get("account_id", "") or ""), limit, offset)
        found["statuses"] = entities.statuses(posts, caller.person)
    return responses.ok(found)
