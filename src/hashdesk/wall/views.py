"""The wall's pages (docs/wall.md, "Pages"): timelines with the composer, a thread with its reply
form, reactions, follows, reports, the "Is it just me?" suggestions and the fragment of new
posts that wall-live.js fetches.

Everything shown comes from ``wall.timelines`` and ``core.visibility`` (a post, person or
service the viewer may not see is a 404, never a 403); every change goes through
``wall.actions``, the same calls the API makes. A refused post re-renders the page with the
form and its errors (status 400) and changes nothing; successful posts redirect (PRG).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.core.errors import DomainError, ValidationFailed
from hashdesk.core.redaction import Finding, Redacted
from hashdesk.core.visibility import can_accept_answers_for, can_moderate, is_staff, visible_to
from hashdesk.incidents.models import Incident
from hashdesk.wall import (
    actions,
    answers,
    media,
    questions,
    reputation,
    similar,
    timelines,
    trending,
    votes,
)
from hashdesk.wall.choices import FollowKind, ModerationState, PostKind, ReactionKind, ReportState
from hashdesk.wall.forms import HideForm, PostForm, PromoteForm, ReplyForm, ReportForm
from hashdesk.wall.models import (
    BODY_MAX,
    Follow,
    Hashtag,
    MediaAttachment,
    Post,
    PostReport,
    Reaction,
)
from hashdesk.web.forms import ShellForm, raise_if_forbidden
from hashdesk.web.live import live_page
from hashdesk.web.requests import client_address, current_user

# The most posts the "new posts" bar brings in at once (the newest; any older ones are on the
# timeline's next page).
FRAGMENT_MAX = 50
TRENDING_SHOWN = 8
# Each reaction button: its kind, its words and the post's counter.
REACTIONS = (
    (ReactionKind.LIKE, "Like", "like_count"),
    (ReactionKind.ME_TOO, "Me too", "me_too_count"),
    (ReactionKind.THANKS, "Thanks", "thanks_count"),
)


# --- Looking things up (visibility first) -------------------------------------------------------


def _post(user: User, post_id: int) -> Post:
    post = (
        visible_to(user, Post.objects.select_related("author", "service", "team", "incident"))
        .filter(pk=post_id)
        .first()
    )
    if post is None:
        raise Http404("No such post.")
    return post


def _service(user: User, slug: str) -> Service:
    service = visible_to(user, Service.objects.all()).filter(slug=slug).first()
    if service is None:
        raise Http404("No such service.")
    return service


def _person(user: User, person_id: int) -> User:
    person = visible_to(user, User.objects.all()).filter(pk=person_id, is_active=True).first()
    if person is None:
        raise Http404("No such person.")
    return person


def _tag_name(text: str) -> str:
    return text.strip().lstrip("#").lower()


def _safe_next(request: HttpRequest, fallback: str) -> str:
    """Where a small form sends the person back to: the page they were on, never elsewhere."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


# --- Timelines ----------------------------------------------------------------------------------


@dataclass
class Timeline:
    """One list of posts as a page shows it; the same description serves the live fragment."""

    key: str
    title: str
    lede: str
    posts: QuerySet[Post]
    # The query parameters that name this timeline to the fragment view.
    params: dict[str, str]
    follow: dict[str, Any] | None = None
    # What names it within its kind (tag name, service slug, person id), for the composer to
    # come back to this page when a post is refused.
    value: str = ""
    composer_text: str = ""
    tabs: list[dict[str, Any]] = field(default_factory=list)
    # A person's page shows their reputation (wall.reputation).
    person: User | None = None
    # A conversation's first post: its asker decides the accepted answer.
    root: Post | None = None

    @property
    def url(self) -> str:
        """The page's own address (a refused post renders it at the composer's address)."""
        if self.key in ("home", "everyone", "mentions", "questions"):
            return reverse(f"wall:{self.key}")
        return reverse(f"wall:{self.key}", args=[self.value])


