"""Exporting any list as CSV or JSON: one mechanism, a registry of lists.

A list is exported exactly as its page shows it to the person asking: each entry of
``LISTS`` builds the queryset from the same visibility rule (``core.visibility.visible_to``)
and the same filters as the page (its own filter form and functions, given the request's GET
parameters), and names its columns. The response is streamed: rows are read with
``QuerySet.iterator(chunk_size=...)`` (related rows through ``select_related``, many-to-many
through ``prefetch_related`` per chunk), so the number of queries depends on the number of
chunks, not rows, and memory stays flat. CSV cells that a spreadsheet would run as a formula
(starting with ``= + - @``, tab or carriage return) are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.db.models import Model, QuerySet
from django.http import QueryDict, StreamingHttpResponse
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.core.errors import Forbidden, NotFound, ValidationFailed
from hashdesk.core.visibility import can_manage_people, is_staff, visible_to

CHUNK_SIZE = 500
FORMATS = ("csv", "json")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Cell = Callable[[Any], Any]


@dataclass(frozen=True)
class Column:
    header: str
    # An attribute path ("service.slug") or a function of the row.
    source: str | Cell

    def value(self, obj: Any) -> Any:
        if callable(self.source):
            return self.source(obj)
        value = obj
        for part in self.source.split("."):
            value = getattr(value, part, None)
            if value is None:
                return None
        return value


@dataclass(frozen=True)
class ExportList:
    name: str
    # The rows the person sees on the list page with these GET parameters.
    rows: Callable[[User, QueryDict], QuerySet[Any]]
    columns: tuple[Column, ...]


def plain(value: Any) -> Any:
    """A cell's value as JSON can hold it."""
    if isinstance(value, datetime):
        return timezone.localtime(value, UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Model):
        return str(value)
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)


def csv_cell(value: Any) -> str:
    """A cell's text, safe to open in a spreadsheet (no formula injection)."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        text = " ".join(str(item) for item in value)
    elif isinstance(value, dict):
        text = json.dumps(value)
    else:
        text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


class _Line:
    """A file-like object that hands back what csv.writer wrote (one row)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(columns: Iterable[Column], objects: Iterable[Any]) -> Iterator[str]:
    columns = tuple(columns)
    writer = csv.writer(_Line())
    yield writer.writerow([column.header for column in columns])
    for obj in objects:
        yield writer.writerow([csv_cell(column.value(obj)) for column in columns])


def json_chunks(columns: Iterable[Column], objects: Iterable[Any]) -> Iterator[str]:
    """A JSON array of objects, streamed one object at a time."""
    columns = tuple(columns)
    yield "["
    separator = ""
    for obj in objects:
        item = {column.header: plain(column.value(obj)) for column in columns}
        yield separator + json.dumps(item, ensure_ascii=False)
        separator = ",\n"
    yield "]\n"


def stream(
    columns: Iterable[Column], queryset: QuerySet[Any], fmt: str, filename: str
) -> StreamingHttpResponse:
    """The streamed download of ``queryset`` in ``fmt`` (csv or json)."""
    if fmt not in FORMATS:
        raise ValidationFailed("Export as csv or json.", field="format")
    objects = queryset.iterator(chunk_size=CHUNK_SIZE)
    if fmt == "csv":
        response = StreamingHttpResponse(
            csv_lines(columns, objects), content_type="text/csv; charset=utf-8"
        )
    else:
        response = StreamingHttpResponse(
            json_chunks(columns, objects), content_type="application/json"
        )
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


def export_list(user: User, name: str, params: QueryDict, fmt: str) -> StreamingHttpResponse:
    """The list ``name`` as ``user`` sees it with ``params``, as a download."""
    export = LISTS.get(name)
    if export is None:
        raise NotFound(f"No list named {name!r} can be exported.")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return stream(export.columns, export.rows(user, params), fmt, f"{name}-{stamp}")


# --- The lists ----------------------------------------------------------------------------------


def _incident_rows(user: User, params: QueryDict) -> QuerySet[Any]:
    from hashdesk.incidents import queue as queues
    from hashdesk.incidents.models import Incident
    from hashdesk.incidents.queue_forms import QueueFilterForm
    from hashdesk.incidents.queue_views import _lookups

    if not is_staff(user):
        # Requesters have no queue: their list is what they may see, newest first.
        return visible_to(user, Incident.objects.select_related("service")).order_by(
            "-created_at", "-id"
        )
    lookups = _lookups(user)
    filters = QueueFilterForm(params, services=lookups.services, teams=lookups.teams)
    filters.is_valid()
    query = filters.to_query()
    incidents = queues.select_incidents(user, query, timezone.now())
    return incidents.select_related("service", "assignment_group", "assignee", "reporter").order_by(
        *queues.ordering(query.sort_order, query.is_descending)
    )


