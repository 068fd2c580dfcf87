"""Every change on the wall (docs/wall.md).

Each ``do_*`` checks permission (hashdesk.core.visibility), validates, and writes inside one
transaction: the change, an audit row and a ``wall_post`` event on the streams of the post's
audience. A post's text is redacted (hashdesk.core.redaction) before anything else reads it, so
the original never reaches the database, the audit trail or an event.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from hashdesk.accounts.models import Team, User
from hashdesk.audit import trail
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.core import ratelimit, streams
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.events import send_event
from hashdesk.core.redaction import redact
from hashdesk.core.visibility import can_moderate, can_view, is_signed_in, is_staff, visible_to
from hashdesk.incidents.choices import FINAL_STATES, Channel
from hashdesk.incidents.models import Incident, TimelineEntry
from hashdesk.notify.actions import Notice, do_notify_many, do_send_notices
from hashdesk.wall import parsing
from hashdesk.wall.choices import (
    FollowKind,
    ModerationState,
    PostKind,
    PostVisibility,
    ReactionKind,
    ReportState,
    WatchedWordAction,
)
from hashdesk.wall.events import WallPostEvent
from hashdesk.wall.models import (
    BODY_MAX,
    Follow,
    Hashtag,
    MediaAttachment,
    Post,
    PostReport,
    PostRevision,
    Reaction,
    WatchedWord,
)

REASON_MAX = 500
WORD_MAX = 100
# Notifying is per person; a post naming more people than this notifies the first ones only.
MENTION_NOTIFY_MAX = 20
POST_URL = "/wall/posts/{pk}/"

_COUNTERS: dict[str, str] = {
    ReactionKind.LIKE: "like_count",
    ReactionKind.ME_TOO: "me_too_count",
    ReactionKind.THANKS: "thanks_count",
    ReactionKind.SOLVED: "solved_count",
}


# --- Snapshots and publishing -------------------------------------------------------------------


def post_snapshot(
    post: Post,
    *,
    tag_names: Sequence[str] | None = None,
    media: Sequence[MediaAttachment] | None = None,
) -> dict[str, Any]:
    """The post as events show it: redacted text, ids and counts, nothing of its moderation.

    ``tag_names`` and ``media``: the post's hashtags and images when the caller knows them
    (saves a query each).
    """
    from hashdesk.wall.media import media_snapshot

    incident = post.incident if post.incident_id else None
    if tag_names is None:
        tag_names = [tag.name for tag in post.hashtags.all()]
    if media is None:
        media = list(post.media.all())
    return {
        "id": post.pk,
        "kind": post.kind,
        "author": {"id": post.author_id, "name": post.author.display_name},
        "body": post.body,
        "body_html": post.body_html,
        "hashtags": sorted(tag_names),
        "service_id": post.service_id,
        "visibility": post.visibility,
        "team_id": post.team_id,
        "reply_to_id": post.reply_to_id,
        "thread_root_id": post.thread_root_id,
        "incident": (
            {"id": incident.pk, "number": incident.number}
            if incident is not None and incident.visibility != Visibility.CONFIDENTIAL
            else None
        ),
        "is_pinned": post.is_pinned,
        "media": [media_snapshot(image) for image in media],
        "accepted_answer_id": post.accepted_answer_id,
        "is_question": post.is_question,
        # On an answer: its up-votes (wall.votes), for live counts.
        "vote_count": post.vote_count,
        "counts": counts(post),
        "created_at": post.created_at.isoformat(),
        "edited_at": post.edited_at.isoformat() if post.edited_at else None,
    }


def counts(post: Post) -> dict[str, int]:
    return {
        "replies": post.reply_count,
        "like": post.like_count,
        "me_too": post.me_too_count,
        "thanks": post.thanks_count,
        "solved": post.solved_count,
    }


def post_streams(post: Post) -> list[str]:
    """Who may hear about ``post``: staff always; members or its team when they may see it.

    A held post reaches its author and staff; a post of a confidential service or incident,
    staff only (the same rules as wall.visibility, decided here per stream).
    """
    names = {streams.STAFF}
    if post.deleted_at is not None or post.moderation == ModerationState.HIDDEN:
        return sorted(names)
    if post.moderation == ModerationState.HELD:
        names.add(streams.user(post.author_id))
        return sorted(names)
    if post.service is not None and post.service.visibility == Visibility.CONFIDENTIAL:
        return sorted(names)
    if post.incident is not None and post.incident.visibility == Visibility.CONFIDENTIAL:
        return sorted(names)
    if post.visibility == PostVisibility.TEAM and post.team_id:
        names.add(streams.team(post.team_id))
    else:
        names.add(streams.MEMBERS)
    return sorted(names)


def _audience_streams(post: Post) -> list[str]:
    """The streams the post would reach if it were visible (for telling them it is gone)."""
    if post.visibility == PostVisibility.TEAM and post.team_id:
        return sorted({streams.STAFF, streams.team(post.team_id)})
    return sorted({streams.STAFF, streams.MEMBERS})


def _publish(post: Post, op: str, *, tag_names: Sequence[str] | None = None) -> None:
    send_event(
        WallPostEvent(op=op, post=post_snapshot(post, tag_names=tag_names)),
        streams=post_streams(post),
    )


def _publish_removal(post: Post) -> None:
    """Tell everyone who may have the post on screen that it is gone: its id and nothing else."""
    send_event(
        WallPostEvent(op="delete", post={"id": post.pk, "thread_root_id": post.thread_root_id}),
        streams=_audience_streams(post),
    )


# --- Shared checks ------------------------------------------------------------------------------


def _require_signed_in(actor: User | None) -> User:
    if actor is None or not is_signed_in(actor):
        raise Forbidden("Sign in to use the wall.")
    return actor


def _require_visible(actor: User, post: Post) -> None:
    if not can_view(actor, post):
        raise NotFound("No such post.")


def _require_moderator(actor: User | None, what: str) -> User:
    if actor is None or not can_moderate(actor):
        raise Forbidden(f"Only moderators can {what}.")
    return actor


def _require_author_or_staff(actor: User, post: Post, what: str) -> None:
    _require_visible(actor, post)
    if post.deleted_at is not None:
        raise NotFound("No such post.")
    if post.author_id != actor.pk and not is_staff(actor):
        raise Forbidden(f"Only the author or service desk staff can {what} this post.")


def _lock(post: Post) -> Post:
    return (
        Post.objects.select_for_update(of=("self",))
        .select_related("author", "service", "incident", "team")
        .get(pk=post.pk)
    )


def _check_body(body: str | None, *, allow_empty: bool = False) -> str:
    """The text, stripped; blank only when ``allow_empty`` (a post of images alone)."""
    text = (body or "").strip()
    if not text and not allow_empty:
        raise ValidationFailed("Write something to post.", field="body")
    if len(text) > BODY_MAX:
        raise ValidationFailed(f"A post is at most {BODY_MAX} characters.", field="body")
    return text


def watched_patterns() -> list[tuple[re.Pattern[str], str]]:
    """The watched words as patterns with their action (one query; a batch reads them once)."""
    patterns = []
    for word, action in WatchedWord.objects.values_list("word", "action"):
        # Any run of spaces between a phrase's words matches: doubling one is no way around it.
        phrase = r"\s+".join(re.escape(part) for part in word.split())
        patterns.append((re.compile(rf"(?<!\w){phrase}(?!\w)", flags=re.IGNORECASE), action))
    return patterns


def _watched(
    text: str, patterns: Sequence[tuple[re.Pattern[str], str]] | None = None
) -> str | None:
    """The strongest action of the watched words in ``text`` (block before hold), or None."""
    found: str | None = None
    for pattern, action in watched_patterns() if patterns is None else patterns:
        if pattern.search(text):
            if action == WatchedWordAction.BLOCK:
                return WatchedWordAction.BLOCK
            found = WatchedWordAction.HOLD
    return found


class _Parsed:
    """A post's text after redaction and parsing: what the post stores and who it names."""

    def __init__(self, actor: User, body: str | None) -> None:
        redacted = redact(_check_body(body))
        self.body = redacted.text
        self.redactions = [
            {"kind": finding.kind, "count": finding.count, "label": finding.label}
            for finding in redacted.findings
        ]
        # Redaction may shorten or lengthen the text; the stored text must still fit.
        if len(self.body) > BODY_MAX:
            raise ValidationFailed(f"A post is at most {BODY_MAX} characters.", field="body")
        self.watched = _watched(self.body)
        if self.watched == WatchedWordAction.BLOCK:
            # The list is not shown: naming the word would tell people how to get around it.
            raise ValidationFailed("This post contains a word that is not allowed.", field="body")
        self.tags = _hashtags(parsing.hashtags(self.body))
        self.people = parsing.resolve_handles(parsing.handles(self.body))
        self.body_html = parsing.render(
            self.body, tag_names=[tag.name for tag in self.tags], people=self.people
        )
        self.service = _bound_service(actor, self.tags)


