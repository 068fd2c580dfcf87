"""Live burst detection over report counts: the minute job (docs/insights.md, "Bursts").

A *stream* is a service (``service:<id>``) or a free hashtag (``tag:<name>``, a tag bound to no
service: a service's own hashtag already counts towards the service). A *report* on a stream is
one of:

- a top-level wall post of a person (not a reply, not an official post or announcement), not
  deleted and not hidden: its service, and each of its free hashtags;
- a new incident on the service, from any channel but the wall and chat (an incident promoted
  from posts or filed from a conversation repeats reports counted already);
- a message in the service's chat room, and a live-help conversation about the service (its
  requester's first message);
- a monitoring alert newly firing on the service (one per Alertmanager fingerprint, when it is
  first received; docs/integrations/alertmanager.md). An alert has no author: it adds to the
  count but not to the people, so alerts alone never make a burst (``MIN_PEOPLE``) but push a
  few people's reports over ``MIN_REPORTS``. The incident an alert group opens is not counted
  again (its reporter is the receiver's account, not a person).

Counts go in **five-minute buckets**. A minute is too fine for an organisation's report rates
(almost every bucket is zero or one, so every pair of posts is a "burst"); an hour is far too
coarse to raise anything "within a minute". Five minutes holds a cluster of "is it just me?"
posts, and its hour-of-week rhythm is learned from 12 buckets an hour.

Each run (every minute):

1. **Feed** every stream active in the last 14 days each *complete* bucket it has not seen,
   zeros included, in order, up to the start of the current detection window; new streams start
   with 14 days of zeros (they had no reports: that *is* their baseline). Detector states are
   read and written in bulk (``DetectorState``).
2. **Detect** on a sliding window of the last five minutes, which the detector has not learned
   from yet: a throwaway copy of the stream's detector scores the window's count. A burst is
   raised only when the score reaches ``THRESHOLD`` **and** the window holds at least
   ``MIN_REPORTS`` reports from at least ``MIN_PEOPLE`` people **and** the count is surprising
   for a Poisson variable with the detector's expected rate (``MAX_SURPRISE``): on a stream
   that is usually silent the detector's spread is near zero, so its score alone would call a
   single post a burst; on a busy one four reports are no news.
3. Bursts go to ``promote.record_burst``, which raises (or extends) the probable incident.

Reports committed late (a transaction that outlived its bucket) are counted in the detection
window but may miss their bucket's feed; the baseline is a rate, and that error is small.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Field, OuterRef, Q, Subquery
from django.utils import timezone

from hashdesk.catalog.models import Service
from hashdesk.chat.choices import MessageKind, RoomKind
from hashdesk.chat.models import Conversation, Message
from hashdesk.incidents.choices import Channel
from hashdesk.incidents.models import Incident
from hashdesk.insights.bursts import detector as detector_module
from hashdesk.insights.bursts.detector import THRESHOLD, StreamingDetector
from hashdesk.insights.choices import ItemKind
from hashdesk.insights.models import DetectorState
from hashdesk.wall.choices import ModerationState, PostKind
from hashdesk.wall.models import Post

BUCKET = timedelta(minutes=5)
ACTIVE = timedelta(days=14)
# A worker stopped for longer than this catches up stream by stream, as reports arrive (the
# missed buckets are then learned as zeros): the feed query stays small after a long pause.
CATCH_UP = timedelta(days=1)
MIN_REPORTS = 4
MIN_PEOPLE = 3
# A window's count must be this unlikely under Poisson(expected) to be a burst.
MAX_SURPRISE = 1e-4
# The least rate (reports per bucket) the surprise is computed against: "never" is not a rate.
RATE_FLOOR = 0.1
# Kept beside the detector's own state: the last report the stream saw (ISO time).
LAST_REPORT_KEY = "hashdesk_last_report_at"
WRITE_BATCH = 500

# The detector's settings here (no damping after a detection: see detector.PRODUCT_SETTINGS).
PRODUCT_PARAMS: dict[str, float] = detector_module.PRODUCT_SETTINGS

# Incidents from these channels repeat reports counted already (posts, conversations).
_REPEATED_CHANNELS = (Channel.WALL, Channel.CHAT)


@dataclass(frozen=True)
class Report:
    stream: str
    kind: str
    object_id: int
    author_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class Burst:
    """A stream whose detection window passed every guard."""

    stream: str
    window_start: datetime
    window_end: datetime
    reports: list[Report]
    expected: float
    score: float
    surprise: float


@dataclass
class RunSummary:
    streams_fed: int = 0
    buckets_fed: int = 0
    reports: int = 0
    bursts: list[Burst] = field(default_factory=list)
    raised: int = 0
    extended: int = 0


def service_stream(service_id: int) -> str:
    return f"service:{service_id}"


def tag_stream(name: str) -> str:
    return f"tag:{name}"


def floor_bucket(moment: datetime) -> datetime:
    seconds = int(BUCKET.total_seconds())
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=moment.tzinfo or UTC)


# --- Reading reports ---------------------------------------------------------------------------


def collect_reports(start: datetime, end: datetime) -> list[Report]:
    """Every report in [start, end) on every stream: six queries, whatever the volume."""
    reports: list[Report] = []
    posts = Post.objects.filter(
        created_at__gte=start,
        created_at__lt=end,
        kind=PostKind.POST,
        reply_to__isnull=True,
        deleted_at__isnull=True,
        moderation=ModerationState.VISIBLE,
    )
    post_rows = list(posts.values_list("pk", "created_at", "author_id", "service_id"))
    tags: dict[int, list[str]] = defaultdict(list)
    if post_rows:
        through = Post.hashtags.through.objects.filter(
            post__in=posts.values("pk"), hashtag__service__isnull=True
        )
        for post_id, name in through.values_list("post_id", "hashtag__name"):
            tags[post_id].append(name)
    for pk, created_at, author_id, service_id in post_rows:
        if service_id is not None:
            reports.append(
                Report(service_stream(service_id), ItemKind.POST, pk, author_id, created_at)
            )
        for name in tags.get(pk, ()):
            reports.append(Report(tag_stream(name), ItemKind.POST, pk, author_id, created_at))
    # Imported here: the integration builds on the incidents this module reads.
    from hashdesk.integrations.alertmanager.models import Alert, AlertGroup

    incidents = (
        Incident.objects.filter(created_at__gte=start, created_at__lt=end)
        .exclude(source__in=_REPEATED_CHANNELS)
        .exclude(pk__in=AlertGroup.objects.values("incident_id"))
    )
    for pk, created_at, reporter_id, service_id in incidents.values_list(
        "pk", "created_at", "reporter_id", "service_id"
    ):
        reports.append(
            Report(service_stream(service_id), ItemKind.INCIDENT, pk, reporter_id, created_at)
        )
    messages = Message.objects.filter(
        created_at__gte=start,
        created_at__lt=end,
        kind=MessageKind.MESSAGE,
        deleted_at__isnull=True,
        author__isnull=False,
        room__kind=RoomKind.SERVICE,
    )
    for pk, created_at, author_id, service_id in messages.values_list(
        "pk", "created_at", "author_id", "room__service_id"
    ):
        reports.append(Report(service_stream(service_id), ItemKind.CHAT, pk, author_id, created_at))
    alerts = Alert.objects.filter(first_fired_at__gte=start, first_fired_at__lt=end)
    for pk, fired_at, service_id in alerts.values_list("pk", "first_fired_at", "service_id"):
        if fired_at is not None:  # the filter excludes NULL; this tells the type checker
            reports.append(Report(service_stream(service_id), ItemKind.ALERT, pk, None, fired_at))
    first_message = (
        Message.objects.filter(room_id=OuterRef("room_id"), author_id=OuterRef("requester_id"))
        .order_by("id")
        .values("id")[:1]
    )
    conversations = Conversation.objects.filter(
        queued_at__gte=start, queued_at__lt=end, service__isnull=False
    ).annotate(first_message=Subquery(first_message))
    for message_id, queued_at, requester_id, service_id in conversations.values_list(
        "first_message", "queued_at", "requester_id", "service_id"
    ):
        if message_id is not None:
            reports.append(
                Report(
                    service_stream(service_id), ItemKind.CHAT, message_id, requester_id, queued_at
                )
            )
    return reports


# --- Guards ------------------------------------------------------------------------------------


def poisson_surprise(count: int, rate: float) -> float:
    """P(X >= count) for X ~ Poisson(rate): how unlikely so many reports are by chance."""
    rate = max(rate, RATE_FLOOR)
    if count <= 0:
        return 1.0
    term = math.exp(-rate)
    below = term
    for k in range(1, count):
        term *= rate / k
        below += term
    return max(0.0, 1.0 - below)


def people(reports: Iterable[Report]) -> int:
    return len({report.author_id for report in reports if report.author_id is not None})


def is_burst(count: int, distinct_people: int, score: float, expected: float) -> bool:
    return (
        score >= THRESHOLD
        and count >= MIN_REPORTS
        and distinct_people >= MIN_PEOPLE
        and poisson_surprise(count, expected) <= MAX_SURPRISE
    )


# --- Detector states ----------------------------------------------------------------------------


@dataclass
class _Stream:
    row: DetectorState
    detector: StreamingDetector
    last_report_at: datetime | None
    changed: bool = False


def new_detector() -> StreamingDetector:
    """A detector with the product's parameters (those the detector still knows)."""
    known = getattr(detector_module, "DEFAULTS", {})
    return StreamingDetector(**{k: v for k, v in PRODUCT_PARAMS.items() if k in known})


