"""Wall endpoints: posts, timelines, reactions, follows, trending, "is it just me?",
reports, moderation and promoting posts to an incident (docs/api.md, "Wall"; docs/wall.md).

Reads go through ``core.visibility`` (a post a person may not see is a 404, never a 403);
every write calls ``wall.actions``, whose domain errors become problem details. Timelines are
the querysets of ``wall.timelines`` in keyset pages.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet, prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from ninja import Query, Router, Status

from hashdesk.accounts.models import Team, User
from hashdesk.api.auth import acting_user
from hashdesk.api.pagination import Keyset, paginate
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, ObjectId, with_errors
from hashdesk.catalog.models import Service
from hashdesk.core.errors import NotFound, ValidationFailed
from hashdesk.core.visibility import visible_to
from hashdesk.incidents.schemas import CreatedIncidentOut
from hashdesk.wall import actions, ingest, similar, timelines, trending
from hashdesk.wall.choices import FollowKind
from hashdesk.wall.models import Follow, Hashtag, Post, PostReport
from hashdesk.wall.schemas import (
    FollowIn,
    FollowOut,
    PostBatchIn,
    PostBatchOut,
    PostCountsOut,
    PostCreate,
    PostEdit,
    PostOut,
    PostPage,
    PromoteIn,
    ReactionKindName,
    ReasonIn,
    ReportOut,
    SuggestionsOut,
    SuggestionsQuery,
    TrendingTagOut,
    WallPageParams,
)
from hashdesk.web.requests import client_address

router = Router(tags=["wall"])

# What every post answer shows besides the row: one join, three prefetches, whatever the page.
_POST_RELATIONS = ("author", "service", "team", "incident")
_POST_PREFETCH = ("hashtags", "mentions", "media")


# --- Lookups (all through visibility) ----------------------------------------------------------


def post_for(user: User, post_id: int) -> Post:
    """Post ``post_id`` if ``user`` may see it, with what its answer shows."""
    post = (
        visible_to(user, Post.objects.select_related(*_POST_RELATIONS))
        .prefetch_related(*_POST_PREFETCH)
        .filter(pk=post_id)
        .first()
    )
    if post is None:
        raise NotFound("No such post.")
    return post


def _target_post(user: User, post_id: int) -> Post:
    """Post ``post_id`` if ``user`` may see it, for a write whose answer is not the post."""
    post = visible_to(user, Post.objects.all()).filter(pk=post_id).first()
    if post is None:
        raise NotFound("No such post.")
    return post


def _shown(post: Post) -> Post:
    """A post an action returned, with its tags and mentions loaded for the answer."""
    prefetch_related_objects([post], *_POST_PREFETCH)
    return post


def _service(user: User, slug: str) -> Service:
    service = visible_to(user, Service.objects.all()).filter(slug=slug).first()
    if service is None:
        raise NotFound("No such service.")
    return service


def _team(user: User, slug: str) -> Team:
    team = visible_to(user, Team.objects.all()).filter(slug=slug).first()
    if team is None:
        raise ValidationFailed(f"There is no team {slug!r}.", field="team")
    return team


def _tag_name(text: str) -> str:
    return text.strip().lstrip("#").lower()


def _page(
    request: HttpRequest,
    response: HttpResponse,
    posts: QuerySet[Post],
    params: WallPageParams,
    keyset: Keyset = timelines.NEWEST_FIRST,
) -> dict[str, Any]:
    return paginate(request, response, posts.prefetch_related(*_POST_PREFETCH), keyset, params)


# --- Posts --------------------------------------------------------------------------------------


@router.post("wall/posts", response=with_errors({201: PostOut}, WRITE_ERRORS))
def create_post(request: HttpRequest, payload: PostCreate) -> Status[Post]:
    """Post to the wall, or reply to a post (``reply_to``).

    Secrets (passwords, keys, tokens, card numbers, IBANs) are removed before anything is
    stored; ``redactions`` says what was removed so the client can tell the author. A post
    with a held word is stored as ``held`` until a moderator approves it. Posting is rate
    limited per person and per client address (429 with ``Retry-After``).
    """
    user = acting_user(request)
    reply_to = _target_post(user, payload.reply_to) if payload.reply_to is not None else None
    post = actions.do_post(
        user,
        body=payload.body,
        reply_to=reply_to,
        visibility=payload.visibility,
        team=_team(user, payload.team) if payload.team is not None else None,
        source="api",
        ip=client_address(request),
        media=payload.media_ids,
        question=payload.question,
    )
    return Status(201, _shown(post))


@router.post("wall/posts/batch", response=with_errors({201: PostBatchOut}, WRITE_ERRORS))
def create_posts(request: HttpRequest, payload: PostBatchIn) -> Status[dict[str, Any]]:
    """Post up to 500 posts at once (integrations, imports): all are posted or none.

    Each item is what ``POST /wall/posts`` takes. An error names the item and its field
    (``posts[3].body``, pointer ``/posts/3/body``) and posts nothing. A batch counts as one
    request against its own rate limit (``wall_post_batch``, per person), not as N posts.
    The answer lists the posts in the order sent.
    """
    user = acting_user(request)
    posts = ingest.do_post_many(user, _new_posts(user, payload.posts), source="api")
    prefetch_related_objects(posts, *_POST_PREFETCH)
    return Status(201, {"posts": posts})


def _new_posts(user: User, items: list[PostCreate]) -> list[ingest.NewPost]:
    """A batch's items with their parents and teams looked up through visibility, one query
    each for the whole batch. An unknown or unseen one names the item (``posts[3].team``)."""
    parent_ids = {item.reply_to for item in items if item.reply_to is not None}
    parents = visible_to(user, Post.objects.all()).in_bulk(parent_ids) if parent_ids else {}
    slugs = {item.team for item in items if item.team is not None}
    teams = (
        {team.slug: team for team in visible_to(user, Team.objects.filter(slug__in=slugs))}
        if slugs
        else {}
    )
    batch = []
    for index, item in enumerate(items):
        reply_to = team = None
        try:
            if item.reply_to is not None:
                reply_to = parents.get(item.reply_to)
                if reply_to is None:
                    raise NotFound("No such post.", field="reply_to")
            if item.team is not None:
                team = teams.get(item.team)
                if team is None:
                    raise ValidationFailed(f"There is no team {item.team!r}.", field="team")
        except (NotFound, ValidationFailed) as error:
            raise ingest.item_error(error, index) from error
        batch.append(
            ingest.NewPost(
                body=item.body,
                reply_to=reply_to,
                visibility=item.visibility,
                team=team,
                media=item.media_ids,
                question=item.question,
            )
        )
    return batch


@router.get("wall/posts/{int:post_id}", response=with_errors({200: PostOut}, READ_ERRORS))
def get_post(request: HttpRequest, post_id: ObjectId) -> Post:
    """One post you may see."""
    return post_for(acting_user(request), post_id)


@router.patch("wall/posts/{int:post_id}", response=with_errors({200: PostOut}, WRITE_ERRORS))
def edit_post(request: HttpRequest, post_id: ObjectId, payload: PostEdit) -> Post:
    """Change a post's text (its author or service desk staff); the old text is kept as a
    revision. ``redactions`` describes the new text."""
    user = acting_user(request)
    post = actions.do_edit_post(user, _target_post(user, post_id), body=payload.body)
    return _shown(post)


@router.delete("wall/posts/{int:post_id}", response=with_errors({204: None}, WRITE_ERRORS))
def delete_post(request: HttpRequest, post_id: ObjectId) -> Status[None]:
    """Delete a post (its author or service desk staff)."""
    user = acting_user(request)
    actions.do_delete_post(user, _target_post(user, post_id))
    return Status(204, None)


@router.get("wall/posts/{int:post_id}/thread", response=with_errors({200: PostPage}, READ_ERRORS))
def get_thread(
    request: HttpRequest, response: HttpResponse, post_id: ObjectId, page: Query[WallPageParams]
) -> dict[str, Any]:
    """The thread of a post: its first post and every reply you may see, oldest first."""
    user = acting_user(request)
    posts = timelines.thread(user, _target_post(user, post_id))
    return _page(request, response, posts, page, timelines.OLDEST_FIRST)


# --- Timelines ----------------------------------------------------------------------------------


@router.get("wall/timelines/home", response=with_errors({200: PostPage}, READ_ERRORS))
def home_timeline(
    request: HttpRequest, response: HttpResponse, page: Query[WallPageParams]
) -> dict[str, Any]:
    """Your posts and what you follow (services, hashtags, people, threads), newest first."""
    return _page(request, response, timelines.home(acting_user(request)), page)


@router.get("wall/timelines/public", response=with_errors({200: PostPage}, READ_ERRORS))
def public_timeline(
    request: HttpRequest, response: HttpResponse, page: Query[WallPageParams]
) -> dict[str, Any]:
    """Every post you may see, newest first."""
    return _page(request, response, timelines.public(acting_user(request)), page)


@router.get("wall/timelines/mentions", response=with_errors({200: PostPage}, READ_ERRORS))
def mentions_timeline(
    request: HttpRequest, response: HttpResponse, page: Query[WallPageParams]
) -> dict[str, Any]:
    """Posts that mention you, newest first."""
    return _page(request, response, timelines.mentions(acting_user(request)), page)


@router.get("wall/timelines/announcements", response=with_errors({200: PostPage}, READ_ERRORS))
def announcements_timeline(
    request: HttpRequest, response: HttpResponse, page: Query[WallPageParams]
) -> dict[str, Any]:
    """The service desk speaking: official incident updates and announcements, newest first."""
    return _page(request, response, timelines.announcements(acting_user(request)), page)


@router.get("wall/timelines/services/{slug}", response=with_errors({200: PostPage}, READ_ERRORS))
def service_timeline(
    request: HttpRequest, response: HttpResponse, slug: str, page: Query[WallPageParams]
) -> dict[str, Any]:
    """Posts about a service you may see, newest first."""
    user = acting_user(request)
    return _page(request, response, timelines.service(user, _service(user, slug)), page)


@router.get("wall/timelines/tags/{name}", response=with_errors({200: PostPage}, READ_ERRORS))
def tag_timeline(
    request: HttpRequest, response: HttpResponse, name: str, page: Query[WallPageParams]
) -> dict[str, Any]:
    """Posts with a hashtag (with or without '#'), newest first; a service's tag also lists
    the posts bound to the service. A tag nobody used yet has an empty timeline."""
    user = acting_user(request)
    tag = Hashtag.objects.filter(name=_tag_name(name)).first()
    # Unused and unseen tags read the same: an empty page, so tags of others' posts don't leak.
    posts = timelines.hashtag(user, tag) if tag is not None else Post.objects.none()
    return _page(request, response, posts, page)


# --- Reactions ----------------------------------------------------------------------------------


@router.post(
    "wall/posts/{int:post_id}/reactions/{kind}",
    response=with_errors({200: PostCountsOut}, WRITE_ERRORS),
)
def react_to_post(request: HttpRequest, post_id: ObjectId, kind: ReactionKindName) -> Post:
    """Like, thank or say "me too" (on a post about an incident, "me too" also makes you an
    affected user of it). Answers the post's new counts; reacting twice the same way is 409."""
    user = acting_user(request)
    post = _target_post(user, post_id)
    actions.do_react(user, post, kind)
    return Post.objects.get(pk=post.pk)