def _hashtags(names: Sequence[str]) -> list[Hashtag]:
    """Hashtag rows for ``names`` (created as needed), each bound to the service of that tag.

    Services' hashtags are kept in step here, lazily: a tag first seen, or a service created
    or renamed since, gets its ``service`` when a post uses it.
    """
    if not names:
        return []
    existing = {tag.name: tag for tag in Hashtag.objects.filter(name__in=names)}
    services = {
        service.hashtag: service
        for service in Service.objects.filter(hashtag__in=names, is_active=True)
    }
    tags = []
    for name in names:
        service = services.get(name)
        tag = existing.get(name)
        if tag is None:
            # get_or_create: another post may be creating the same new tag right now.
            tag, _ = Hashtag.objects.get_or_create(name=name, defaults={"service": service})
        elif service is not None and tag.service_id != service.pk:
            # The service's hashtag changed hands: unbind the old row first (one-to-one).
            Hashtag.objects.filter(service=service).exclude(pk=tag.pk).update(service=None)
            tag.service = service
            tag.save(update_fields=["service"])
        elif service is None and tag.service_id is not None:
            # The service took another hashtag or was retired: this tag is a free topic now.
            tag.service = None
            tag.save(update_fields=["service"])
        tags.append(tag)
    return tags


def _bound_service(actor: User, tags: Sequence[Hashtag]) -> Service | None:
    """The first service hashtag of the post that ``actor`` may see binds it to that service.

    A tag of a service the author may not see stays a plain topic: binding would hide the
    post from its own author and tell them nothing they are entitled to know.
    """
    service_ids = [tag.service_id for tag in tags if tag.service_id]
    if not service_ids:
        return None
    visible = {
        service.pk: service
        for service in visible_to(actor, Service.objects.filter(pk__in=service_ids))
    }
    for pk in service_ids:
        if pk in visible:
            return visible[pk]
    return None