def _follow_offer(user: User, kind: str, target_id: int, value: str, label: str) -> dict[str, Any]:
    following = Follow.objects.filter(user_id=user.pk, kind=kind, target_id=target_id).exists()
    return {"kind": kind, "target": value, "following": following, "label": label}


def _tabs(current: str) -> list[dict[str, Any]]:
    return [
        {"url": reverse("wall:home"), "label": "Following", "current": current == "home"},
        {"url": reverse("wall:everyone"), "label": "Everyone", "current": current == "everyone"},
        {"url": reverse("wall:mentions"), "label": "Mentions", "current": current == "mentions"},
        {
            "url": reverse("wall:questions"),
            "label": "Unanswered questions",
            "current": current == "questions",
        },
    ]


def _timeline(user: User, key: str, value: str = "") -> Timeline:
    """The timeline ``key`` (home, everyone, mentions, tag, service, person) for ``user``."""
    if key == "home":
        return Timeline(
            "home",
            "Wall",
            "Your posts and what you follow: services, hashtags, people and threads.",
            timelines.home(user),
            {"timeline": "home"},
            tabs=_tabs("home"),
        )
    if key == "everyone":
        return Timeline(
            "everyone",
            "Wall",
            "Everything posted that you may read.",
            timelines.public(user),
            {"timeline": "everyone"},
            tabs=_tabs("everyone"),
        )
    if key == "mentions":
        return Timeline(
            "mentions",
            "Wall",
            "Posts that mention you.",
            timelines.mentions(user),
            {"timeline": "mentions"},
            tabs=_tabs("mentions"),
        )
    if key == "questions":
        return Timeline(
            "questions",
            "Wall",
            "Questions still waiting for an accepted answer: where a helper is needed.",
            questions.unanswered(user).select_related("author", "service", "team", "incident"),
            {"timeline": "questions"},
            tabs=_tabs("questions"),
        )
    if key == "tag":
        name = _tag_name(value)
        tag = Hashtag.objects.filter(name=name).first()
        # Unused and unseen tags read the same, an empty timeline, as in the API.
        posts = timelines.hashtag(user, tag) if tag is not None else Post.objects.none()
        return Timeline(
            "tag",
            f"#{name}",
            "Posts with this hashtag.",
            posts,
            {"timeline": "tag", "name": name},
            value=name,
            follow=(
                _follow_offer(user, FollowKind.HASHTAG, tag.pk, tag.name, f"#{name}")
                if tag is not None
                else None
            ),
            composer_text=f"#{name} ",
        )
    if key == "service":
        service = _service(user, value)
        return Timeline(
            "service",
            service.name,
            "Official updates and reports about this service.",
            timelines.service(user, service),
            {"timeline": "service", "slug": service.slug},
            value=service.slug,
            follow=_follow_offer(user, FollowKind.SERVICE, service.pk, service.slug, service.name),
            composer_text=f"#{service.hashtag} " if service.hashtag else "",
        )
    if key == "person":
        try:
            person = _person(user, int(value))
        except ValueError:
            raise Http404("No such person.") from None
        return Timeline(
            "person",
            person.display_name,
            "Posts by this person.",
            timelines.person(user, person),
            {"timeline": "person", "id": str(person.pk)},
            value=str(person.pk),
            person=person,
            follow=(
                _follow_offer(
                    user, FollowKind.PERSON, person.pk, str(person.pk), person.display_name
                )
                if person.pk != user.pk
                else None
            ),
        )
    if key == "thread":
        try:
            root = _post(user, int(value))
        except ValueError:
            raise Http404("No such conversation.") from None
        if root.thread_root_id:
            root = _post(user, root.thread_root_id)
        return Timeline(
            "thread",
            "Conversation",
            "A post and its replies, oldest first.",
            timelines.thread(user, root),
            {"timeline": "thread", "id": str(root.pk)},
            value=str(root.pk),
            root=root,
        )
    raise Http404("No such timeline.")


