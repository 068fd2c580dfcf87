"""The agent queue's query logic: queues, filters, sort orders and seek (keyset) pages.

Pure functions over querysets, shared by the queue page (``queue_views``) and the benchmarks,
so both measure the same SQL. Everything starts from ``visible_to`` (docs/visibility.md).

Cost model (docs/incidents.md, "Agent queue"): the open queues read only open incidents through
the ``(state, priority)`` index and sort that small set; the "all" queue's default order,
newest first, is a range scan of the ``created_at`` index; a page is one query of at most
``PAGE_SIZE + 1`` rows whatever the cursor (seek, never OFFSET); the tab counts are one
conditional aggregate over open incidents only; affected counts are one grouped query over the
page's ids. So the page costs the same number of queries at 3 incidents as at 100,000.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, F, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.http import QueryDict
from django.utils import timezone

from hashdesk.accounts.models import TeamMembership, User
from hashdesk.core.errors import ValidationFailed
from hashdesk.core.visibility import visible_to
from hashdesk.incidents.choices import SlaState
from hashdesk.incidents.lifecycle import OPEN_STATES
from hashdesk.incidents.models import NUMBER_PREFIX, AffectedUser, Incident, format_number

PAGE_SIZE = 50
# "Breaching soon": open incidents warned or breached, or whose earliest counting SLA clock
# falls due within this many hours.
BREACHING_SOON_HOURS = 4
MAX_CURSOR_LENGTH = 512

# Only what a row shows: the sort of an open queue holds every candidate row, so wide columns
# (descriptions up to 20,000 characters) would make it slow for nothing.
ROW_FIELDS = (
    "id",
    "number",
    "title",
    "priority",
    "state",
    "is_major",
    "sla_state",
    "sla_due_at",
    "version",
    "created_at",
    "updated_at",
    "service__name",
    "service__slug",
    "assignment_group__name",
    "assignment_group__slug",
    "assignee__display_name",
    "assignee__email",
)


# --- Queues -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queue:
    key: str
    label: str
    default_sort: str
    # Counted in the tab: every open queue is (one aggregate); "all" is the whole history and
    # would cost a scan of the table on every render for a number nobody acts on.
    counted: bool = True


QUEUES: tuple[Queue, ...] = (
    Queue("mine", "Mine", "priority"),
    Queue("teams", "My teams", "priority"),
    Queue("unassigned", "Unassigned", "priority"),
    Queue("breaching", "Breaching soon", "sla"),
    Queue("major", "Major", "priority"),
    Queue("open", "All open", "priority"),
    Queue("all", "All", "created", counted=False),
)
QUEUES_BY_KEY = {queue.key: queue for queue in QUEUES}
DEFAULT_QUEUE = "open"


def is_open() -> Q:
    # Exactly the condition of the partial indexes on open incidents (Incident.Meta.indexes), so
    # SQLite, which keeps no histogram, reads the few open rows from them instead of the table.
    return Q(state__in=OPEN_STATES)


def breaching_soon(now: datetime) -> Q:
    return Q(sla_state__in=[SlaState.WARNING, SlaState.BREACHED]) | Q(
        sla_due_at__lte=now + timedelta(hours=BREACHING_SOON_HOURS)
    )


def _my_team_ids(user: User) -> QuerySet[TeamMembership, Any]:
    return TeamMembership.objects.filter(user_id=user.pk).values("team_id")


def queue_condition(key: str, user: User, now: datetime) -> Q:
    """The rows of queue ``key`` for ``user`` (before visibility and filters)."""
    if key == "all":
        return Q()
    # Where a composite index leads with the queue's own column — (assignee, state),
    # (assignment_group, state) — the plain state condition lets it be used whole.
    if key == "mine":
        return Q(assignee_id=user.pk, state__in=OPEN_STATES)
    if key == "teams":
        return Q(assignment_group_id__in=_my_team_ids(user), state__in=OPEN_STATES)
    if key == "unassigned":
        return Q(assignee__isnull=True, state__in=OPEN_STATES)
    if key == "breaching":
        return is_open() & breaching_soon(now)
    if key == "major":
        return is_open() & Q(is_major=True)
    if key == "open":
        return is_open()
    raise ValueError(f"unknown queue {key!r}")


COUNTED = ("mine", "teams", "unassigned", "breaching", "major", "open")


def queue_counts(user: User, now: datetime) -> dict[str, int]:
    """How many incidents each counted queue holds: one aggregate over open incidents only.

    Grouped by state so that SQLite reads the open incidents through the (state, priority)
    index (see :func:`is_open`); the few groups are summed here.
    """
    per_state = (
        visible_to(user, Incident.objects.filter(state__in=OPEN_STATES))
        .order_by()
        .values("state")
        .annotate(
            mine=Count("pk", filter=Q(assignee_id=user.pk)),
            teams=Count("pk", filter=Q(assignment_group_id__in=_my_team_ids(user))),
            unassigned=Count("pk", filter=Q(assignee__isnull=True)),
            breaching=Count("pk", filter=breaching_soon(now)),
            major=Count("pk", filter=Q(is_major=True)),
            open=Count("pk"),
        )
    )
    counts = dict.fromkeys(COUNTED, 0)
    for group in per_state:
        for key in COUNTED:
            counts[key] += int(group[key] or 0)
    return counts


# --- Sort orders and seek pages -----------------------------------------------------------------


@dataclass(frozen=True)
class Sort:
    """A sort the queue offers. ``columns`` end with ``id``, so every row's key is unique.

    Only the first column may be nullable (``sla_due_at``: incidents without a counting clock);
    its NULLs come last in both directions — they have no due time to be early or late with.
    """

    key: str
    label: str
    columns: tuple[str, ...]
    default_descending: bool
    nullable_first: bool = False


SORTS: tuple[Sort, ...] = (
    # P1 first; within a priority the oldest first, as a queue is worked.
    Sort("priority", "Priority", ("priority", "created_at", "id"), default_descending=False),
    Sort("created", "Created", ("created_at", "id"), default_descending=True),
    Sort("updated", "Last updated", ("updated_at", "id"), default_descending=True),
    Sort("sla", "SLA due", ("sla_due_at", "id"), default_descending=False, nullable_first=True),
    # Numbers derive from the id (INC-000123 is id 123), so sorting by id is sorting by number,
    # and stays right after INC-999999 where the strings would not.
    Sort("number", "Number", ("id",), default_descending=True),
)
SORTS_BY_KEY = {sort.key: sort for sort in SORTS}


def ordering(sort: Sort, descending: bool) -> list[OrderBy]:
    """ORDER BY of ``sort``: every column in the same direction, NULLs of the first last."""
    expressions = []
    for index, column in enumerate(sort.columns):
        expression = F(column)
        if index == 0 and sort.nullable_first:
            expressions.append(
                expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
            )
        else:
            expressions.append(expression.desc() if descending else expression.asc())
    return expressions


def _beyond(sort: Sort, key: Sequence[Any], *, descending: bool) -> Q:
    """Rows strictly after ``key`` in ``sort`` with direction ``descending``, NULLs last."""
    columns = sort.columns
    lookup = "lt" if descending else "gt"

    def lexicographic(start: int) -> Q:
        # (a > x) or (a = x and b > y) or …, over columns[start:].
        condition = Q(pk__in=[])
        for index in range(start, len(columns)):
            equal = {columns[i]: key[i] for i in range(start, index)}
            condition |= Q(**equal, **{f"{columns[index]}__{lookup}": key[index]})
        return condition

    if not sort.nullable_first:
        return lexicographic(0)
    first = columns[0]
    if key[0] is None:
        # Among the NULLs (which come last): only the rest of the key decides.
        return Q(**{f"{first}__isnull": True}) & lexicographic(1)
    return (Q(**{f"{first}__isnull": False}) & lexicographic(0)) | Q(**{f"{first}__isnull": True})


def _before(sort: Sort, key: Sequence[Any], *, descending: bool) -> Q:
    """Rows strictly before ``key`` in ``sort`` (NULLs last): the mirror of :func:`_beyond`."""
    columns = sort.columns
    lookup = "gt" if descending else "lt"

    def lexicographic(start: int) -> Q:
        condition = Q(pk__in=[])
        for index in range(start, len(columns)):
            equal = {columns[i]: key[i] for i in range(start, index)}
            condition |= Q(**equal, **{f"{columns[index]}__{lookup}": key[index]})
        return condition

    if not sort.nullable_first:
        return lexicographic(0)
    first = columns[0]
    if key[0] is None:
        return Q(**{f"{first}__isnull": False}) | (
            Q(**{f"{first}__isnull": True}) & lexicographic(1)
        )
    return Q(**{f"{first}__isnull": False}) & lexicographic(0)


def _reversed(sort: Sort, descending: bool) -> list[OrderBy]:
    """The exact reverse of :func:`ordering` (NULLs first), to read a previous page."""
    expressions = []
    for index, column in enumerate(sort.columns):
        expression = F(column)
        if index == 0 and sort.nullable_first:
            expressions.append(
                expression.asc(nulls_first=True)
                if descending
                else expression.desc(nulls_first=True)
            )
        else:
            expressions.append(expression.asc() if descending else expression.desc())
    return expressions


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after (``forward``) or before the row with sort key ``key``."""

    forward: bool
    key: tuple[Any, ...]