@router.delete(
    "wall/posts/{int:post_id}/reactions/{kind}",
    response=with_errors({200: PostCountsOut}, WRITE_ERRORS),
)
def unreact_to_post(request: HttpRequest, post_id: ObjectId, kind: ReactionKindName) -> Post:
    """Take a reaction back; answers the post's new counts (404 if you had not reacted)."""
    user = acting_user(request)
    post = _target_post(user, post_id)
    actions.do_unreact(user, post, kind)
    return Post.objects.get(pk=post.pk)


# --- Follows ------------------------------------------------------------------------------------


def _follow_target(user: User, payload: FollowIn) -> Service | Hashtag | User | Post:
    """The thing ``payload`` names, looked up through visibility: unknown and unseen are 404."""
    target = payload.target
    if payload.kind in (FollowKind.SERVICE, FollowKind.HASHTAG):
        if not isinstance(target, str):
            by = "slug" if payload.kind == FollowKind.SERVICE else "name"
            raise ValidationFailed(f"Name the {payload.kind} by its {by}.", field="target")
        if payload.kind == FollowKind.SERVICE:
            return _service(user, target)
        tag = Hashtag.objects.filter(name=_tag_name(target)).first()
        if tag is None:
            raise NotFound("No such hashtag.")
        return tag
    if not isinstance(target, int):
        raise ValidationFailed(f"Name the {payload.kind} by its id.", field="target")
    if payload.kind == FollowKind.PERSON:
        person = visible_to(user, User.objects.all()).filter(pk=target).first()
        if person is None:
            raise NotFound("No such person.")
        return person
    return _target_post(user, target)