def _mark_reactions(user: User, posts: list[Post]) -> None:
    """Which reactions are the viewer's, for aria-pressed, and which linked incidents the viewer
    may open (the others show their number without a link that could only answer 404): one
    query each for the whole page."""
    mine: dict[int, set[str]] = {post.pk: set() for post in posts}
    incident_ids = {post.incident_id for post in posts if post.incident_id}
    openable = (
        set(
            visible_to(user, Incident.objects.filter(pk__in=incident_ids)).values_list(
                "pk", flat=True
            )
        )
        if incident_ids
        else set()
    )
    for post in posts:
        post.wall_incident_link = post.incident_id in openable  # type: ignore[attr-defined]
    if posts:
        for post_id, kind in Reaction.objects.filter(
            user_id=user.pk, post_id__in=list(mine)
        ).values_list("post_id", "kind"):
            mine[post_id].add(kind)
    for post in posts:
        post.wall_mine = mine[post.pk]  # type: ignore[attr-defined]
        post.wall_reactions = [  # type: ignore[attr-defined]
            {
                "kind": kind,
                "label": label,
                "count": getattr(post, counter),
                "pressed": kind in mine[post.pk],
            }
            for kind, label, counter in REACTIONS
        ]


def _trending(user: User) -> list[trending.TrendingTag]:
    return trending.trending_hashtags(timezone.now(), viewer=user)[:TRENDING_SHOWN]


def _timeline_page(
    request: HttpRequest, timeline: Timeline, *, form: PostForm | None = None
) -> HttpResponse:
    user = current_user(request)
    try:
        found = timelines.page(timeline.posts, cursor=request.GET.get("cursor") or None)
    except ValidationFailed:
        raise Http404("No such page of posts.") from None
    _mark_reactions(user, found.posts)
    if form is None:
        form = PostForm(user=user, initial={"body": timeline.composer_text})
    context = {
        "timeline": timeline,
        "posts": found.posts,
        "older_url": (
            f"{timeline.url}?{urlencode({'cursor': found.next_cursor})}"
            if found.next_cursor
            else None
        ),
        "first_url": timeline.url if request.GET.get("cursor") else None,
        "form": form,
        "trending": _trending(user),
        "leaders": reputation.leaders(user),
        "reputation": (
            reputation.summary(timeline.person, viewer=user) if timeline.person else None
        ),
        "badges": reputation.badges(timeline.person) if timeline.person else [],
        "my_department": user.department,
        # Only the first page gets new posts on top: an older page is not where they belong.
        "fragment_url": (
            ""
            if request.GET.get("cursor")
            else f"{reverse('wall:fragment')}?{urlencode(timeline.params)}"
        ),
        # Team posts come on the team's stream, which a connection asks for (staff hear every
        # post on theirs); the composer's teams are exactly the viewer's.
        "live_streams": (
            "" if is_staff(user) else " ".join(f"team:{team.pk}" for team in form.teams.values())
        ),
        "here": request.get_full_path() if request.method == "GET" else timeline.url,
        "is_staff": is_staff(user),
        "can_moderate": can_moderate(user),
    }
    return render(request, "wall/timeline.html", context, status=400 if form.is_bound else 200)


@login_required
@require_GET
@live_page
def home(request: HttpRequest) -> HttpResponse:
    return _timeline_page(request, _timeline(current_user(request), "home"))


@login_required
@require_GET
@live_page
def everyone(request: HttpRequest) -> HttpResponse:
    return _timeline_page(request, _timeline(current_user(request), "everyone"))


@login_required
@require_GET
@live_page
def mentions(request: HttpRequest) -> HttpResponse:
    return _timeline_page(request, _timeline(current_user(request), "mentions"))


@login_required
@require_GET
@live_page
def tag(request: HttpRequest, name: str) -> HttpResponse:
    return _timeline_page(request, _timeline(current_user(request), "tag", name))


@login_required
@require_GET
@live_page
def service(request: HttpRequest, slug: str) -> HttpResponse:
    return _timeline_page(request, _timeline(current_user(request), "service", slug))


