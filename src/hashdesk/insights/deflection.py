"""Measured deflection (docs/insights.md, "Deflection"): a suggestion that solved it instead of
a ticket.

- :func:`do_record_deflection`: someone clicked "This solved it" on a suggestion shown while
  they typed (wall composer, incident form, live-help start, search). One ``Deflection`` per
  person, suggestion and day (idempotent); the typed text is kept redacted and truncated; no
  ticket is created. Audited; a ``deflection`` event (ids only, never the text) goes to staff.
- :func:`count_impressions`: when the panel shows suggestions, counts one typing session per
  person, context and service (30 minutes, remembered in the cache) and each suggestion shown:
  one ``INSERT … ON CONFLICT DO UPDATE`` per new session, nothing otherwise.
- :func:`verify_deflections`: as the wall's reputation verification does, a deflection stays
  pending for 48 hours and is *not confirmed* when the same person raised (or said "me too"
  to) an incident on that service meanwhile; confirmed otherwise. Run every hour.
- :func:`deflection_report`: the deflection rate per service and per article over a date range
  (deflections counted = pending + confirmed; not confirmed ones are left out of the rate).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, ClassVar

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.catalog.models import Service
from hashdesk.core import streams, visibility
from hashdesk.core.errors import NotFound, ValidationFailed
from hashdesk.core.events import BaseEvent, send_event, send_events
from hashdesk.core.logging import get_logger
from hashdesk.core.redaction import redact
from hashdesk.insights.choices import DeflectionContext, DeflectionState, ItemKind
from hashdesk.insights.models import Deflection, SuggestionImpression

VERIFY_WINDOW = timedelta(hours=48)
VERIFY_BATCH = 500
TEXT_MAX = 500
SESSION_SECONDS = 30 * 60
REPORT_DAYS = 30
REPORT_DAYS_MAX = 366
ARTICLES_SHOWN = 50

log = get_logger(__name__)

# Kinds a deflection may point at, and the model each id is read from.
DEFLECTING_KINDS = (ItemKind.KNOWN_ERROR, ItemKind.ARTICLE, ItemKind.POST, ItemKind.INCIDENT)
ARTICLE_KINDS = frozenset({ItemKind.KNOWN_ERROR, ItemKind.ARTICLE})


def _model(kind: str) -> Any:
    if kind in ARTICLE_KINDS:
        from hashdesk.knowledge.models import Article

        return Article
    if kind == ItemKind.POST:
        from hashdesk.wall.models import Post

        return Post
    from hashdesk.incidents.models import Incident

    return Incident


# --- Visibility: staff see every deflection; a person only their own -------------------------


@visibility.register(Deflection)
def _deflections(user: visibility.Viewer) -> Q:
    if visibility.is_staff(user):
        return Q()
    if visibility.is_signed_in(user):
        return Q(person_id=user.pk)
    return Q(pk__in=[])


@visibility.register(SuggestionImpression)
def _impressions(user: visibility.Viewer) -> Q:
    return Q() if visibility.is_staff(user) else Q(pk__in=[])


# --- Events ------------------------------------------------------------------------------------


class DeflectionEvent(BaseEvent):
    """``op``: recorded, confirmed or not_confirmed; ids only (never the typed text)."""

    type: ClassVar[str] = "deflection"
    deflection: dict[str, Any]


def snapshot(deflection: Deflection) -> dict[str, Any]:
    return {
        "id": deflection.pk,
        "context": deflection.context,
        "service_id": deflection.service_id,
        "kind": deflection.kind,
        "object_id": deflection.object_id,
        "article_id": deflection.article_id,
        "state": deflection.state,
    }


# --- Recording ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    deflection: Deflection
    # False when the person had already said so today (nothing new was written).
    created: bool


def do_record_deflection(
    person: User,
    *,
    context: str,
    kind: str,
    object_id: int,
    service: Service | None = None,
    text: str = "",
    now: datetime | None = None,
) -> Recorded:
    """Record that the suggestion ``kind``/``object_id`` solved it for ``person``. The
    suggestion must be one they may see (else NotFound); no ticket is created."""
    if not visibility.is_signed_in(person):
        raise NotFound("No such suggestion.")
    if context not in DeflectionContext.values:
        raise ValidationFailed(
            f"Unknown context {context!r}: use composer, incident, chat or search.",
            field="context",
        )
    if kind not in DEFLECTING_KINDS:
        raise ValidationFailed(
            f"Unknown kind {kind!r}: use known_error, article, post or incident.", field="kind"
        )
    if service is not None and not visibility.can_view(person, service):
        raise NotFound("No such service.", field="service")
    suggestion = visibility.visible_to(person, _model(kind).objects.filter(pk=object_id)).first()
    if suggestion is None:
        raise NotFound("No such suggestion.", field="id")
    if service is None:
        service = _service_of(kind, suggestion)
    now = now or timezone.now()
    day = timezone.localdate(now)
    existing = Deflection.objects.filter(
        person=person, kind=kind, object_id=object_id, day=day
    ).first()
    if existing is not None:
        return Recorded(existing, created=False)
    try:
        with transaction.atomic():
            deflection = Deflection.objects.create(
                person=person,
                context=context,
                service=service,
                kind=kind,
                object_id=object_id,
                article=suggestion if kind in ARTICLE_KINDS else None,
                text=redact(text.strip()).text[:TEXT_MAX],
                day=day,
                created_at=now,
                verify_after=now + VERIFY_WINDOW,
            )
            trail.record(
                actor=person,
                action="insights.deflection_recorded",
                obj=deflection,
                after=snapshot(deflection),
            )
            send_event(
                DeflectionEvent(op="recorded", deflection=snapshot(deflection)),
                streams=[streams.STAFF],
            )
    except IntegrityError:
        # The same click twice at once: the other request recorded it.
        return Recorded(
            Deflection.objects.get(person=person, kind=kind, object_id=object_id, day=day),
            created=False,
        )
    return Recorded(deflection, created=True)


def _service_of(kind: str, suggestion: Any) -> Service | None:
    """The suggestion's own service when the person chose none (an article's first one)."""
    if kind in ARTICLE_KINDS:
        services = getattr(suggestion, "services", None)
        return services.order_by("pk").first() if services is not None else None
    service_id = getattr(suggestion, "service_id", None)
    return Service.objects.filter(pk=service_id).first() if service_id else None


# --- Impressions -------------------------------------------------------------------------------


def count_impressions(
    person: User, context: str, service: Service | None, shown: list[tuple[str, int]]
) -> bool:
    """Count a typing session with suggestions (and each suggestion shown) once per person,
    context and service per 30 minutes. Returns whether it was counted (a new session)."""
    if not shown or context not in DeflectionContext.values or not person.pk:
        return False
    service_id = service.pk if service is not None else 0
    today = timezone.localdate()
    key = f"insights:deflect-session:{person.pk}:{context}:{service_id}:{today.isoformat()}"
    if not cache.add(key, 1, SESSION_SECONDS):
        return False
    rows = [("", 0), *dict.fromkeys((kind, int(pk)) for kind, pk in shown)]
    table = SuggestionImpression._meta.db_table
    values = ", ".join(["(%s, %s, %s, %s, %s, 1)"] * len(rows))
    params: list[Any] = []
    for kind, pk in rows:
        params += [today, context, service_id, kind, pk]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (day, context, service_id, kind, object_id, shown) "  # noqa: S608
            f"VALUES {values} ON CONFLICT (day, context, service_id, kind, object_id) "
            f"DO UPDATE SET shown = {table}.shown + 1",
            params,
        )
    return True


# --- Verification ------------------------------------------------------------------------------


def _tickets(deflections: list[Deflection]) -> dict[int, list[tuple[str, int | None, datetime]]]:
    """Incidents each person raised, or joined with "me too", in the batch's overall window:
    (number, service id, when). One query."""
    from hashdesk.incidents.models import Incident

    people = {d.person_id for d in deflections}
    start = min(d.created_at for d in deflections)
    end = max(d.verify_after for d in deflections)
    rows = (
        Incident.objects.filter(
            Q(reporter_id__in=people, created_at__gte=start, created_at__lte=end)
            | Q(
                affected__user_id__in=people,
                affected__added_at__gte=start,
                affected__added_at__lte=end,
            )
        )
        .values_list(
            "number",
            "service_id",
            "created_at",
            "reporter_id",
            "affected__user_id",
            "affected__added_at",
        )
        .distinct()
    )
    found: dict[int, list[tuple[str, int | None, datetime]]] = defaultdict(list)
    for number, service_id, created_at, reporter_id, affected_id, added_at in rows:
        if reporter_id in people and start <= created_at <= end:
            found[reporter_id].append((number or "", service_id, created_at))
        if affected_id in people and affected_id != reporter_id and added_at is not None:
            found[affected_id].append((number or "", service_id, added_at))
    return found


def _ticket_raised(deflection: Deflection, tickets: list[tuple[str, int | None, datetime]]) -> str:
    for number, service_id, when in sorted(tickets, key=lambda t: t[2]):
        if deflection.service_id is not None and service_id != deflection.service_id:
            continue
        if deflection.created_at <= when <= deflection.verify_after:
            return f"raised {number}"[:120]
    return ""


@transaction.atomic
def verify_deflections(now: datetime) -> int:
    """Decide pending deflections (up to VERIFY_BATCH): not confirmed as soon as the person
    raised a ticket on the service in the window; confirmed once the window has passed
    without one. Returns how many were decided."""
    pending = list(
        Deflection.objects.select_for_update(of=("self",))
        .filter(state=DeflectionState.PENDING)
        .order_by("verify_after", "pk")[:VERIFY_BATCH]
    )
    if not pending:
        return 0
    tickets = _tickets(pending)
    decided: list[Deflection] = []
    for deflection in pending:
        reason = _ticket_raised(deflection, tickets.get(deflection.person_id, []))
        if reason:
            deflection.state, deflection.void_reason = DeflectionState.NOT_CONFIRMED, reason
        elif deflection.verify_after <= now:
            deflection.state = DeflectionState.CONFIRMED
        else:
            continue
        deflection.decided_at = now
        decided.append(deflection)
    if decided:
        Deflection.objects.bulk_update(decided, ["state", "decided_at", "void_reason"])
        trail.record_many(
            trail.Change(
                actor=None,
                action=f"insights.deflection_{d.state}",
                obj=d,
                after={**snapshot(d), "reason": d.void_reason},
            )
            for d in decided
        )
        send_events(
            (DeflectionEvent(op=d.state, deflection=snapshot(d)), [streams.STAFF]) for d in decided
        )
    return len(decided)


def verify_all(now: datetime | None = None) -> int:
    """Every pending deflection looked at once (the hourly task)."""
    now = now or timezone.now()
    total = 0
    # Undecided ones stay pending; batches move on by verify_after order, so stop when a batch
    # decided nothing new.
    while True:
        decided = verify_deflections(now)
        total += decided
        if decided < VERIFY_BATCH:
            return total


# --- The report --------------------------------------------------------------------------------


@dataclass
class Row:
    key: int
    label: str
    sessions: int = 0
    deflections: int = 0
    not_confirmed: int = 0
    pending: int = 0
    by_context: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        return self.deflections / self.sessions if self.sessions else None

    @property
    def percent(self) -> float | None:
        rate = self.rate
        return None if rate is None else round(100 * min(rate, 1.0), 1)


@dataclass
class Report:
    start: date
    end: date
    services: list[Row]
    articles: list[Row]
    total: Row


def report_range(raw_start: str | None, raw_end: str | None) -> tuple[date, date]:
    """The date range asked for (ISO dates), defaulting to the last 30 days; bad input raises
    ValidationFailed."""
    today = timezone.localdate()
    try:
        end = date.fromisoformat(raw_end) if raw_end else today
        start = (
            date.fromisoformat(raw_start) if raw_start else end - timedelta(days=REPORT_DAYS - 1)
        )
    except ValueError as error:
        raise ValidationFailed("Dates are YYYY-MM-DD.", field="start") from error
    if start > end:
        raise ValidationFailed("The start is after the end.", field="start")
    if (end - start).days >= REPORT_DAYS_MAX:
        raise ValidationFailed(f"At most {REPORT_DAYS_MAX} days.", field="start")
    return start, end


def deflection_report(viewer: visibility.Viewer, start: date, end: date) -> Report:
    """Deflection rate per service and per article between ``start`` and ``end`` (inclusive),
    from what ``viewer`` may see (staff: everything). A handful of grouped queries."""
    deflections = visibility.visible_to(
        viewer, Deflection.objects.filter(day__gte=start, day__lte=end)
    )
    impressions = visibility.visible_to(
        viewer, SuggestionImpression.objects.filter(day__gte=start, day__lte=end)
    )
    counted = Q(state__in=[DeflectionState.PENDING, DeflectionState.CONFIRMED])
    tallies = {
        "deflections": Count("pk", filter=counted),
        "pending": Count("pk", filter=Q(state=DeflectionState.PENDING)),
        "not_confirmed": Count("pk", filter=Q(state=DeflectionState.NOT_CONFIRMED)),
    }
    services: dict[int, Row] = {}
    names = dict(visibility.visible_to(viewer, Service.objects.all()).values_list("pk", "name"))
    names[0] = "No service"

    def service_row(pk: int | None) -> Row:
        key = pk or 0
        if key not in services:
            services[key] = Row(key, names.get(key, f"Service {key}"))
        return services[key]

    for service_id, sessions in (
        impressions.filter(kind="").values_list("service_id").annotate(total=Sum("shown"))
    ):
        service_row(service_id).sessions = int(sessions)
    for found in deflections.values("service_id").annotate(**tallies):
        row = service_row(found["service_id"])
        row.deflections, row.pending = found["deflections"], found["pending"]
        row.not_confirmed = found["not_confirmed"]
    for service_id, context, count in (
        deflections.filter(counted).values_list("service_id", "context").annotate(total=Count("pk"))
    ):
        service_row(service_id).by_context[context] = count

    articles: dict[int, Row] = {}
    for found in deflections.filter(article__isnull=False).values("article_id").annotate(**tallies):
        row = articles.setdefault(found["article_id"], Row(found["article_id"], ""))
        row.deflections, row.pending = found["deflections"], found["pending"]
        row.not_confirmed = found["not_confirmed"]
    for object_id, shown in (
        impressions.filter(kind__in=ARTICLE_KINDS)
        .values_list("object_id")
        .annotate(total=Sum("shown"))
    ):
        articles.setdefault(int(object_id), Row(int(object_id), "")).sessions = int(shown)
    from hashdesk.knowledge.models import Article

    titles = {
        pk: f"{number or ''} {title}".strip()
        for pk, number, title in visibility.visible_to(
            viewer, Article.objects.filter(pk__in=list(articles))
        ).values_list("pk", "number", "title")
    }
    article_rows = [row for row in articles.values() if row.key in titles]
    for row in article_rows:
        row.label = titles[row.key]
    article_rows.sort(key=lambda r: (-r.deflections, -r.sessions, r.label))

    service_rows = sorted(services.values(), key=lambda r: (-r.deflections, -r.sessions, r.label))
    total = Row(0, "All services")
    for row in service_rows:
        total.sessions += row.sessions
        total.deflections += row.deflections
        total.pending += row.pending
        total.not_confirmed += row.not_confirmed
    return Report(start, end, service_rows, article_rows[:ARTICLES_SHOWN], total)


def prevented_tickets(article_id: int) -> int:
    """Tickets an article prevented: its deflections, pending or confirmed (the article page's
    "prevented N tickets")."""
    return Deflection.objects.filter(
        article_id=article_id,
        state__in=[DeflectionState.PENDING, DeflectionState.CONFIRMED],
    ).count()


# --- The hourly task ---------------------------------------------------------------------------


@db_periodic_task(crontab(minute="37"))
def verify_deflections_task() -> int:
    """Hourly: decide pending deflections (not confirmed when a ticket followed)."""
    decided = verify_all()
    if decided:
        log.info("deflections decided", decided=decided)
    return decided