def _notify_mentions(post: Post, people: Iterable[User], actor: User) -> None:
    """Notify the people the post names who may read it (never the author themselves)."""
    if post.moderation != ModerationState.VISIBLE:
        return
    recipients = [
        person
        for person in list(people)[:MENTION_NOTIFY_MAX]
        if person.pk != actor.pk and can_view(person, post)
    ]
    _tell_mentioned(post, recipients, actor)


def _tell_mentioned(post: Post, recipients: Sequence[User], actor: User) -> None:
    """The mention notice itself, to people already known to be allowed to read the post."""
    do_send_notices(mention_notices(post, recipients, actor))


def mention_notices(post: Post, recipients: Sequence[User], actor: User) -> list[Notice]:
    """What each person ``post`` names is told (they are known to be allowed to read it)."""
    title = f"{actor.display_name} mentioned you on the wall"
    url = POST_URL.format(pk=post.pk)
    return [
        Notice(recipient=person, kind="wall.mention", title=title, body=post.body[:280], url=url)
        for person in {person.pk: person for person in recipients}.values()
    ]


def reply_notices(
    posts: Sequence[Post], author: User, mentioned: set[tuple[int, int]]
) -> list[Notice]:
    """What the authors of the posts that ``posts`` reply to are told ("wall.reply"), one notice
    a reply: never for a reply to oneself, never when the reply already mentions them (their
    mention notice says it: ``mentioned`` holds the (person, post) pairs told so), and only
    when they may read the reply. A query for the authors and one per author for visibility."""
    replies = [
        post
        for post in posts
        if post.reply_to is not None
        and post.moderation == ModerationState.VISIBLE
        and post.reply_to.author_id != author.pk
        and (post.reply_to.author_id, post.pk) not in mentioned
    ]
    if not replies:
        return []
    people = User.objects.filter(is_active=True).in_bulk(
        {post.reply_to.author_id for post in replies if post.reply_to is not None}
    )
    readable: set[tuple[int, int]] = set()
    for person in people.values():
        theirs = [
            p.pk for p in replies if p.reply_to is not None and p.reply_to.author_id == person.pk
        ]
        seen = visible_to(person, Post.objects.filter(pk__in=theirs)).values_list("pk", flat=True)
        readable.update((person.pk, pk) for pk in seen)
    title = f"{author.display_name} replied to your post"
    return [
        Notice(
            recipient=people[post.reply_to.author_id],
            kind="wall.reply",
            title=title,
            body=post.body[:280],
            url=POST_URL.format(pk=post.pk),
        )
        for post in replies
        if post.reply_to is not None and (post.reply_to.author_id, post.pk) in readable
    ]


def _notify_moderators(post: Post) -> None:
    from hashdesk.incidents.major import staff_people

    do_notify_many(
        staff_people(),
        kind="wall.held",
        title="A post is held for review",
        body=post.body[:280],
        url=POST_URL.format(pk=post.pk),
    )


def _apply(post: Post, parsed: _Parsed) -> None:
    post.body = parsed.body
    post.body_html = parsed.body_html
    post.redactions = parsed.redactions


# --- Posts --------------------------------------------------------------------------------------