@router.post("wall/follows", response=with_errors({201: FollowOut}, WRITE_ERRORS))
def follow(request: HttpRequest, payload: FollowIn) -> Status[Follow]:
    """Follow a service (slug), hashtag (name), person (id) or thread (any post's id): their
    posts come to your home timeline. Following twice is 409."""
    user = acting_user(request)
    return Status(201, actions.do_follow(user, payload.kind, _follow_target(user, payload)))


@router.delete("wall/follows", response=with_errors({204: None}, WRITE_ERRORS))
def unfollow(request: HttpRequest, payload: FollowIn) -> Status[None]:
    """Stop following; 404 if you do not follow it."""
    user = acting_user(request)
    actions.do_unfollow(user, payload.kind, _follow_target(user, payload))
    return Status(204, None)


# --- Trending and "is it just me?" -------------------------------------------------------------


@router.get("wall/trending", response=with_errors({200: list[TrendingTagOut]}, READ_ERRORS))
def trending_tags(request: HttpRequest) -> list[dict[str, Any]]:
    """Hashtags most above their usual rate in the last hour, counting only posts you may
    see (docs/wall.md, "Trending")."""
    user = acting_user(request)
    tags = trending.trending_hashtags(timezone.now(), viewer=user)
    service_ids = {tag.service_id for tag in tags if tag.service_id}
    slugs = (
        dict(visible_to(user, Service.objects.filter(pk__in=service_ids)).values_list("pk", "slug"))
        if service_ids
        else {}
    )
    return [
        {
            "name": tag.name,
            "service": slugs.get(tag.service_id) if tag.service_id else None,
            "recent": tag.recent,
            "usual": tag.usual,
            "score": round(tag.score, 2),
        }
        for tag in tags
    ]