def _load(row: DetectorState) -> _Stream:
    state = dict(row.state or {})
    last = state.pop(LAST_REPORT_KEY, None)
    detector = StreamingDetector.from_state(state) if state else new_detector()
    return _Stream(row, detector, datetime.fromisoformat(last) if last else None)


def _dump(stream: _Stream) -> dict[str, Any]:
    state = stream.detector.state()
    if stream.last_report_at is not None:
        state[LAST_REPORT_KEY] = stream.last_report_at.isoformat()
    return state


def _feed(
    streams: dict[str, _Stream],
    counts: dict[str, Counter[datetime]],
    last_seen: dict[str, datetime],
    target: datetime,
    summary: RunSummary,
) -> None:
    horizon = target - ACTIVE
    for name, stream in streams.items():
        seen = last_seen.get(name)
        if seen is not None and (stream.last_report_at is None or seen > stream.last_report_at):
            stream.last_report_at = seen
            stream.changed = True
        if stream.last_report_at is None or stream.last_report_at < horizon:
            continue  # quiet for 14 days: no longer fed (picked up again by its next report)
        moment = max(stream.row.fed_until, horizon)
        if moment >= target:
            continue
        buckets = counts.get(name, Counter())
        while moment < target:
            stream.detector.update(moment, float(buckets.get(moment, 0)))
            moment += BUCKET
            summary.buckets_fed += 1
        stream.row.fed_until = target
        stream.changed = True
        summary.streams_fed += 1