def do_post(
    actor: User | None,
    *,
    body: str,
    reply_to: Post | None = None,
    visibility: str = PostVisibility.PUBLIC,
    team: Team | None = None,
    source: str = "web",
    ip: str | None = None,
    media: Sequence[int] = (),
    question: bool = False,
) -> Post:
    """Post ``body`` (or reply to ``reply_to``). Rate limited per person and per address.
    ``question``: a first post asking for help (wall.questions); ignored on a reply.

    ``media``: ids of the author's unattached images (wall.media), at most four; with any,
    ``body`` may be empty. The returned post's ``redactions`` tell the author what was removed
    before storing.
    A batch of one (wall/ingest.py creates every post), with errors naming the field alone
    (``body``), as a form or a single API request expects.
    """
    # Imported here: ingest builds on this module's checks, snapshots and notifications.
    from hashdesk.wall.ingest import NewPost, ingest

    author = _require_signed_in(actor)
    # Counted before anything else: a refused post still counts against a flood.
    ratelimit.hit("wall_post", str(author.pk))
    if ip:
        ratelimit.hit("wall_post_ip", ip)
    item = NewPost(
        body=body,
        reply_to=reply_to,
        visibility=visibility,
        team=team,
        media=media,
        question=question,
    )
    post = ingest(author, [item], source=source, indexed_fields=False)[0]
    # A post matching a known error is answered with its workaround, after commit.
    from hashdesk.problems.hooks import post_created

    post_created(post)
    return post


@transaction.atomic
def do_edit_post(actor: User | None, post: Post, *, body: str) -> Post:
    """Change a post's text (author or staff); the previous text is kept as a revision."""
    editor = _require_signed_in(actor)
    _require_author_or_staff(editor, post, "edit")
    post = _lock(post)
    parsed = _Parsed(post.author, body)
    if parsed.body == post.body:
        post.redactions = parsed.redactions
        return post
    PostRevision.objects.create(post=post, body=post.body, edited_by=editor)
    before_mentions = set(post.mentions.values_list("pk", flat=True))
    _apply(post, parsed)
    post.edited_at = timezone.now()
    fields = ["body", "body_html", "redactions", "edited_at"]
    if post.kind == PostKind.POST and parsed.service is not None:
        post.service = parsed.service
        fields.append("service")
    held = (
        parsed.watched == WatchedWordAction.HOLD
        and not can_moderate(editor)
        and post.moderation == ModerationState.VISIBLE
    )
    if held:
        post.moderation = ModerationState.HELD
        post.moderation_reason = "Contains a watched word"
        fields += ["moderation", "moderation_reason"]
    post.save(update_fields=fields)
    post.hashtags.set(parsed.tags)
    post.mentions.set(parsed.people.values())
    trail.record(
        actor=editor,
        action="wall.edit",
        obj=post,
        after={"redactions": post.redactions, "moderation": post.moderation},
    )
    if held:
        _publish_removal(post)
        _publish(post, "held")
        _notify_moderators(post)
    else:
        _publish(post, "update")
        new_people = [p for p in parsed.people.values() if p.pk not in before_mentions]
        _notify_mentions(post, new_people, editor)
    return post


@transaction.atomic
def do_delete_post(actor: User | None, post: Post, *, reason: str = "") -> Post:
    """Soft delete (author or staff): the post leaves every timeline; the row stays for audit."""
    deleter = _require_signed_in(actor)
    _require_author_or_staff(deleter, post, "delete")
    post = _lock(post)
    post.deleted_at = timezone.now()
    post.is_pinned = False
    post.save(update_fields=["deleted_at", "is_pinned"])
    _void_answer_awards(post, deleted=True)
    if post.reply_to_id:
        Post.objects.filter(pk=post.reply_to_id, reply_count__gt=0).update(
            reply_count=F("reply_count") - 1
        )
    trail.record(
        actor=deleter,
        action="wall.delete",
        obj=post,
        after={"reason": reason[:REASON_MAX], "by_author": deleter.pk == post.author_id},
    )
    _publish_removal(post)
    return post


def _void_answer_awards(post: Post, *, deleted: bool) -> None:
    """A removed reply earns no more reputation (wall.answers); only replies can be answers."""
    if post.thread_root_id:
        from hashdesk.wall import answers

        answers.void_awards_of_removed(post, deleted=deleted)


# --- Reactions ----------------------------------------------------------------------------------


def _check_reaction(kind: str) -> str:
    if kind not in ReactionKind.values:
        raise ValidationFailed(f"Unknown reaction {kind!r}.", field="kind")
    return kind


