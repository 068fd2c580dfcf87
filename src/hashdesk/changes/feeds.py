"""Calendar feeds of changes, RFC 5545 iCalendar (docs/changes.md, "Calendar feeds").

Three feeds: every change the signed-in viewer may see, the changes on one service, and a
person's "changes that affect me" behind a secret URL (calendar clients send no session). The
secret is shown once and only its SHA-256 is stored, as for API tokens (accounts.tokens): it
has 256 bits, so there is nothing to brute-force and a hash lookup finds it in one query.

The text is written here rather than with a library: a feed is a handful of properties, and
the three rules that matter (escaping, CRLF, folding at 75 octets) are a few lines. Each change
is one VEVENT whose UID never changes (``CHG-000123@host``) and whose SEQUENCE is the change's,
so a client updates the same event on a move and shows a cancellation (STATUS:CANCELLED).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.catalog.models import Service
from hashdesk.changes.announcements import change_url
from hashdesk.changes.audience import services_of
from hashdesk.changes.choices import ChangeState
from hashdesk.changes.models import CalendarFeed, Change
from hashdesk.core.errors import Forbidden, NotFound
from hashdesk.core.visibility import is_signed_in, visible_to

# Changes that are, or were, on the calendar: planning states are not commitments yet.
CALENDAR_STATES = (
    ChangeState.SCHEDULED,
    ChangeState.IMPLEMENTING,
    ChangeState.REVIEW,
    ChangeState.CLOSED,
    ChangeState.FAILED,
    ChangeState.BACKED_OUT,
    ChangeState.CANCELLED,
)
# A feed carries changes ending at most this long ago (and every future one).
FEED_HISTORY = timedelta(days=90)
FEED_PATH = "/changes/feeds/{secret}.ics"
DESCRIPTION_MAX = 1_000
LINE_OCTETS = 75


# --- The secret feed ----------------------------------------------------------------------------


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def feed_url(secret: str) -> str:
    return settings.PUBLIC_URL + FEED_PATH.format(secret=secret)


@transaction.atomic
def do_create_feed(actor: User | None) -> str:
    """A new secret for ``actor``'s own feed, returned once; an earlier secret stops working."""
    if actor is None or not is_signed_in(actor):
        raise Forbidden("Sign in to get a calendar feed.")
    secret = secrets.token_urlsafe(32)
    replaced = CalendarFeed.objects.filter(user=actor).delete()[0] > 0
    feed = CalendarFeed.objects.create(user=actor, secret_hash=hash_secret(secret))
    trail.record(actor=actor, action="changes.feed_create", obj=feed, after={"replaced": replaced})
    return secret


@transaction.atomic
def do_revoke_feed(actor: User | None) -> None:
    """Stop ``actor``'s feed: its URL answers 404 from now on."""
    if actor is None or not is_signed_in(actor):
        raise Forbidden("Sign in to manage your calendar feed.")
    feed = CalendarFeed.objects.select_for_update().filter(user=actor).first()
    if feed is None:
        raise NotFound("You have no calendar feed.")
    trail.record(actor=actor, action="changes.feed_revoke", obj=feed)
    feed.delete()


def feed_owner(secret: str) -> User | None:
    """The active person whose feed ``secret`` opens, or None."""
    if not secret or len(secret) > 100:
        return None
    feed = (
        CalendarFeed.objects.select_related("user")
        .filter(secret_hash=hash_secret(secret), user__is_active=True)
        .first()
    )
    return feed.user if feed is not None else None


# --- What each feed lists -----------------------------------------------------------------------


def _on_calendar(viewer: User, changes: QuerySet[Change], now: datetime) -> QuerySet[Change]:
    return (
        visible_to(viewer, changes)
        .filter(
            state__in=CALENDAR_STATES,
            planned_start__isnull=False,
            planned_end__gte=now - FEED_HISTORY,
        )
        .prefetch_related("affected__service")
        .order_by("planned_start", "pk")
    )


def all_changes(viewer: User, *, now: datetime | None = None) -> QuerySet[Change]:
    return _on_calendar(viewer, Change.objects.all(), now or timezone.now())


def service_changes(
    viewer: User, service: Service, *, now: datetime | None = None
) -> QuerySet[Change]:
    return _on_calendar(
        viewer, Change.objects.filter(affected__service=service), now or timezone.now()
    )


def my_changes(person: User, *, now: datetime | None = None) -> QuerySet[Change]:
    """The changes on services ``person`` uses or follows (changes.audience), and their own."""
    now = now or timezone.now()
    mine = (
        Change.objects.filter(affected__service__in=services_of(person, now=now))
        | Change.objects.filter(requester=person)
        | Change.objects.filter(owner=person)
    )
    return _on_calendar(person, Change.objects.filter(pk__in=mine.values("pk")), now)


# --- iCalendar text -----------------------------------------------------------------------------


def escape(text: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and newlines escaped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    for plain, escaped in (("\\", "\\\\"), (";", "\\;"), (",", "\\,"), ("\n", "\\n")):
        text = text.replace(plain, escaped)
    return text


def fold(line: str) -> str:
    """Split a content line into lines of at most 75 octets, never inside a UTF-8 character;
    each continuation starts with a space (RFC 5545 3.1)."""
    parts: list[str] = []
    current = ""
    size = 0
    limit = LINE_OCTETS
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            parts.append(current)
            current, size, limit = "", 0, LINE_OCTETS - 1
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _host() -> str:
    return urlsplit(settings.PUBLIC_URL).hostname or "hashdesk"


def uid(change: Change) -> str:
    return f"{change.number or f'change-{change.pk}'}@{_host()}"


def _description(change: Change) -> str:
    services = [affected.service.name for affected in change.affected.all()]
    text = change.description.strip()
    if len(text) > DESCRIPTION_MAX:
        text = text[: DESCRIPTION_MAX - 1] + "…"
    lines = [f"State: {change.get_state_display()}"]
    if services:
        lines.append("Affects: " + ", ".join(sorted(services)))
    if text:
        lines += ["", text]
    return "\n".join(lines)


def _event(change: Change, stamp: str) -> list[str]:
    assert change.planned_start is not None and change.planned_end is not None
    label = f"{change.number} {change.summary}" if change.number else change.summary
    cancelled = change.state == ChangeState.CANCELLED
    return [
        "BEGIN:VEVENT",
        f"UID:{uid(change)}",
        f"DTSTAMP:{stamp}",
        f"SEQUENCE:{change.sequence}",
        f"DTSTART:{_utc(change.planned_start)}",
        f"DTEND:{_utc(change.planned_end)}",
        f"SUMMARY:{escape(label)}",
        f"DESCRIPTION:{escape(_description(change))}",
        f"STATUS:{'CANCELLED' if cancelled else 'CONFIRMED'}",
        f"LAST-MODIFIED:{_utc(change.updated_at)}",
        f"URL:{settings.PUBLIC_URL}{change_url(change)}",
        "END:VEVENT",
    ]


def calendar(changes: Iterable[Change], *, name: str, now: datetime | None = None) -> str:
    """The VCALENDAR text of ``changes`` (CRLF line ends, folded lines)."""
    stamp = _utc(now or timezone.now())
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Hashdesk//Changes//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
    ]
    for change in changes:
        lines += _event(change, stamp)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