def _service_rows(user: User, params: QueryDict) -> QuerySet[Any]:
    from hashdesk.catalog.forms import CatalogueFilterForm
    from hashdesk.catalog.views import _search, _services_for

    filters = CatalogueFilterForm(params or None)
    services = _services_for(user).prefetch_related("depends_on").order_by("name", "id")
    if filters.is_bound and filters.is_valid():
        services = _search(services, filters.cleaned_data["q"])
        if filters.cleaned_data["category"]:
            services = services.filter(category__slug=filters.cleaned_data["category"])
        if filters.cleaned_data["criticality"]:
            services = services.filter(criticality=filters.cleaned_data["criticality"])
    return services


def _people_rows(user: User, params: QueryDict) -> QuerySet[Any]:
    from hashdesk.accounts.admin_forms import PeopleFilterForm
    from hashdesk.accounts.people_views import _filtered_people

    if not can_manage_people(user):
        raise Forbidden("Only administrators can export people.")
    return _filtered_people(user, PeopleFilterForm(params or None)).prefetch_related("teams")


def _change_rows(user: User, params: QueryDict) -> QuerySet[Any]:
    from hashdesk.changes.models import Change

    return visible_to(user, Change.objects.select_related("owner", "requester")).order_by(
        "-planned_start", "-id"
    )


def _problem_rows(user: User, params: QueryDict) -> QuerySet[Any]:
    from hashdesk.problems.models import Problem

    if not is_staff(user):
        raise Forbidden("Only service desk staff see problems.")
    return visible_to(user, Problem.objects.select_related("owner")).order_by("-created_at", "-id")


def _article_rows(user: User, params: QueryDict) -> QuerySet[Any]:
    from hashdesk.knowledge.forms import ArticleFilters
    from hashdesk.knowledge.views import filtered_articles

    articles = filtered_articles(user, ArticleFilters(params))
    return articles.select_related("owner").order_by("-updated_at", "-id")


def _names(attribute: str, field: str) -> Cell:
    return lambda obj: [getattr(item, field) for item in getattr(obj, attribute).all()]


LISTS: dict[str, ExportList] = {
    "incidents": ExportList(
        "incidents",
        _incident_rows,
        (
            Column("number", "number"),
            Column("title", "title"),
            Column("service", "service.slug"),
            Column("state", "state"),
            Column("priority", "priority"),
            Column("impact", "impact"),
            Column("urgency", "urgency"),
            Column("category", "category"),
            Column("assignment_group", "assignment_group.slug"),
            Column("assignee", "assignee.email"),
            Column("sla_state", "sla_state"),
            Column("created_at", "created_at"),
            Column("updated_at", "updated_at"),
            Column("resolved_at", "resolved_at"),
        ),
    ),
    "services": ExportList(
        "services",
        _service_rows,
        (
            Column("name", "name"),
            Column("slug", "slug"),
            Column("hashtag", "hashtag"),
            Column("description", "description"),
            Column("category", "category.name"),
            Column("owner_team", "owner_team.slug"),
            Column("criticality", "criticality"),
            Column("visibility", "visibility"),
            Column("depends_on", _names("depends_on", "slug")),
        ),
    ),
    "people": ExportList(
        "people",
        _people_rows,
        (
            Column("email", "email"),
            Column("display_name", "display_name"),
            Column("department", "department"),
            Column("site", "site"),
            Column("is_vip", "is_vip"),
            Column("time_zone", "time_zone"),
            Column("roles", _names("groups", "name")),
            Column("teams", _names("teams", "slug")),
            Column("is_active", "is_active"),
        ),
    ),
    "changes": ExportList(
        "changes",
        _change_rows,
        (
            Column("number", "number"),
            Column("summary", "summary"),
            Column("type", "type"),
            Column("state", "state"),
            Column("risk", "risk"),
            Column("owner", "owner.email"),
            Column("planned_start", "planned_start"),
            Column("planned_end", "planned_end"),
        ),
    ),
    "problems": ExportList(
        "problems",
        _problem_rows,
        (
            Column("number", "number"),
            Column("title", "title"),
            Column("state", "state"),
            Column("owner", "owner.email"),
            Column("known_error_published_at", "known_error_published_at"),
            Column("created_at", "created_at"),
            Column("resolved_at", "resolved_at"),
        ),
    ),
    "articles": ExportList(
        "articles",
        _article_rows,
        (
            Column("number", "number"),
            Column("title", "title"),
            Column("state", "state"),
            Column("visibility", "visibility"),
            Column("owner", "owner.email"),
            Column("published_at", "published_at"),
            Column("updated_at", "updated_at"),
        ),
    ),
}