def _tag(sort: Sort, descending: bool) -> str:
    return f"{sort.key}:{'desc' if descending else 'asc'}"


def _key_of(sort: Sort, incident: Incident) -> list[Any]:
    values = []
    for column in sort.columns:
        value = getattr(incident, column)
        values.append(value.isoformat() if isinstance(value, datetime) else value)
    return values


def encode_cursor(sort: Sort, descending: bool, incident: Incident, *, forward: bool) -> str:
    raw = json.dumps(
        ["n" if forward else "p", _tag(sort, descending), *_key_of(sort, incident)],
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


BAD_CURSOR = "This page link is not valid for this list any more; showing the first page."


def decode_cursor(sort: Sort, descending: bool, cursor: str) -> Cursor:
    """The cursor's direction and key, checked against this sort; ValidationFailed if bad."""
    bad = ValidationFailed(BAD_CURSOR, field="cursor")
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise bad
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise bad from None
    if (
        not isinstance(data, list)
        or len(data) != len(sort.columns) + 2
        or data[0] not in ("n", "p")
        or data[1] != _tag(sort, descending)
    ):
        raise bad
    values: list[Any] = []
    for index, (column, raw_value) in enumerate(zip(sort.columns, data[2:], strict=True)):
        if raw_value is None and index == 0 and sort.nullable_first:
            values.append(None)
            continue
        if not isinstance(raw_value, str | int) or isinstance(raw_value, bool):
            raise bad
        model_field = Incident._meta.get_field(column)
        try:
            value = model_field.to_python(raw_value)  # type: ignore[union-attr]
        except (ValidationError, TypeError, ValueError):
            raise bad from None
        if value is None:
            raise bad
        if isinstance(value, datetime) and timezone.is_naive(value):
            raise bad
        values.append(value)
    return Cursor(forward=data[0] == "n", key=tuple(values))


@dataclass
class Page:
    rows: list[Incident]
    next_cursor: str | None
    previous_cursor: str | None


def _fetch(ordered: QuerySet[Incident], limit: int) -> list[Incident]:
    """The first ``limit`` rows of ``ordered``, in two steps: the ids alone, then those rows.

    Sorting only ids and sort keys keeps the sort of an open queue (thousands of candidates)
    narrow; the joins and displayed columns are read for the page's rows only.
    """
    ids = list(ordered.values_list("pk", flat=True)[:limit])
    if not ids:
        return []
    # The ids come from the visible, filtered queryset; the second step only reads them.
    by_id = row_queryset().in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


def seek_page(
    incidents: QuerySet[Incident],
    sort: Sort,
    descending: bool,
    cursor: Cursor | None,
    *,
    size: int | None = None,
) -> Page:
    """One page of ``incidents`` in ``sort`` order: one query of ``size + 1`` rows."""
    size = size or PAGE_SIZE
    if cursor is None or cursor.forward:
        rows_qs = incidents.order_by(*ordering(sort, descending))
        if cursor is not None:
            rows_qs = rows_qs.filter(_beyond(sort, cursor.key, descending=descending))
        rows = _fetch(rows_qs, size + 1)
        more = len(rows) > size
        rows = rows[:size]
        return Page(
            rows=rows,
            next_cursor=encode_cursor(sort, descending, rows[-1], forward=True) if more else None,
            # Reached by "next": the rows before this page are still there to go back to.
            previous_cursor=(
                encode_cursor(sort, descending, rows[0], forward=False)
                if cursor is not None and rows
                else None
            ),
        )
    rows_qs = incidents.order_by(*_reversed(sort, descending)).filter(
        _before(sort, cursor.key, descending=descending)
    )
    rows = _fetch(rows_qs, size + 1)
    more = len(rows) > size
    rows = list(reversed(rows[:size]))
    return Page(
        rows=rows,
        next_cursor=encode_cursor(sort, descending, rows[-1], forward=True) if rows else None,
        previous_cursor=encode_cursor(sort, descending, rows[0], forward=False) if more else None,
    )


# --- Filters ------------------------------------------------------------------------------------

NUMBER_PATTERN = re.compile(rf"^{NUMBER_PREFIX}\d{{1,12}}$", re.IGNORECASE)


@dataclass(frozen=True)
class QueueQuery:
    """A queue with its filters and sort, as parsed and validated from the page's GET params.

    ``assignee`` is ``"me"``, ``"none"`` or a person's id; dates are whole days in the viewer's
    time zone (``created_before`` excludes its day).
    """

    queue: str = DEFAULT_QUEUE
    states: tuple[str, ...] = ()
    priorities: tuple[int, ...] = ()
    service: str = ""
    group: str = ""
    assignee: str = ""
    category: str = ""
    sla_state: str = ""
    text: str = ""
    created_after: date | None = None
    created_before: date | None = None
    sort: str = ""
    descending: bool | None = None

    @property
    def sort_order(self) -> Sort:
        return SORTS_BY_KEY[self.sort or QUEUES_BY_KEY[self.queue].default_sort]

    @property
    def is_descending(self) -> bool:
        if self.descending is not None:
            return self.descending
        return self.sort_order.default_descending


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_current_timezone())