@transaction.atomic
def do_react(actor: User | None, post: Post, kind: str) -> Reaction:
    """Like, thank, or say "me too". Me too on a post about an incident makes the person an
    affected user of it, and a follower (incidents.actions.do_add_affected_user)."""
    person = _require_signed_in(actor)
    _check_reaction(kind)
    _require_visible(person, post)
    if post.deleted_at is not None:
        raise NotFound("No such post.")
    if kind == ReactionKind.SOLVED:
        # "Solved it for me too" earns the answer's author reputation (wall.answers).
        from hashdesk.wall import answers

        _asker_id, question_service_id = answers.check_solved(person, post)
    if Reaction.objects.filter(post=post, user=person, kind=kind).exists():
        raise Conflict("You already reacted this way.", field="kind")
    reaction = Reaction.objects.create(post=post, user=person, kind=kind)
    Post.objects.filter(pk=post.pk).update(**{_COUNTERS[kind]: F(_COUNTERS[kind]) + 1})
    if kind == ReactionKind.SOLVED:
        answers.earn_solved(person, post, question_service_id)
    post = Post.objects.select_related("author", "service", "incident", "team").get(pk=post.pk)
    if kind == ReactionKind.ME_TOO and post.incident is not None:
        _affected_by_incident(person, post.incident)
    trail.record(actor=person, action="wall.react", obj=post, after={"kind": kind})
    _publish(post, "reaction")
    return reaction


def _affected_by_incident(person: User, incident: Incident) -> None:
    from hashdesk.incidents import actions as incident_actions
    from hashdesk.incidents.models import AffectedUser

    if incident.state in FINAL_STATES:
        return
    if AffectedUser.objects.filter(incident=incident, user=person).exists():
        return
    # Seeing the post about the incident is what entitles a person to say they are affected,
    # even when they could not open the (internal) incident itself: then the wall acts for them.
    actor = person if can_view(person, incident) else None
    incident_actions.do_add_affected_user(actor, incident, person, channel=Channel.WALL)


@transaction.atomic
def do_unreact(actor: User | None, post: Post, kind: str) -> None:
    """Take a reaction back. An affected user stays affected: they may still be."""
    person = _require_signed_in(actor)
    _check_reaction(kind)
    _require_visible(person, post)
    deleted, _ = Reaction.objects.filter(post=post, user=person, kind=kind).delete()
    if not deleted:
        raise NotFound("You have not reacted this way.", field="kind")
    Post.objects.filter(pk=post.pk, **{f"{_COUNTERS[kind]}__gt": 0}).update(
        **{_COUNTERS[kind]: F(_COUNTERS[kind]) - 1}
    )
    if kind == ReactionKind.SOLVED:
        from hashdesk.wall import answers

        answers.void_solved(person, post)
    post = Post.objects.select_related("author", "service", "incident", "team").get(pk=post.pk)
    trail.record(actor=person, action="wall.unreact", obj=post, before={"kind": kind})
    _publish(post, "reaction")


# --- Follows ------------------------------------------------------------------------------------


def _follow_target(actor: User, kind: str, target: Any) -> int:
    """The id to store for following ``target`` of ``kind``; NotFound for what one may not see."""
    if kind == FollowKind.SERVICE and isinstance(target, Service):
        if not can_view(actor, target):
            raise NotFound("No such service.")
        return target.pk
    if kind == FollowKind.HASHTAG and isinstance(target, Hashtag):
        return target.pk
    if kind == FollowKind.PERSON and isinstance(target, User):
        if not target.is_active:
            raise NotFound("No such person.")
        if target.pk == actor.pk:
            raise ValidationFailed("You see your own posts already.", field="target")
        return target.pk
    if kind == FollowKind.THREAD and isinstance(target, Post):
        if not can_view(actor, target) or target.deleted_at is not None:
            raise NotFound("No such post.")
        # Following any post of a thread follows the whole thread.
        return target.thread_root_id or target.pk
    raise ValidationFailed(f"Cannot follow that as a {kind}.", field="kind")


@transaction.atomic
def do_follow(actor: User | None, kind: str, target: Any) -> Follow:
    person = _require_signed_in(actor)
    target_id = _follow_target(person, kind, target)
    follow, created = Follow.objects.get_or_create(user=person, kind=kind, target_id=target_id)
    if not created:
        raise Conflict(f"You already follow this {kind}.")
    trail.record(
        actor=person, action="wall.follow", obj=follow, after={"kind": kind, "target": target_id}
    )
    return follow


@transaction.atomic
def do_unfollow(actor: User | None, kind: str, target: Any) -> None:
    person = _require_signed_in(actor)
    if kind not in FollowKind.values or target is None or target.pk is None:
        raise ValidationFailed(f"Cannot follow that as a {kind}.", field="kind")
    target_id = target.pk
    if kind == FollowKind.THREAD and isinstance(target, Post):
        target_id = target.thread_root_id or target.pk
    deleted, _ = Follow.objects.filter(user=person, kind=kind, target_id=target_id).delete()
    if not deleted:
        raise NotFound(f"You do not follow this {kind}.")
    trail.record(
        actor=person,
        action="wall.unfollow",
        object_type="wall.follow",
        before={"kind": kind, "target": target_id},
    )


