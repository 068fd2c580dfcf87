"""The agent queue: ``/incidents/`` with its queues, filters, saved views and bulk changes.

Staff only: a requester is sent to their own list (``incidents:mine``). The queries are in
``incidents.queue`` (shared with the benchmarks), every change goes through an action
(``incidents.saved_views``, ``incidents.bulk`` → ``incidents.actions``), and the page costs a
fixed number of queries whatever the size of the desk (docs/incidents.md, "Agent queue").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST

from hashdesk.accounts.models import Team, User
from hashdesk.catalog.models import Service
from hashdesk.core.errors import DomainError, NotFound, ValidationFailed
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.incidents import queue as queues
from hashdesk.incidents.bulk import BulkOutcome, bulk_assign, bulk_transition
from hashdesk.incidents.choices import (
    Category,
    HoldReason,
    Priority,
    ResolutionCode,
    SlaState,
    State,
)
from hashdesk.incidents.forms import staff_people
from hashdesk.incidents.models import Incident, SavedView
from hashdesk.incidents.queue_forms import (
    SLA_CHOICES,
    BulkForm,
    QueueFilterForm,
    SaveViewForm,
)
from hashdesk.incidents.saved_views import do_delete_saved_view, do_save_view
from hashdesk.web.forms import raise_if_forbidden
from hashdesk.web.live import live_page
from hashdesk.web.requests import current_user, safe_next
from hashdesk.web.templatetags.shell import icon

# The columns whose header sorts the table.
SORTABLE_COLUMNS = ("number", "priority", "sla", "updated")


# --- Lookups for the filter and bulk controls (through visibility) ------------------------------


@dataclass
class Lookups:
    services: list[tuple[str, str]]
    teams: list[tuple[str, str]]
    people: list[tuple[str, str]]


def _staff_people(user: User) -> QuerySet[User]:
    """People an incident can be assigned to: active service desk staff."""
    return staff_people(user).only("id", "display_name")


def _lookups(user: User, *, services: bool = True) -> Lookups:
    return Lookups(
        services=(
            list(visible_to(user, Service.objects.order_by("name")).values_list("slug", "name"))
            if services
            else []
        ),
        teams=list(visible_to(user, Team.objects.order_by("name")).values_list("slug", "name")),
        people=[(str(person.pk), person.display_name) for person in _staff_people(user)],
    )


# --- Presentation -------------------------------------------------------------------------------


@dataclass
class QueueTab:
    key: str
    label: str
    count: int | None
    url: str
    current: bool


@dataclass
class SavedTab:
    view: SavedView
    url: str
    current: bool


@dataclass
class SortHeader:
    label: str
    url: str
    # "ascending" / "descending" when the table is sorted by this column (aria-sort).
    sorted: str


@dataclass
class QueueRow:
    incident: Incident
    affected: int
    sla_tone: str
    sla_label: str
    sla_relative: str
    updated_relative: str
    html: SafeString = field(default=SafeString(""))


SLA_TONES = {SlaState.BREACHED: "danger", SlaState.WARNING: "warning"}
PRIORITY_LABELS = dict(Priority.choices)
STATE_LABELS = dict(State.choices)
SLA_LABELS = dict(SlaState.choices)

# One row of the queue's table. Rows are rendered here rather than by the template engine:
# fifty rows of a dozen cells cost about 18 ms of CPU through Django templates and under 2 ms
# through format_html (which escapes every value), and the page must stay under 20 ms at
# 100,000 incidents (docs/incidents.md, "Agent queue"). The rest of the page is templates.
ROW_HTML = (
    '<tr class="queue-row{}" tabindex="-1" data-queue-row>'
    '<td class="queue-table__select" data-label="Select">'
    '<input type="checkbox" name="incident" value="{}" id="select-{}" data-queue-check>'
    '<label for="select-{}" class="visually-hidden">Select {}</label>'
    '<input type="hidden" name="on_page" value="{}"></td>'
    '<th scope="row" data-label="Number"><span><a href="{}" data-queue-open>{}</a>{}</span></th>'
    '<td data-label="Title" class="queue-table__title">{}</td>'
    '<td data-label="Service">{}</td>'
    '<td data-label="Priority"><span><span class="badge queue-priority queue-priority--{}">{}'
    "</span></span></td>"
    '<td data-label="State">{}</td>'
    '<td data-label="SLA"><span><span class="queue-sla{}">{}</span>{}</span></td>'
    '<td data-label="Assigned to"><span>{}{}</span></td>'
    '<td data-label="Affected" class="queue-table__num">{}</td>'
    '<td data-label="Updated"><time datetime="{}" title="{}">{}</time></td>'
    "</tr>"
)


# Relative times at the precision a queue needs ("3 hours", "2 days"), without Django's
# timesince, which costs more than the rest of a row.
TIME_UNITS: tuple[tuple[int, str], ...] = (
    (365 * 86400, "year"),
    (30 * 86400, "month"),
    (7 * 86400, "week"),
    (86400, "day"),
    (3600, "hour"),
    (60, "minute"),
)


def _span(start: datetime, end: datetime) -> str:
    """How long from ``start`` to ``end``, in its largest whole unit; "" under a minute."""
    seconds = max(0, int((end - start).total_seconds()))
    for size, unit in TIME_UNITS:
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return ""


def _ago(moment: datetime, now: datetime) -> str:
    span = _span(moment, now)
    return f"{span} ago" if span else "just now"


def _when(moment: datetime) -> tuple[str, str]:
    """An instant as ``datetime`` attribute and as a readable title, in the viewer's zone."""
    local = timezone.localtime(moment)
    return local.isoformat(), local.strftime("%-d %b %Y, %H:%M")