@login_required
@require_GET
@live_page
def person(request: HttpRequest, person_id: int) -> HttpResponse:
    return _timeline_page(request, _timeline(current_user(request), "person", str(person_id)))


@login_required
@require_GET
@never_cache
def fragment(request: HttpRequest) -> HttpResponse:
    """The posts of a timeline newer than ``since`` (a post id), for wall-live.js: it asks when
    an event says a post was created and shows "N new posts" only if this answer has any, so
    whether a post belongs on the page is decided here, by the same timelines as the page."""
    user = current_user(request)
    key = request.GET.get("timeline", "")
    value = request.GET.get("name") or request.GET.get("slug") or request.GET.get("id") or ""
    timeline = _timeline(user, key, value)
    try:
        since = int(request.GET.get("since", "0"))
    except ValueError:
        since = 0
    # A conversation reads oldest first: its new replies go below, in the order written.
    keyset = timelines.OLDEST_FIRST if timeline.key == "thread" else timelines.NEWEST_FIRST
    posts = list(
        timeline.posts.filter(pk__gt=since)
        .prefetch_related("hashtags", "mentions", "media")
        .order_by(*keyset.fields)[:FRAGMENT_MAX]
    )
    _mark_reactions(user, posts)
    if timeline.root is not None:
        # New replies arrive with the asker's "Accept as answer", as on the page.
        _mark_answer_controls(user, posts, timeline.root)
    return render(
        request,
        "wall/fragment.html",
        {
            "posts": posts,
            "here": request.GET.get("here", reverse("wall:home")),
            "can_moderate": can_moderate(user),
        },
    )


# --- Posting ------------------------------------------------------------------------------------


def _tell_author(request: HttpRequest, post: Post, posted: str) -> None:
    if post.moderation == ModerationState.HELD:
        messages.info(request, "Your post waits for a moderator: it has a word they review.")
    else:
        messages.success(request, posted)
    if post.redactions:
        findings = tuple(Finding(**item) for item in post.redactions)
        messages.warning(request, Redacted("", findings).summary())


@login_required
@require_POST
def create(request: HttpRequest) -> HttpResponse:
    """The composer. A refusal re-renders the page it was on (``timeline``) with the errors.

    Its images are uploaded first, then posted by id, as the API does; a refused post (or
    image) removes the images stored for it."""
    user = current_user(request)
    form = PostForm(request.POST, request.FILES, user=user)
    if form.is_valid():
        images: list[MediaAttachment] = []
        try:
            images = media.do_upload_for_post(
                user,
                form.cleaned_data["images"],
                description=form.cleaned_data["image_description"],
            )
            post = actions.do_post(
                user,
                **form.post_arguments(),
                ip=client_address(request),
                media=[image.pk for image in images],
            )
        except DomainError as error:
            media.discard_uploads(user, images)
            form.add_domain_error(error)
        else:
            _tell_author(request, post, "Your post is on the wall.")
            return redirect(_safe_next(request, reverse("wall:home")))
    key = request.POST.get("timeline", "home")
    value = request.POST.get("timeline_value", "")
    return _timeline_page(request, _timeline(user, key, value), form=form)


# --- A thread -----------------------------------------------------------------------------------


