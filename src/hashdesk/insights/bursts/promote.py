"""Probable incidents: raised by a burst, promoted to an incident or dismissed (docs/insights.md,
"Bursts").

The actions of ``ProbableIncident``, in the project's shape: each checks permission
(hashdesk.core.visibility), writes in one transaction the change, an audit row and a
``probable_incident`` event on the ``staff`` stream (agents only: a probable incident is the
desk's working material, never shown to requesters).

- :func:`record_burst` (the minute job): raise a probable incident for a burst, with its
  reports, and tell the agents of the service's team; or extend the open one of that stream.
- :func:`do_promote_probable`: one click makes the incident. Posts go through the wall's
  ``do_promote_to_incident`` (linked, their authors affected and following, a public burst on a
  public service makes a public incident); authors of chat reports become affected; reported
  incidents are linked to it (an open one as its duplicate, a finished one as related).
- :func:`do_dismiss_probable`: not an incident; the same reports never raise it again.

The event payload names the probable incident and its figures, never its reports: the page
and the API read those through ``visible_to``, so a confidential or team-only report is never
shown to an agent who may not see it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from django.db import transaction
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.catalog.models import Service
from hashdesk.core import streams
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.events import BaseEvent, send_event
from hashdesk.core.visibility import is_staff, staff_condition
from hashdesk.incidents.models import Incident
from hashdesk.insights.bursts.live import BUCKET, MIN_PEOPLE, MIN_REPORTS, Burst, Report
from hashdesk.insights.choices import ItemKind, ProbableState
from hashdesk.insights.models import ProbableIncident, ProbableReport
from hashdesk.notify.actions import do_notify_many

BURSTS_URL = "/insights/bursts/"
NOTICE_KIND = "insights.burst"
TITLE_MAX = 200


class ProbableIncidentEvent(BaseEvent):
    """``op``: create (a burst raised it), update (more reports joined it), promote, dismiss."""

    type: ClassVar[str] = "probable_incident"
    probable: dict[str, object]


def probable_snapshot(probable: ProbableIncident) -> dict[str, object]:
    return {
        "id": probable.pk,
        "stream": probable.stream,
        "service_id": probable.service_id,
        "hashtag": probable.hashtag,
        "state": probable.state,
        "title": probable.title,
        "reports": probable.reports,
        "expected": round(probable.expected, 3),
        "score": round(probable.score, 4),
        "detected_at": probable.detected_at.isoformat(),
        "window_start": probable.window_start.isoformat(),
        "window_end": probable.window_end.isoformat(),
        "incident_id": probable.incident_id,
    }


def stream_label(stream: str, service: Service | None) -> str:
    if service is not None:
        return f"#{service.hashtag}"
    return "#" + stream.split(":", 1)[1]


def burst_title(label: str, reports: int, minutes: int, usual: int) -> str:
    noun = "report" if reports == 1 else "reports"
    return f"Burst on {label}: {reports} {noun} in {minutes} minutes, usually {usual}"[:TITLE_MAX]


def _figures(probable: ProbableIncident, label: str) -> None:
    """The title from the probable's span: its reports against the usual count for as long."""
    span = (probable.window_end - probable.window_start).total_seconds() / 60
    bucket_minutes = BUCKET.total_seconds() / 60
    minutes = max(int(bucket_minutes), math.ceil(span))
    usual = round(probable.expected * minutes / bucket_minutes)
    probable.title = burst_title(label, probable.reports, minutes, usual)


def _publish(probable: ProbableIncident, op: str) -> None:
    send_event(
        ProbableIncidentEvent(op=op, probable=probable_snapshot(probable)),
        streams=[streams.STAFF],
    )


def _service_agents(service: Service | None) -> list[User]:
    """The staff of the service's owner team (none for a free hashtag: the live page tells)."""
    if service is None or service.owner_team_id is None:
        return []
    return list(
        User.objects.filter(
            staff_condition(), memberships__team_id=service.owner_team_id
        ).distinct()
    )


# --- Raising ------------------------------------------------------------------------------------