# --- Moderation ---------------------------------------------------------------------------------


def _reason(text: str | None) -> str:
    reason = (text or "").strip()
    if not reason:
        raise ValidationFailed("Give a reason.", field="reason")
    if len(reason) > REASON_MAX:
        raise ValidationFailed(f"A reason is at most {REASON_MAX} characters.", field="reason")
    return reason


def _report_snapshot(report: PostReport) -> dict[str, Any]:
    return {
        "id": report.pk,
        "post_id": report.post_id,
        "reporter_id": report.reporter_id,
        "reason": report.reason,
        "state": report.state,
        "created_at": report.created_at.isoformat(),
    }


@transaction.atomic
def do_report_post(actor: User | None, post: Post, reason: str) -> PostReport:
    """Ask the moderators to look at a post one can see (once per person and post)."""
    person = _require_signed_in(actor)
    _require_visible(person, post)
    text = _reason(reason)
    if PostReport.objects.filter(post=post, reporter=person).exists():
        raise Conflict("You already reported this post.")
    report = PostReport.objects.create(post=post, reporter=person, reason=text)
    trail.record(actor=person, action="wall.report", obj=report, after={"post_id": post.pk})
    # The moderators' queue, live; reports are never shown to the post's other readers.
    send_event(
        WallPostEvent(op="report", post={"id": post.pk}, report=_report_snapshot(report)),
        streams=[streams.STAFF],
    )
    return report


def _resolve_open_reports(moderator: User, post: Post, state: str) -> int:
    return PostReport.objects.filter(post=post, state=ReportState.OPEN).update(
        state=state, resolved_by=moderator, resolved_at=timezone.now()
    )


@transaction.atomic
def do_hide_post(moderator: User | None, post: Post, reason: str) -> Post:
    """Hide a post from everyone but staff, with the reason; its open reports are resolved."""
    staff = _require_moderator(moderator, "hide posts")
    text = _reason(reason)
    post = _lock(post)
    if post.moderation == ModerationState.HIDDEN:
        raise Conflict("This post is already hidden.")
    before = post.moderation
    post.moderation = ModerationState.HIDDEN
    post.moderation_reason = text
    post.is_pinned = False
    post.save(update_fields=["moderation", "moderation_reason", "is_pinned"])
    _void_answer_awards(post, deleted=False)
    resolved = _resolve_open_reports(staff, post, ReportState.HIDDEN)
    trail.record(
        actor=staff,
        action="wall.hide",
        obj=post,
        before={"moderation": before},
        after={"moderation": post.moderation, "reason": text, "reports_resolved": resolved},
    )
    _publish_removal(post)
    return post


def _release(moderator: User | None, post: Post, *, was: str, action: str, what: str) -> Post:
    """Make a hidden or held post visible again (the moderator's decision), and announce it."""
    staff = _require_moderator(moderator, what)
    post = _lock(post)
    if post.moderation != was:
        raise Conflict(f"This post is not {ModerationState(was).label.lower()}.")
    post.moderation = ModerationState.VISIBLE
    post.moderation_reason = ""
    post.save(update_fields=["moderation", "moderation_reason"])
    trail.record(
        actor=staff,
        action=action,
        obj=post,
        before={"moderation": was},
        after={"moderation": post.moderation},
    )
    if post.deleted_at is None:
        _publish(post, "create")
    return post


@transaction.atomic
def do_unhide_post(moderator: User | None, post: Post) -> Post:
    return _release(
        moderator, post, was=ModerationState.HIDDEN, action="wall.unhide", what="unhide posts"
    )


@transaction.atomic
def do_approve_held_post(moderator: User | None, post: Post) -> Post:
    """Release a held post: it appears for its audience and the people it names are told."""
    post = _release(
        moderator, post, was=ModerationState.HELD, action="wall.approve", what="approve held posts"
    )
    if post.deleted_at is None:
        _notify_mentions(post, post.mentions.all(), post.author)
        # A held reply tells the post's author now (unless it named them: one notice).
        named = {(pk, post.pk) for pk in post.mentions.values_list("pk", flat=True)}
        do_send_notices(reply_notices([post], post.author, named))
    return post