def _thread_page(
    request: HttpRequest, post_id: int, bound: dict[str, ShellForm] | None = None
) -> HttpResponse:
    user = current_user(request)
    post = _post(user, post_id)
    root_id = post.thread_root_id or post.pk
    found = timelines.page(
        timelines.thread(user, post),
        cursor=request.GET.get("cursor") or None,
        limit=timelines.PAGE_MAX,
        keyset=timelines.OLDEST_FIRST,
    )
    posts = _arrange_answer(user, found.posts, root_id, first_page=not request.GET.get("cursor"))
    _mark_reactions(user, posts)
    _offer_solved(user, posts)
    bound = bound or {}
    context = {
        "post": post,
        "posts": posts,
        "root_id": root_id,
        "more_url": (
            f"{reverse('wall:post', args=[post.pk])}?{urlencode({'cursor': found.next_cursor})}"
            if found.next_cursor
            else None
        ),
        # New replies belong after the last one: only the last page of a thread is live.
        "fragment_url": (
            ""
            if found.next_cursor
            else f"{reverse('wall:fragment')}?{urlencode({'timeline': 'thread', 'id': root_id})}"
        ),
        # A thread has one audience: a team thread's replies come on the team's stream.
        "live_streams": f"team:{post.team_id}" if post.team_id and not is_staff(user) else "",
        "reply_form": bound.get("reply") or ReplyForm(),
        "report_form": bound.get("report"),
        "follow": _follow_offer(
            user, FollowKind.THREAD, root_id, str(root_id), "this conversation"
        ),
        # The thread's address, also when a refused reply renders it at the reply's address.
        "here": reverse("wall:post", args=[post.pk]),
        # "Promote to incident" and "Hide with a reason" links open their part of the page.
        "open_part": request.GET.get("open", ""),
        "is_staff": is_staff(user),
        "can_moderate": can_moderate(user),
    }
    if can_moderate(user):
        context.update(_staff_forms(user, post, bound))
        context["answer_draft"] = _answer_draft(posts)
    return render(request, "wall/thread.html", context, status=400 if bound else 200)


def _answer_draft(posts: list[Post]) -> dict[str, Any] | None:
    """For moderators: the knowledge-article draft of the thread's accepted answer, or the
    offer to draft one (acceptance proposes one; this covers a time without staff)."""
    from hashdesk.knowledge.actions import draft_of_answer

    accepted = next((item for item in posts if getattr(item, "wall_accepted", False)), None)
    if accepted is None:
        return None
    return {"article": draft_of_answer(accepted.pk)}


# How many posts of a burst the promote form offers to link along with the one promoted.
CLUSTER_MAX = 50


def _arrange_answer(user: User, posts: list[Post], root_id: int, *, first_page: bool) -> list[Post]:
    """The accepted answer comes first under the question (on the first page only: later
    pages leave it out), badged; the asker and moderators get "Accept as answer" on each other
    reply that may be the answer. Costs a query only when the answer is not on the page."""
    root = next((item for item in posts if item.pk == root_id), None)
    if root is None:
        return posts
    accepted_id = root.accepted_answer_id
    answer = next((item for item in posts if item.pk == accepted_id), None)
    posts = [item for item in posts if item.pk != accepted_id]
    if accepted_id and first_page:
        answer = answer or (
            visible_to(user, Post.objects.select_related("author", "service", "team", "incident"))
            .prefetch_related("hashtags", "mentions")
            .filter(pk=accepted_id)
            .first()
        )
        if answer is not None:
            posts.insert(posts.index(root) + 1, answer)
    if root.is_question:
        # A question's answers: accepted first, then by votes, then oldest (wall.questions).
        at = posts.index(root) + 1
        posts[at:] = questions.ordered_answers(posts[at:], accepted_id)
        voted = votes.voted_ids(user, posts[at:])
        for item in posts[at:]:
            item.wall_vote = {  # type: ignore[attr-defined]
                "offer": item.author_id != user.pk and item.moderation == ModerationState.VISIBLE,
                "pressed": item.pk in voted,
            }
    root.wall_may_mark = root.kind == PostKind.POST and (  # type: ignore[attr-defined]
        root.author_id == user.pk or is_staff(user)
    )
    _mark_answer_controls(user, posts, root)
    return posts


def _mark_answer_controls(user: User, posts: list[Post], root: Post) -> None:
    """Which of ``posts`` (of ``root``'s thread) are the accepted answer, and which the viewer
    may accept or withdraw: the asker and moderators decide, on a visible question."""
    accepted_id = root.accepted_answer_id
    root_id = root.pk
    deciding = can_accept_answers_for(user, root) and (
        root.is_question
        and root.kind == PostKind.POST
        and root.deleted_at is None
        and root.moderation == ModerationState.VISIBLE
    )
    for item in posts:
        item.wall_accepted = item.pk == accepted_id  # type: ignore[attr-defined]
        item.wall_may_unaccept = deciding and item.pk == accepted_id  # type: ignore[attr-defined]
        item.wall_may_accept = (  # type: ignore[attr-defined]
            deciding
            and item.thread_root_id == root_id
            and item.pk != accepted_id
            and item.author_id != root.author_id
            and item.deleted_at is None
            and item.moderation == ModerationState.VISIBLE
        )