@dataclass(frozen=True)
class RowParts:
    """What every row of one page shares, made once per page."""

    now: datetime
    major_badge: SafeString
    # The incident page's address with a placeholder number, to fill in per row.
    detail_url: str


NUMBER_PLACEHOLDER = "INC-000000"
UNASSIGNED_HTML = mark_safe('<span class="muted">Unassigned</span>')


def _row_parts(now: datetime) -> RowParts:
    return RowParts(
        now=now,
        major_badge=format_html(' <span class="badge queue-major">{}Major</span>', icon("alert")),
        detail_url=reverse("incidents:detail", args=[NUMBER_PLACEHOLDER]),
    )


def _row(incident: Incident, affected: int, parts: RowParts) -> QueueRow:
    now = parts.now
    relative = ""
    due = incident.sla_due_at
    if due is not None:
        if due < now:
            relative = f"overdue by {_span(due, now) or 'less than a minute'}"
        else:
            relative = f"due in {_span(now, due) or 'less than a minute'}"
    tone = SLA_TONES.get(SlaState(incident.sla_state), "") if incident.sla_state else ""
    label = SLA_LABELS[incident.sla_state] if incident.sla_state else "No SLA"
    row = QueueRow(
        incident=incident,
        affected=affected,
        sla_tone=tone,
        sla_label=label,
        sla_relative=relative,
        updated_relative=_ago(incident.updated_at, now),
    )
    tone_class = f" queue-sla--{tone}" if tone else ""
    due_html = SafeString("")
    if due is not None:
        due_iso, due_title = _when(due)
        due_html = format_html(
            ' <time class="queue-sla__due{}" datetime="{}" title="{}">{}</time>',
            tone_class,
            due_iso,
            due_title,
            relative,
        )
    assignee = incident.assignee
    group = incident.assignment_group
    updated_iso, updated_title = _when(incident.updated_at)
    target = f"{incident.pk}:{incident.version}"
    row.html = format_html(
        ROW_HTML,
        " queue-row--major" if incident.is_major else "",
        target,
        incident.pk,
        incident.pk,
        incident.number,
        target,
        parts.detail_url.replace(NUMBER_PLACEHOLDER, str(incident.number)),
        incident.number,
        parts.major_badge if incident.is_major else "",
        incident.title,
        incident.service.name,
        incident.priority,
        PRIORITY_LABELS[incident.priority],
        STATE_LABELS[incident.state],
        tone_class,
        label,
        due_html,
        (assignee.display_name if assignee is not None else UNASSIGNED_HTML),
        (
            format_html('<span class="queue-group">{}</span>', group.name)
            if group is not None
            else ""
        ),
        affected,
        updated_iso,
        updated_title,
        row.updated_relative,
    )
    return row