@transaction.atomic
def do_resolve_report(
    moderator: User | None, report: PostReport, *, hide: bool, reason: str = ""
) -> PostReport:
    """Decide an open report: hide the post (with ``reason``) or dismiss the report."""
    staff = _require_moderator(moderator, "resolve reports")
    report = PostReport.objects.select_for_update().get(pk=report.pk)
    if report.state != ReportState.OPEN:
        raise Conflict("This report was already resolved.")
    if hide:
        post = Post.objects.get(pk=report.post_id)
        if post.moderation != ModerationState.HIDDEN:
            do_hide_post(staff, post, reason or report.reason)
        report.refresh_from_db()
        if report.state == ReportState.OPEN:
            report.state, report.resolved_by, report.resolved_at = (
                ReportState.HIDDEN,
                staff,
                timezone.now(),
            )
            report.save(update_fields=["state", "resolved_by", "resolved_at"])
            # The post was hidden already (by another report): this one is settled with it.
            trail.record(actor=staff, action="wall.report_resolve", obj=report)
        return report
    report.state = ReportState.DISMISSED
    report.resolved_by = staff
    report.resolved_at = timezone.now()
    report.save(update_fields=["state", "resolved_by", "resolved_at"])
    trail.record(actor=staff, action="wall.report_dismiss", obj=report)
    send_event(
        WallPostEvent(op="report", post={"id": report.post_id}, report=_report_snapshot(report)),
        streams=[streams.STAFF],
    )
    return report


@transaction.atomic
def do_add_watched_word(moderator: User | None, word: str, action: str) -> WatchedWord:
    staff = _require_moderator(moderator, "manage watched words")
    text = " ".join((word or "").split()).lower()
    if not text:
        raise ValidationFailed("Give the word or phrase to watch.", field="word")
    if len(text) > WORD_MAX:
        raise ValidationFailed(f"A watched word is at most {WORD_MAX} characters.", field="word")
    if action not in WatchedWordAction.values:
        raise ValidationFailed(f"Unknown action {action!r}.", field="action")
    if WatchedWord.objects.filter(word=text).exists():
        raise Conflict("This word is already watched.", field="word")
    watched = WatchedWord.objects.create(word=text, action=action, created_by=staff)
    trail.record(actor=staff, action="wall.watched_word_add", obj=watched, after={"action": action})
    return watched


@transaction.atomic
def do_remove_watched_word(moderator: User | None, watched: WatchedWord) -> None:
    staff = _require_moderator(moderator, "manage watched words")
    deleted, _ = WatchedWord.objects.filter(pk=watched.pk).delete()
    if not deleted:
        raise NotFound("No such watched word.")
    trail.record(
        actor=staff,
        action="wall.watched_word_remove",
        object_type="wall.watchedword",
        object_id=watched.pk,
        before={"word": watched.word, "action": watched.action},
    )


# --- Incidents ----------------------------------------------------------------------------------


@transaction.atomic
def do_promote_to_incident(
    agent: User | None,
    posts: Sequence[Post],
    *,
    title: str,
    service: Service,
    description: str = "",
) -> Incident:
    """Record an incident from one or more posts (staff): the posts are linked to it and their
    authors become its affected users and followers; the first post's author reports it. The
    incident is public when every post is a visible public post on a public service, else
    internal (the people involved and the desk)."""
    from hashdesk.incidents import actions as incident_actions
    from hashdesk.incidents.models import AffectedUser

    staff = _require_moderator(agent, "promote posts to an incident")
    ids = list(dict.fromkeys(post.pk for post in posts))
    if not ids:
        raise ValidationFailed("Choose at least one post.", field="posts")
    by_id = Post.objects.select_for_update().select_related("author").in_bulk(ids)
    chosen = [by_id[pk] for pk in ids if pk in by_id and by_id[pk].deleted_at is None]
    if len(chosen) != len(ids):
        raise NotFound("No such post.", field="posts")
    linked = [post for post in chosen if post.incident_id]
    if linked:
        raise Conflict(
            "A post is already linked to an incident.",
            field="posts",
            post_ids=[post.pk for post in linked],
        )
    text = description.strip() or "\n\n".join(
        f"> {post.body}\n\n— {post.author.display_name}" for post in chosen
    )
    incident = incident_actions.do_create_incident(
        staff,
        title=title,
        description=text[: incident_actions.DESCRIPTION_MAX],
        service=service,
        source=Channel.WALL,
        reporter=chosen[0].author,
    )
    if _public_outage(chosen, service):
        # What everyone could read on the wall is no secret: the incident is public too, so
        # readers see its chip and the desk's updates reach the service's timeline.
        incident = incident_actions.do_update_incident(
            staff, incident, expected_version=incident.version, visibility=Visibility.PUBLIC
        )
    Post.objects.filter(pk__in=ids).update(incident=incident)
    affected = set(AffectedUser.objects.filter(incident=incident).values_list("user_id", flat=True))
    for author in {post.author_id: post.author for post in chosen}.values():
        if author.pk not in affected:
            incident_actions.do_add_affected_user(staff, incident, author, channel=Channel.WALL)
    trail.record(actor=staff, action="wall.promote", obj=incident, after={"post_ids": ids})
    for post in Post.objects.filter(pk__in=ids).select_related(
        "author", "service", "incident", "team"
    ):
        if incident.visibility == Visibility.CONFIDENTIAL:
            _publish_removal(post)
        _publish(post, "update")
    return incident