@transaction.atomic
def record_burst(
    burst: Burst, *, services: dict[int, Service], now: Any = None
) -> Literal["raised", "extended", "none"]:
    """Raise a probable incident for ``burst``, or extend the open one on its stream.

    Reports already part of any probable incident of the stream (open, promoted or dismissed)
    are not counted again: a dismissed burst is not raised anew by the same posts, and a new one
    needs ``MIN_REPORTS`` new reports from ``MIN_PEOPLE`` people.
    """
    now = now or timezone.now()
    service = None
    if burst.stream.startswith("service:"):
        service = services.get(int(burst.stream.split(":", 1)[1]))
    label = stream_label(burst.stream, service)
    seen = set(
        ProbableReport.objects.filter(probable__stream=burst.stream).values_list(
            "kind", "object_id"
        )
    )
    fresh: dict[tuple[str, int], Report] = {}
    for report in burst.reports:
        key = (report.kind, report.object_id)
        if key not in seen:
            fresh.setdefault(key, report)
    if not fresh:
        return "none"
    probable = (
        ProbableIncident.objects.select_for_update(of=("self",))
        .filter(stream=burst.stream, state=ProbableState.OPEN)
        .order_by("-detected_at", "-id")
        .first()
    )
    reports = list(fresh.values())
    if probable is None:
        authors = {r.author_id for r in reports if r.author_id is not None}
        if len(reports) < MIN_REPORTS or len(authors) < MIN_PEOPLE:
            return "none"
        probable = ProbableIncident(
            stream=burst.stream,
            service=service,
            hashtag=label.lstrip("#") if service is None else service.hashtag,
            detected_at=now,
            window_start=min(burst.window_start, *(r.created_at for r in reports)),
            window_end=burst.window_end,
            reports=len(reports),
            expected=burst.expected,
            score=burst.score,
        )
        _figures(probable, label)
        probable.save()
        op = "create"
    else:
        probable.window_end = max(probable.window_end, burst.window_end)
        probable.reports += len(reports)
        probable.score = max(probable.score, burst.score)
        _figures(probable, label)
        probable.save(update_fields=["window_end", "reports", "score", "title"])
        op = "update"
    ProbableReport.objects.bulk_create(
        ProbableReport(
            probable=probable, kind=r.kind, object_id=r.object_id, created_at=r.created_at
        )
        for r in reports
    )
    trail.record(
        actor=None,
        action="insights.probable_raise" if op == "create" else "insights.probable_extend",
        obj=probable,
        after={
            "stream": probable.stream,
            "reports": probable.reports,
            "expected": round(burst.expected, 3),
            "score": round(burst.score, 4),
        },
    )
    _publish(probable, op)
    if op == "create":
        do_notify_many(
            _service_agents(service),
            kind=NOTICE_KIND,
            title=probable.title,
            body="A burst of reports may be an incident: promote it or dismiss it.",
            url=f"{BURSTS_URL}#probable-{probable.pk}",
        )
        return "raised"
    return "extended"


# --- Deciding -----------------------------------------------------------------------------------


def _require_staff(actor: User | None, what: str) -> User:
    if actor is None or not is_staff(actor):
        raise Forbidden(f"Only service desk staff can {what}.")
    return actor


def _lock_open(probable: ProbableIncident) -> ProbableIncident:
    current = (
        ProbableIncident.objects.select_for_update(of=("self",))
        .select_related("service", "incident")
        .filter(pk=probable.pk)
        .first()
    )
    if current is None:
        raise NotFound("No such probable incident.")
    if current.state == ProbableState.PROMOTED:
        number = current.incident.number if current.incident else "an incident"
        raise Conflict(f"This probable incident was already promoted to {number}.")
    if current.state == ProbableState.DISMISSED:
        raise Conflict("This probable incident was dismissed.")
    return current


def _decide(probable: ProbableIncident, actor: User, state: str) -> None:
    probable.state = state
    probable.decided_by = actor
    probable.decided_at = timezone.now()
    probable.save(update_fields=["state", "decided_by", "decided_at", "incident"])