def _url(params: QueryDict, **changes: str | None) -> str:
    query = params.copy()
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    encoded = query.urlencode()
    base = reverse("incidents:queue")
    return f"{base}?{encoded}" if encoded else base


def _render_queue(
    request: HttpRequest,
    user: User,
    params: QueryDict,
    *,
    save_form: SaveViewForm | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    lookups = _lookups(user)
    filters = QueueFilterForm(params, services=lookups.services, teams=lookups.teams)
    filters.is_valid()
    query = filters.to_query()
    sort, descending = query.sort_order, query.is_descending
    cursor = None
    if filters.cleaned_data.get("cursor"):
        try:
            cursor = queues.decode_cursor(sort, descending, filters.cleaned_data["cursor"])
        except ValidationFailed as error:
            filters.add_domain_error(error)
    page = queues.seek_page(queues.select_incidents(user, query, now), sort, descending, cursor)
    affected = queues.affected_counts(incident.pk for incident in page.rows)
    counts = queues.queue_counts(user, now)
    parts = _row_parts(now)
    saved_views = list(visible_to(user, SavedView.objects.all()))

    canonical = queues.canonical_query(params)
    view_params = QueryDict(canonical, mutable=True)
    saved_tabs = [
        SavedTab(view=view, url=_url(QueryDict(view.query)), current=view.query == canonical)
        for view in saved_views
    ]
    on_saved_view = any(tab.current for tab in saved_tabs)
    tabs = [
        QueueTab(
            key=item.key,
            label=item.label,
            count=counts.get(item.key) if item.counted else None,
            url=_url(QueryDict(), queue=item.key),
            current=item.key == query.queue and not on_saved_view,
        )
        for item in queues.QUEUES
    ]
    headers = {}
    for key in SORTABLE_COLUMNS:
        column_sort = queues.SORTS_BY_KEY[key]
        is_current = column_sort.key == sort.key
        # A click on the sorted column flips it; on another column, that column's natural order.
        flip_to_desc = not descending if is_current else column_sort.default_descending
        headers[key] = SortHeader(
            label=column_sort.label,
            url=_url(view_params, sort=key, dir="desc" if flip_to_desc else "asc"),
            sorted=("descending" if descending else "ascending") if is_current else "",
        )
    advanced = [
        query.states,
        query.priorities,
        query.category,
        query.sla_state,
        query.created_after,
        query.created_before,
        query.sort,
        query.descending is not None,
    ]
    return render(
        request,
        "incidents/queue.html",
        {
            "query": query,
            "queue": queues.QUEUES_BY_KEY[query.queue],
            "filters": filters,
            "problems": filters.error_summary() if filters.errors else [],
            "lookups": lookups,
            "rows": [_row(incident, affected.get(incident.pk, 0), parts) for incident in page.rows],
            "page": page,
            "next_url": _url(view_params, cursor=page.next_cursor) if page.next_cursor else "",
            "previous_url": (
                _url(view_params, cursor=page.previous_cursor) if page.previous_cursor else ""
            ),
            "first_url": _url(view_params) if cursor is not None else "",
            "tabs": tabs,
            "saved_tabs": saved_tabs,
            "headers": headers,
            "sort": sort,
            "descending": descending,
            "canonical": canonical,
            "is_filtered": bool(canonical and canonical != f"queue={query.queue}"),
            "advanced_open": any(advanced),
            "save_form": save_form or SaveViewForm(initial={"query": canonical}),
            "back": request.get_full_path() if request.method == "GET" else _url(view_params),
            "choices": {
                "states": State.choices,
                "priorities": Priority.choices,
                "categories": Category.choices,
                "sla": SLA_CHOICES,
                "sorts": [(item.key, item.label) for item in queues.SORTS],
                "target_states": [c for c in State.choices if c[0] != State.NEW],
                "hold_reasons": HoldReason.choices,
                "resolution_codes": ResolutionCode.choices,
            },
            "breaching_hours": queues.BREACHING_SOON_HOURS,
        },
        status=400 if filters.errors else status,
    )


# --- Pages --------------------------------------------------------------------------------------


@login_required
@require_GET
@live_page
def queue(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    if not is_staff(user):
        # Requesters have no queue; their own incidents are their list.
        return redirect("incidents:mine")
    return _render_queue(request, user, request.GET)


def _require_staff(user: User) -> None:
    if not is_staff(user):
        raise PermissionDenied("Only service desk staff work the incident queue.")


@login_required
@require_POST
@live_page
def saved_view_create(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    _require_staff(user)
    form = SaveViewForm(request.POST)
    if form.is_valid():
        try:
            view = do_save_view(
                user, name=form.cleaned_data["name"], query=form.cleaned_data["query"]
            )
        except DomainError as error:
            form.add_domain_error(error)
        else:
            messages.success(request, f"Saved the view “{view.name}”.")
            return redirect(_url(QueryDict(view.query)))
    # Back to the queue as it was, with the form's errors next to the name.
    params = QueryDict(str(form.data.get("query") or "")[: queues.MAX_QUERY_LENGTH])
    return _render_queue(request, user, params, save_form=form, status=400)


@login_required
@require_POST
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = current_user(request)
    try:
        do_delete_saved_view(user, pk)
    except NotFound:
        raise Http404("No such saved view.") from None
    messages.success(request, "Deleted the saved view.")
    return redirect("incidents:queue")


def _back_to_queue(request: HttpRequest, candidate: Any) -> str:
    """Where a bulk change returns: the queue page it came from, never anywhere else."""
    base = reverse("incidents:queue")
    target = safe_next(request, str(candidate or ""))
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path == base:
            return f"{base}?{parts.query}" if parts.query else base
    return base


def _bulk_assignee(user: User, value: str) -> User | None:
    if not value:
        return None
    if value == "me":
        return user
    person = _staff_people(user).filter(pk=int(value)).first()
    if person is None:
        raise ValidationFailed("That person cannot be assigned incidents.", field="assignee")
    return person


@login_required
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    user = current_user(request)
    _require_staff(user)
    lookups = _lookups(user, services=False)
    form = BulkForm(request.POST, teams=lookups.teams, people=lookups.people)
    back = _back_to_queue(request, request.POST.get("next"))
    if not form.is_valid():
        for problem in form.error_summary():
            messages.error(request, problem["message"])
        return redirect(back)
    data = form.cleaned_data
    outcome: BulkOutcome
    try:
        if data["operation"] == "assign":
            group = (
                visible_to(user, Team.objects.all()).filter(slug=data["group"]).first()
                if data["group"]
                else None
            )
            outcome = bulk_assign(
                user, data["targets"], group=group, assignee=_bulk_assignee(user, data["assignee"])
            )
        else:
            to_state = data["to_state"]
            outcome = bulk_transition(
                user,
                data["targets"],
                to_state,
                hold_reason=data["hold_reason"] if to_state == State.ON_HOLD else None,
                resolution_code=data["resolution_code"] if to_state == State.RESOLVED else None,
                resolution_notes=data["resolution_notes"],
            )
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
        return redirect(back)
    if not outcome.refused:
        messages.success(request, outcome.summary())
    elif outcome.updated:
        messages.warning(request, outcome.summary())
    else:
        messages.error(request, outcome.summary())
    return redirect(back)