def text_condition(text: str) -> Q:
    """``INC-000123`` (any case) finds that incident through the unique number alone; a bare
    ``123`` finds INC-000123 and titles containing 123; other text searches titles."""
    text = text.strip()
    if NUMBER_PATTERN.match(text):
        return Q(number=text.upper())
    condition = Q(title__icontains=text)
    if text.isdigit() and len(text) <= 12:
        condition |= Q(number=format_number(int(text)))
    return condition


def apply_filters(
    incidents: QuerySet[Incident], query: QueueQuery, user: User
) -> QuerySet[Incident]:
    if query.states:
        incidents = incidents.filter(state__in=query.states)
    if query.priorities:
        incidents = incidents.filter(priority__in=query.priorities)
    if query.service:
        incidents = incidents.filter(service__slug=query.service)
    if query.group:
        incidents = incidents.filter(assignment_group__slug=query.group)
    if query.assignee == "me":
        incidents = incidents.filter(assignee_id=user.pk)
    elif query.assignee == "none":
        incidents = incidents.filter(assignee__isnull=True)
    elif query.assignee:
        incidents = incidents.filter(assignee_id=int(query.assignee))
    if query.category:
        incidents = incidents.filter(category=query.category)
    if query.sla_state == "none":
        incidents = incidents.filter(sla_state="")
    elif query.sla_state:
        incidents = incidents.filter(sla_state=query.sla_state)
    if query.text.strip():
        incidents = incidents.filter(text_condition(query.text))
    if query.created_after is not None:
        incidents = incidents.filter(created_at__gte=_day_start(query.created_after))
    if query.created_before is not None:
        incidents = incidents.filter(created_at__lt=_day_start(query.created_before))
    return incidents