def _offer_solved(user: User, posts: list[Post]) -> None:
    """ "Solved it for me too" on the accepted answer, for everyone but its author and the
    asker (wall.answers.check_solved decides; this only chooses whom to offer the button)."""
    asker_ids = {item.pk: item.author_id for item in posts if not item.thread_root_id}
    for item in posts:
        if getattr(item, "wall_accepted", False):
            asker_id = asker_ids.get(item.thread_root_id or 0)
            item.wall_solved = {  # type: ignore[attr-defined]
                "offer": user.pk not in (item.author_id, asker_id),
                "count": item.solved_count,
                "pressed": ReactionKind.SOLVED in item.wall_mine,  # type: ignore[attr-defined]
            }


def _promotable_similar(user: User, post: Post) -> list[Post]:
    """The burst this post belongs to: recent posts like it (on its service, when it has one)
    not yet about an incident — offered, ticked, to link along with it in one click."""
    found = similar.similar_posts(
        user, post.body, timezone.now(), service=post.service, limit=CLUSTER_MAX + 1
    )
    cluster = [item.post for item in found if item.post.pk != post.pk and not item.post.incident_id]
    return cluster[:CLUSTER_MAX]


def _staff_forms(user: User, post: Post, bound: dict[str, ShellForm]) -> dict[str, Any]:
    """The moderator's controls for ``post``: promote it to an incident, hide or release it."""
    forms: dict[str, Any] = {"hide_form": None, "promote_form": None}
    if post.deleted_at is None and not post.incident_id:
        forms["promote_form"] = bound.get("promote") or PromoteForm(
            user=user, post=post, similar=_promotable_similar(user, post)
        )
    if post.moderation == ModerationState.VISIBLE and post.deleted_at is None:
        forms["hide_form"] = bound.get("hide") or HideForm()
    return forms


@login_required
@require_GET
@live_page
def thread(request: HttpRequest, post_id: int) -> HttpResponse:
    return _thread_page(request, post_id)


@login_required
@require_POST
def reply(request: HttpRequest, post_id: int) -> HttpResponse:
    user = current_user(request)
    parent = _post(user, post_id)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            post = actions.do_post(
                user, body=form.cleaned_data["body"], reply_to=parent, ip=client_address(request)
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            _tell_author(request, post, "Your reply is posted.")
            return redirect(f"{reverse('wall:post', args=[parent.pk])}#post-{post.pk}")
    return _thread_page(request, post_id, {"reply": form})


@login_required
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, post_id: int) -> HttpResponse:
    """Ask the moderators to look at a post: the thread page with the report form open."""
    user = current_user(request)
    post = _post(user, post_id)
    form = ReportForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            actions.do_report_post(user, post, form.cleaned_data["reason"])
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, "Thank you. A moderator will look at the post.")
            return redirect(reverse("wall:post", args=[post.pk]))
    if request.method == "GET":
        return render(request, "wall/report.html", {"post": post, "form": form})
    return render(request, "wall/report.html", {"post": post, "form": form}, status=400)


# --- Staff: promote to an incident, moderation -------------------------------------------------


