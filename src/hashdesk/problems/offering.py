"""Answering new reports with a known error's workaround (docs/problems.md, "Offering").

Run after the report's transaction commits (``hooks`` → ``tasks``), so posting and reporting
stay fast; each function is safe to run twice (a report is answered once).

- a new wall post that matches a published known error (as its author may read it) gets an
  official reply from the desk — the problem's owner — with the workaround and the article;
- a new incident gets a public timeline update with the workaround and the article (linking it
  to the problem is an agent's decision: the incident page suggests it);
- every new report is checked against the problems being watched after their fix.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.incidents.models import Incident
from hashdesk.notify.actions import Notice, do_send_notices
from hashdesk.problems import recurrence
from hashdesk.problems.choices import RecurrenceKind
from hashdesk.problems.known_errors import excerpt
from hashdesk.problems.matching import KnownErrorMatch, best_offer
from hashdesk.problems.models import Problem

ANSWER_ACTION = "problem.answer_post"
INCIDENT_OFFER = "known_error_offer"


def desk_voice(problem: Problem) -> User | None:
    """Who speaks for the desk: the problem's owner, else whoever opened it."""
    for person in (problem.owner, problem.created_by):
        if person is not None and person.is_active and person.is_service_desk_staff:
            return person
    return None


def offer_text(match: KnownErrorMatch) -> str:
    return (
        f"This looks like a known problem: {match.problem.title}.\n\n"
        f"Workaround: {excerpt(match.workaround)}\n\n"
        f"More in {match.article.number}: {match.url}"
    )


def answer_post(post_id: int) -> int | None:
    """Reply to a new top-level post matching a known error; the reply's id, or None."""
    from hashdesk.wall import actions as wall_actions
    from hashdesk.wall import parsing
    from hashdesk.wall.choices import ModerationState, PostKind
    from hashdesk.wall.models import BODY_MAX, Post

    post = Post.objects.select_related("author", "service").filter(pk=post_id).first()
    if (
        post is None
        or post.kind != PostKind.POST
        or post.reply_to_id is not None
        or post.deleted_at is not None
        or post.moderation != ModerationState.VISIBLE
    ):
        return None
    recurrence.record_reports(
        [recurrence.Report(RecurrenceKind.POST, post.pk, post.body, post.service_id)]
    )
    match = best_offer(post.author, post.body, post.service)
    if match is None:
        return None
    author = desk_voice(match.problem)
    if author is None:
        return None
    with transaction.atomic():
        locked = Post.objects.select_for_update().get(pk=post.pk)
        if Post.objects.filter(reply_to=locked, kind=PostKind.OFFICIAL, author=author).exists():
            return None  # answered already: exactly once per post
        body = offer_text(match)[:BODY_MAX]
        reply = Post.objects.create(
            author=author,
            kind=PostKind.OFFICIAL,
            body=body,
            body_html=parsing.render(body, tag_names=[], people={}),
            service=locked.service,
            visibility=locked.visibility,
            team=locked.team,
            reply_to=locked,
            thread_root_id=locked.thread_root_id or locked.pk,
        )
        locked.reply_count += 1
        locked.save(update_fields=["reply_count"])
        trail.record(
            actor=author,
            action=ANSWER_ACTION,
            obj=reply,
            after={
                "post_id": locked.pk,
                "problem_id": match.problem.pk,
                "article": match.article.number,
                "score": round(match.score, 4),
            },
        )
        wall_actions._publish(reply, "create", tag_names=[])
        do_send_notices(
            [
                Notice(
                    recipient=post.author,
                    kind="known_error",
                    title=f"A workaround for your post: {match.problem.title}",
                    body=excerpt(match.workaround),
                    url=wall_actions.POST_URL.format(pk=locked.pk),
                )
            ]
        )
    return reply.pk


def offer_to_incidents(incident_ids: Sequence[int]) -> int:
    """A public update with the workaround on each new incident matching a known error (as its
    reporter may read it); returns how many were answered."""
    from hashdesk.incidents import actions as incident_actions
    from hashdesk.incidents.choices import TimelineKind
    from hashdesk.incidents.models import TimelineEntry
    from hashdesk.incidents.notices import tell_involved

    incidents = list(
        Incident.objects.filter(pk__in=list(incident_ids)).select_related("reporter", "service")
    )
    recurrence.record_reports(
        [
            recurrence.Report(
                RecurrenceKind.INCIDENT, i.pk, f"{i.title}\n{i.description}", i.service_id
            )
            for i in incidents
        ]
    )
    answered = 0
    for incident in incidents:
        viewer = incident.reporter
        if viewer is None:
            continue
        match = best_offer(viewer, f"{incident.title}\n{incident.description}", incident.service)
        if match is None or desk_voice(match.problem) is None:
            continue
        author = desk_voice(match.problem)
        with transaction.atomic():
            locked = Incident.objects.select_for_update().get(pk=incident.pk)
            if TimelineEntry.objects.filter(
                incident=locked, data__known_error_problem=match.problem.pk
            ).exists():
                continue
            entry = incident_actions._note(
                locked,
                author,
                TimelineKind.PUBLIC_UPDATE,
                body=offer_text(match),
                public=True,
                known_error_problem=match.problem.pk,
            )
            trail.record(
                actor=author,
                action="problem.offer_incident",
                obj=locked,
                after={"entry_id": entry.pk, "problem_id": match.problem.pk},
            )
            incident_actions._publish(locked, "timeline", entry=entry, public=True)
            tell_involved(
                locked,
                author,
                kind="known_error",
                title=f"A workaround for {locked.number}: {match.problem.title}",
                body=excerpt(match.workaround),
            )
        answered += 1
    return answered


def offer_to_help(requester: User, text: str, service_id: int | None) -> KnownErrorMatch | None:
    """The known error to show someone opening a live-help conversation (nothing stored)."""
    from hashdesk.catalog.models import Service

    service = Service.objects.filter(pk=service_id).first() if service_id else None
    return best_offer(requester, text, service)


def watch_chat(message_id: int, text: str, service_id: int | None) -> None:
    recurrence.record_reports(
        [recurrence.Report(RecurrenceKind.CHAT, message_id, text, service_id)]
    )