def row_queryset() -> QuerySet[Incident]:
    """Incidents with what a row of the queue shows, and nothing else."""
    return Incident.objects.select_related("service", "assignment_group", "assignee").only(
        *ROW_FIELDS
    )


def select_incidents(user: User, query: QueueQuery, now: datetime) -> QuerySet[Incident]:
    """The incidents of ``query`` that ``user`` may see (unordered; page them with
    :func:`seek_page`, which reads the displayed columns for the page's rows only)."""
    incidents = visible_to(user, Incident.objects.all()).filter(
        queue_condition(query.queue, user, now)
    )
    return apply_filters(incidents, query, user)


def affected_counts(incident_ids: Iterable[int]) -> dict[int, int]:
    """How many people each incident affects: one grouped query over a page's ids."""
    ids = list(incident_ids)
    if not ids:
        return {}
    rows = (
        AffectedUser.objects.filter(incident_id__in=ids)
        .order_by()
        .values("incident_id")
        .annotate(n=Count("pk"))
        .values_list("incident_id", "n")
    )
    return dict(rows)


# --- Query strings ------------------------------------------------------------------------------

# The GET parameters that describe a view of the queue (the cursor only says where a page starts).
VIEW_PARAMS = (
    "queue",
    "state",
    "priority",
    "service",
    "group",
    "assignee",
    "category",
    "sla",
    "q",
    "created_after",
    "created_before",
    "sort",
    "dir",
)
MAX_QUERY_LENGTH = 1000


def canonical_query(params: QueryDict) -> str:
    """``params`` reduced to the known view parameters, without empty values, in a fixed order,
    so the same view always reads the same (saved views compare and store this form)."""
    canonical = QueryDict(mutable=True)
    for name in VIEW_PARAMS:
        values = sorted({value.strip() for value in params.getlist(name) if value.strip()})
        if values:
            canonical.setlist(name, values)
    return canonical.urlencode()