@router.get("wall/suggestions", response=with_errors({200: SuggestionsOut}, READ_ERRORS))
def suggestions(request: HttpRequest, query: Query[SuggestionsQuery]) -> dict[str, Any]:
    """ "Is it just me?" for a draft post: the service it is about, that service's open
    incidents, similar posts of the last day and the service's report rate."""
    found = similar.is_it_just_me(acting_user(request), query.text, timezone.now())
    return {
        "service": found.service,
        "incidents": found.incidents,
        "similar": found.similar,
        "rate": (
            {"recent": found.rate.recent, "usual": found.rate.usual, "text": str(found.rate)}
            if found.rate is not None
            else None
        ),
    }


# --- Reports and moderation ---------------------------------------------------------------------


@router.post(
    "wall/posts/{int:post_id}/report", response=with_errors({201: ReportOut}, WRITE_ERRORS)
)
def report_post(request: HttpRequest, post_id: ObjectId, payload: ReasonIn) -> Status[PostReport]:
    """Ask the moderators to look at a post (once per post)."""
    user = acting_user(request)
    report = actions.do_report_post(user, _target_post(user, post_id), payload.reason)
    return Status(201, report)


@router.post("wall/posts/{int:post_id}/hide", response=with_errors({200: PostOut}, WRITE_ERRORS))
def hide_post(request: HttpRequest, post_id: ObjectId, payload: ReasonIn) -> Post:
    """Hide a post from everyone but staff, with the reason (moderators)."""
    user = acting_user(request)
    return _shown(actions.do_hide_post(user, _target_post(user, post_id), payload.reason))


@router.post("wall/posts/{int:post_id}/unhide", response=with_errors({200: PostOut}, WRITE_ERRORS))
def unhide_post(request: HttpRequest, post_id: ObjectId) -> Post:
    """Show a hidden post again (moderators)."""
    user = acting_user(request)
    return _shown(actions.do_unhide_post(user, _target_post(user, post_id)))


@router.post("wall/posts/{int:post_id}/approve", response=with_errors({200: PostOut}, WRITE_ERRORS))
def approve_post(request: HttpRequest, post_id: ObjectId) -> Post:
    """Release a post held by a watched word (moderators)."""
    user = acting_user(request)
    return _shown(actions.do_approve_held_post(user, _target_post(user, post_id)))


@router.post("wall/promote", response=with_errors({201: CreatedIncidentOut}, WRITE_ERRORS))
def promote_posts(request: HttpRequest, payload: PromoteIn) -> Status[dict[str, Any]]:
    """Record an incident from posts (service desk staff): the posts link to it and their
    authors become affected users; the first post's author reports it."""
    user = acting_user(request)
    ids = list(dict.fromkeys(payload.posts))
    found = visible_to(user, Post.objects.all()).in_bulk(ids)
    if len(found) != len(ids):
        raise NotFound("No such post.", field="posts")
    service = visible_to(user, Service.objects.all()).filter(slug=payload.service).first()
    if service is None:
        raise ValidationFailed(f"There is no service {payload.service!r}.", field="service")
    incident = actions.do_promote_to_incident(
        user,
        [found[pk] for pk in ids],
        title=payload.title,
        service=service,
        description=payload.description,
    )
    return Status(
        201,
        {
            "id": incident.pk,
            "number": incident.number,
            "url": reverse("api:get_incident", kwargs={"number": incident.number}),
        },
    )