def _public_outage(posts: Sequence[Post], service: Service) -> bool:
    """Posts every signed-in person may read, about a service everyone may see."""
    return service.visibility == Visibility.PUBLIC and all(
        post.visibility == PostVisibility.PUBLIC and post.moderation == ModerationState.VISIBLE
        for post in posts
    )


def publish_official_update(incident: Incident, entry: TimelineEntry) -> Post | None:
    """Show an incident's public update or major-incident notice on its service's timeline.

    Called inside the incident action's transaction, for public entries only (never work
    notes) of public incidents: the wall reaches every signed-in person, and only a public
    incident may be seen by all of them (an internal one only by the people involved, a
    confidential one by staff; declaring a major incident makes it public). The desk speaks as
    the entry's author or, for system entries, the incident's commander; with neither,
    nothing is posted.
    """
    if not entry.is_public or not entry.body.strip():
        return None
    if incident.visibility != Visibility.PUBLIC:
        return None
    author = entry.author or incident.commander
    if author is None:
        return None
    redacted = redact(entry.body)
    body = redacted.text[:BODY_MAX]
    # No hashtag rows: the service's tag timeline lists the posts bound to the service, and an
    # official post is not a report (trending counts people's posts only). It runs inside every
    # public incident update, so it stays a few queries.
    post = Post.objects.create(
        author=author,
        kind=PostKind.OFFICIAL,
        body=body,
        body_html=parsing.render(body, tag_names=[], people={}),
        redactions=[
            {"kind": f.kind, "count": f.count, "label": f.label} for f in redacted.findings
        ],
        service=incident.service,
        incident=incident,
    )
    trail.record(
        actor=author,
        action="wall.official",
        obj=post,
        after={"incident_id": incident.pk, "entry_id": entry.pk},
    )
    _publish(post, "create", tag_names=[])
    return post


def publish_change_notice(
    service: Service, author: User, text: str, *, audit_action: str = "wall.change_notice"
) -> Post:
    """Show a change announcement (changes.announcements) on ``service``'s timeline; with
    ``audit_action``, another official word of the desk (an incoming webhook's message).

    Called inside the announcing transaction; the caller decides who may hear of the change (a
    post bound to a confidential service is seen by staff only, as every such post). Like an
    incident's official update: no hashtag rows, a few queries.
    """
    redacted = redact(text)
    body = redacted.text[:BODY_MAX]
    post = Post.objects.create(
        author=author,
        kind=PostKind.OFFICIAL,
        body=body,
        body_html=parsing.render(body, tag_names=[], people={}),
        service=service,
    )
    trail.record(actor=author, action=audit_action, obj=post)
    _publish(post, "create", tag_names=[])
    return post


# --- Announcements ------------------------------------------------------------------------------


@transaction.atomic
def do_announce(actor: User | None, body: str, *, pinned: bool = True) -> Post:
    """A service desk announcement to everyone signed in, pinned to the top by default."""
    staff = _require_moderator(actor, "post announcements")
    parsed = _Parsed(staff, body)
    post = Post(
        author=staff,
        kind=PostKind.ANNOUNCEMENT,
        service=parsed.service,
        is_pinned=pinned,
    )
    _apply(post, parsed)
    post.save()
    post.hashtags.set(parsed.tags)
    post.mentions.set(parsed.people.values())
    trail.record(actor=staff, action="wall.announce", obj=post, after={"pinned": pinned})
    _publish(post, "create")
    return post


def _set_pinned(actor: User | None, post: Post, pinned: bool) -> Post:
    staff = _require_moderator(actor, "pin posts")
    post = _lock(post)
    if post.deleted_at is not None or post.moderation != ModerationState.VISIBLE:
        raise ValidationFailed("Only a visible post can be pinned.", field="post")
    if post.is_pinned == pinned:
        raise Conflict("This post is already pinned." if pinned else "This post is not pinned.")
    post.is_pinned = pinned
    post.save(update_fields=["is_pinned"])
    trail.record(actor=staff, action="wall.pin" if pinned else "wall.unpin", obj=post)
    _publish(post, "update")
    return post


@transaction.atomic
def do_pin(actor: User | None, post: Post) -> Post:
    return _set_pinned(actor, post, True)


@transaction.atomic
def do_unpin(actor: User | None, post: Post) -> Post:
    return _set_pinned(actor, post, False)