@transaction.atomic
def do_promote_probable(
    actor: User | None,
    probable: ProbableIncident,
    *,
    title: str = "",
    service: Service | None = None,
) -> Incident:
    """Promote the probable incident to an incident (staff), in one transaction; a second
    promote is a Conflict (409). ``service``: for a free hashtag's burst, the service it is
    about (else the service most of its posts are bound to)."""
    from hashdesk.chat.models import Message
    from hashdesk.incidents import actions as incident_actions
    from hashdesk.incidents import linking
    from hashdesk.incidents.choices import FINAL_STATES, Channel, LinkKind
    from hashdesk.incidents.models import AffectedUser
    from hashdesk.wall.actions import do_promote_to_incident
    from hashdesk.wall.choices import ModerationState
    from hashdesk.wall.models import Post

    staff = _require_staff(actor, "promote a probable incident")
    probable = _lock_open(probable)
    items = list(probable.items.order_by("created_at", "id"))
    ids: dict[str, list[int]] = {}
    for item in items:
        ids.setdefault(item.kind, []).append(item.object_id)
    # Posts deleted, hidden or linked to an incident since the burst are left out.
    posts = list(
        Post.objects.filter(
            pk__in=ids.get(ItemKind.POST, []),
            deleted_at__isnull=True,
            incident__isnull=True,
        )
        .exclude(moderation=ModerationState.HIDDEN)
        .select_related("author", "service")
        .order_by("created_at", "id")
    )
    messages = list(
        Message.objects.filter(
            pk__in=ids.get(ItemKind.CHAT, []), deleted_at__isnull=True, author__isnull=False
        )
        .select_related("author")
        .order_by("id")
    )
    reported = list(
        Incident.objects.filter(pk__in=ids.get(ItemKind.INCIDENT, []))
        .select_related("reporter", "service")
        .order_by("id")
    )
    service = service or probable.service or _common_service(posts)
    if service is None:
        raise ValidationFailed("Choose the service this burst is about.", field="service")
    name = (title or "").strip() or probable.title
    if posts:
        incident = do_promote_to_incident(staff, posts, title=name[:200], service=service)
    else:
        first = messages[0].author if messages else (reported[0].reporter if reported else None)
        incident = incident_actions.do_create_incident(
            staff,
            title=name[:200],
            description=probable.title,
            service=service,
            source=Channel.CHAT if messages else Channel.WEB,
            reporter=first,
        )
    affected = set(AffectedUser.objects.filter(incident=incident).values_list("user_id", flat=True))
    people: list[tuple[User, str]] = [(m.author, Channel.CHAT) for m in messages if m.author]
    people += [(i.reporter, i.source) for i in reported if i.reporter]
    for person, channel in people:
        if person.pk not in affected and person.is_active:
            incident_actions.do_add_affected_user(staff, incident, person, channel=channel)
            affected.add(person.pk)
    for other in reported:
        if other.pk == incident.pk or other.merged_into_id is not None:
            continue
        if other.state in FINAL_STATES:
            linking.do_link(staff, incident, other, LinkKind.RELATED)
        else:
            linking.do_link(staff, other, incident, LinkKind.DUPLICATE_OF)
    probable.incident = incident
    _decide(probable, staff, ProbableState.PROMOTED)
    trail.record(
        actor=staff,
        action="insights.probable_promote",
        obj=probable,
        after={
            "incident_id": incident.pk,
            "posts": [p.pk for p in posts],
            "messages": [m.pk for m in messages],
            "incidents": [i.pk for i in reported],
        },
    )
    _publish(probable, "promote")
    return incident


def _common_service(posts: Sequence[Any]) -> Service | None:
    counts: dict[int, int] = {}
    by_id = {}
    for post in posts:
        if post.service_id is not None:
            counts[post.service_id] = counts.get(post.service_id, 0) + 1
            by_id[post.service_id] = post.service
    if not counts:
        return None
    best: Service | None = by_id[max(counts, key=lambda pk: (counts[pk], -pk))]
    return best


@transaction.atomic
def do_dismiss_probable(actor: User | None, probable: ProbableIncident) -> ProbableIncident:
    """Not an incident (staff): closed, and its reports never raise a burst again."""
    staff = _require_staff(actor, "dismiss a probable incident")
    probable = _lock_open(probable)
    _decide(probable, staff, ProbableState.DISMISSED)
    trail.record(actor=staff, action="insights.probable_dismiss", obj=probable)
    _publish(probable, "dismiss")
    return probable