def _update_many(rows: list[DetectorState]) -> None:
    """One prepared UPDATE run for every row (``executemany``): on SQLite about half the time
    of ``bulk_update``'s CASE expressions over thousands of JSON states."""
    meta = DetectorState._meta
    quote = connection.ops.quote_name
    columns: list[Field[Any, Any]] = [
        meta.get_field(name)  # type: ignore[misc]
        for name in ("state", "fed_until", "updated_at")
    ]
    sets = ", ".join(f"{quote(column.column)} = %s" for column in columns)
    # Names from the model, quoted; values are parameters.
    sql = f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {quote(meta.pk.attname)} = %s"  # noqa: S608
    params = [
        [
            *(
                column.get_db_prep_save(getattr(row, column.attname), connection)
                for column in columns
            ),
            row.pk,
        ]
        for row in rows
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(params), WRITE_BATCH):
            cursor.executemany(sql, params[start : start + WRITE_BATCH])


def _save(streams: dict[str, _Stream], now: datetime) -> None:
    new: list[DetectorState] = []
    old: list[DetectorState] = []
    for stream in streams.values():
        if not stream.changed:
            continue
        stream.row.state = _dump(stream)
        stream.row.updated_at = now
        (old if stream.row.pk else new).append(stream.row)
    if old:
        _update_many(old)
    if new:
        DetectorState.objects.bulk_create(new, batch_size=WRITE_BATCH)


# --- The minute job ----------------------------------------------------------------------------