@login_required
@require_POST
def promote(request: HttpRequest, post_id: int) -> HttpResponse:
    """Record an incident from this post (and chosen similar posts); staff only (the action
    decides: anyone else gets the action's 403)."""
    user = current_user(request)
    post = _post(user, post_id)
    if not can_moderate(user):
        raise PermissionDenied("Only the service desk records incidents from posts.")
    form = PromoteForm(request.POST, user=user, post=post, similar=_promotable_similar(user, post))
    if form.is_valid():
        also = [
            found
            for found in visible_to(user, Post.objects.all())
            .in_bulk(form.cleaned_data.get("also") or [])
            .values()
            if found.pk != post.pk
        ]
        try:
            incident = actions.do_promote_to_incident(
                user,
                [post, *also],
                title=form.cleaned_data["title"],
                service=form.cleaned_data["service"],
                description=form.cleaned_data["description"],
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            count = 1 + len(also)
            messages.success(
                request,
                f"{incident.number} is recorded from {count} "
                f"{'post' if count == 1 else 'posts'}; their authors are affected users.",
            )
            return redirect(reverse("incidents:detail", args=[incident.number]))
    return _thread_page(request, post_id, {"promote": form})


@login_required
@require_POST
def moderate(request: HttpRequest, post_id: int) -> HttpResponse:
    """A moderator's decision on a post: ``hide`` (with a reason), ``unhide`` or ``approve``."""
    user = current_user(request)
    post = _post(user, post_id)
    decision = request.POST.get("decision", "")
    form = HideForm(request.POST)
    try:
        if decision == "hide":
            if not form.is_valid():
                return _thread_page(request, post_id, {"hide": form})
            actions.do_hide_post(user, post, form.cleaned_data["reason"])
            messages.success(request, "The post is hidden from everyone but the service desk.")
        elif decision == "unhide":
            actions.do_unhide_post(user, post)
            messages.success(request, "The post is visible again.")
        elif decision == "approve":
            actions.do_approve_held_post(user, post)
            messages.success(request, "The post is approved and on the wall.")
        else:
            raise ValidationFailed("Choose hide, unhide or approve.", field="decision")
    except DomainError as error:
        raise_if_forbidden(error)
        if decision == "hide":
            form.add_domain_error(error)
            return _thread_page(request, post_id, {"hide": form})
        messages.error(request, error.detail)
    return redirect(_safe_next(request, reverse("wall:post", args=[post.pk])))


@login_required
@require_GET
def moderation_queue(request: HttpRequest) -> HttpResponse:
    """Held posts and posts with open reports (moderators; anyone else is refused)."""
    user = current_user(request)
    if not can_moderate(user):
        raise PermissionDenied("Only moderators see the moderation queue.")
    found = timelines.page(
        timelines.moderation_queue(user),
        cursor=request.GET.get("cursor") or None,
        limit=timelines.PAGE_MAX,
    )
    _mark_reactions(user, found.posts)
    reports: dict[int, list[PostReport]] = {post.pk: [] for post in found.posts}
    for report in PostReport.objects.filter(
        post_id__in=list(reports), state=ReportState.OPEN
    ).select_related("reporter"):
        reports[report.post_id].append(report)
    for post in found.posts:
        post.wall_open_reports = reports[post.pk]  # type: ignore[attr-defined]
    return render(
        request,
        "wall/moderation.html",
        {
            "posts": found.posts,
            "older_url": (
                f"{request.path}?{urlencode({'cursor': found.next_cursor})}"
                if found.next_cursor
                else None
            ),
            "here": request.path,
            "can_moderate": True,
        },
    )


@login_required
@require_POST
def resolve_report(request: HttpRequest, report_id: int) -> HttpResponse:
    """Decide an open report from the queue: ``hide`` the post or ``dismiss`` the report."""
    user = current_user(request)
    if not can_moderate(user):
        raise PermissionDenied("Only moderators resolve reports.")
    report = PostReport.objects.filter(pk=report_id).first()
    if report is None:
        raise Http404("No such report.")
    hide = request.POST.get("decision") == "hide"
    try:
        actions.do_resolve_report(user, report, hide=hide, reason=request.POST.get("reason", ""))
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        messages.success(request, "The post is hidden." if hide else "The report is dismissed.")
    return redirect(reverse("wall:moderation"))


# --- Reactions and follows ----------------------------------------------------------------------


@login_required
@require_POST
def accept(request: HttpRequest, post_id: int) -> HttpResponse:
    """Accept a reply as its conversation's answer (``on=yes``) or withdraw the acceptance
    (``on=no``); a refusal re-renders the conversation with the reason (status 400)."""
    user = current_user(request)
    post = _post(user, post_id)
    root_id = post.thread_root_id or post.pk
    try:
        if request.POST.get("on", "yes") != "no":
            answers.do_accept_answer(user, post)
            messages.success(request, "The reply is marked as the accepted answer.")
        else:
            answers.do_unaccept_answer(user, post)
            messages.success(request, "The answer is no longer marked as accepted.")
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
        response = _thread_page(request, root_id)
        response.status_code = 400
        return response
    return redirect(f"{reverse('wall:post', args=[root_id])}#post-{post.pk}")


@login_required
@require_POST
def react(request: HttpRequest, post_id: int) -> HttpResponse:
    """One reaction button: ``kind`` and ``on`` (yes to react, no to take it back)."""
    user = current_user(request)
    post = _post(user, post_id)
    kind = request.POST.get("kind", "")
    try:
        if request.POST.get("on", "yes") != "no":
            actions.do_react(user, post, kind)
        else:
            actions.do_unreact(user, post, kind)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    return redirect(f"{_safe_next(request, reverse('wall:post', args=[post.pk]))}#post-{post.pk}")


def _follow_target(user: User, kind: str, value: str) -> Service | Hashtag | User | Post:
    """What a follow button names, through visibility: unknown and unseen are 404."""
    if kind == FollowKind.SERVICE:
        return _service(user, value)
    if kind == FollowKind.HASHTAG:
        tag = Hashtag.objects.filter(name=_tag_name(value)).first()
        if tag is None:
            raise Http404("No such hashtag.")
        return tag
    if not value.isdigit():
        raise Http404("Nothing to follow.")
    if kind == FollowKind.PERSON:
        return _person(user, int(value))
    if kind == FollowKind.THREAD:
        return _post(user, int(value))
    raise Http404("Nothing to follow.")


@login_required
@require_POST
def follow(request: HttpRequest) -> HttpResponse:
    """Follow (``follow=yes``) or stop following (``follow=no``) a service, hashtag, person or
    thread; back to the page the button was on."""
    user = current_user(request)
    kind = request.POST.get("kind", "")
    target = _follow_target(user, kind, request.POST.get("target", ""))
    label = request.POST.get("label", "") or "it"
    try:
        if request.POST.get("follow", "yes") != "no":
            actions.do_follow(user, kind, target)
            messages.success(request, f"You follow {label}: new posts come to your wall.")
        else:
            actions.do_unfollow(user, kind, target)
            messages.success(request, f"You no longer follow {label}.")
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    return redirect(_safe_next(request, reverse("wall:home")))


# --- "Is it just me?" ---------------------------------------------------------------------------


@login_required
@require_GET
@never_cache
def suggestions(request: HttpRequest) -> JsonResponse:
    """What compose.js shows while someone types: the service the draft is about, its open
    incidents (with the incident's own "me too"), similar recent posts and the report rate."""
    user = current_user(request)
    text = request.GET.get("text", "")[:BODY_MAX]
    found = similar.is_it_just_me(user, text, timezone.now())
    return JsonResponse(
        {
            "service": (
                {
                    "name": found.service.name,
                    "url": reverse("wall:service", args=[found.service.slug]),
                }
                if found.service is not None
                else None
            ),
            "incidents": [
                {
                    "number": incident.number,
                    "title": incident.title,
                    "state": incident.get_state_display(),
                    "url": reverse("incidents:detail", args=[incident.number]),
                    "me_too_url": reverse("incidents:me-too", args=[incident.number]),
                }
                for incident in found.incidents
            ],
            "similar": [
                {
                    "author": item.post.author.display_name,
                    "text": item.post.body[:200],
                    "url": reverse("wall:post", args=[item.post.pk]),
                }
                for item in found.similar
            ],
            "rate": str(found.rate) if found.rate is not None else None,
        }
    )