def detect(now: datetime | None = None) -> RunSummary:
    """Feed the detectors and find the bursts of the window ending at ``now`` (no raising)."""
    now = now or timezone.now()
    window_start = now - BUCKET
    target = floor_bucket(window_start)
    horizon = target - ACTIVE
    summary = RunSummary()
    with transaction.atomic():
        due = {
            row.stream: _load(row)
            for row in DetectorState.objects.select_for_update().filter(
                fed_until__lt=target, fed_until__gte=max(target - CATCH_UP, horizon)
            )
        }
        # The first run ever reads the last 14 days; later runs only what is new to a detector
        # that is still fed (a quiet one is picked up again by its next report).
        known = bool(due) or DetectorState.objects.exists()
        fed = [
            s.row.fed_until
            for s in due.values()
            if s.last_report_at is not None and s.last_report_at >= horizon
        ]
        start = min(fed, default=target) if known else horizon
        start = max(min(start, window_start), horizon)
        reports = collect_reports(start, now)
        summary.reports = len(reports)
        counts: dict[str, Counter[datetime]] = defaultdict(Counter)
        last_seen: dict[str, datetime] = {}
        window: dict[str, list[Report]] = defaultdict(list)
        for report in reports:
            if report.created_at < target:
                counts[report.stream][floor_bucket(report.created_at)] += 1
            if report.created_at >= window_start:
                window[report.stream].append(report)
            if report.stream not in last_seen or report.created_at > last_seen[report.stream]:
                last_seen[report.stream] = report.created_at
        # Streams with reports that were not due: new ones, ones quiet for so long that they
        # dropped out of feeding, and (every minute) streams fed already. Only the first two
        # and the ones that may burst now are read.
        candidates = {
            name
            for name, found in window.items()
            if len(found) >= MIN_REPORTS and people(found) >= MIN_PEOPLE
        }
        missing = [name for name in last_seen if name not in due]
        if missing:
            existing = set(
                DetectorState.objects.filter(stream__in=missing).values_list("stream", flat=True)
            )
            wanted = [name for name in missing if name in existing and name in candidates]
            rows = DetectorState.objects.select_for_update().filter(
                Q(stream__in=[name for name in missing if name in existing], fed_until__lt=target)
                | Q(stream__in=wanted)
            )
            for row in rows:
                due[row.stream] = _load(row)
            new = [name for name in missing if name not in existing]
            if new:
                # New streams had no reports before: their baseline is 14 days of zeros, the
                # same for all of them up to the first bucket read here, so learned once.
                zeros_until = max(floor_bucket(start), horizon)
                template = new_detector()
                moment = horizon
                while moment < zeros_until:
                    template.update(moment, 0.0)
                    moment += BUCKET
                learned = template.state()
                for name in new:
                    due[name] = _Stream(
                        DetectorState(stream=name, state={}, fed_until=zeros_until),
                        StreamingDetector.from_state(learned),
                        None,
                    )
        _feed(due, counts, last_seen, target, summary)
        _save(due, now)
    for name, found in window.items():
        if len(found) < MIN_REPORTS or people(found) < MIN_PEOPLE or name not in due:
            continue
        detector = due[name].detector
        expected = max(detector.expected(window_start), 0.0)
        score = StreamingDetector.from_state(detector.state()).update(window_start, len(found))
        if is_burst(len(found), people(found), score, expected):
            summary.bursts.append(
                Burst(
                    stream=name,
                    window_start=window_start,
                    window_end=now,
                    reports=sorted(found, key=lambda r: (r.created_at, r.kind, r.object_id)),
                    expected=expected,
                    score=score,
                    surprise=poisson_surprise(len(found), expected),
                )
            )
    return summary


def run_minute(now: datetime | None = None) -> RunSummary:
    """The periodic job: feed, detect, and raise or extend a probable incident per burst."""
    from hashdesk.insights.bursts import promote

    now = now or timezone.now()
    summary = detect(now)
    services = Service.objects.in_bulk(
        [
            int(burst.stream.split(":", 1)[1])
            for burst in summary.bursts
            if burst.stream.startswith("service:")
        ]
    )
    for burst in summary.bursts:
        outcome = promote.record_burst(burst, services=services, now=now)
        if outcome == "raised":
            summary.raised += 1
        elif outcome == "extended":
            summary.extended += 1
    return summary
