"""Cursor pagination over a keyset: ``?limit=`` and ``?cursor=``, never OFFSET.

A page is ``{"items": [...], "next_cursor": "..." | null}`` with a ``Link: <…>; rel="next"``
header. The cursor is base64url of the last row's sort key (which always ends with the primary
key, so keys are unique). The next page is "rows after this key", fetched as ``limit + 1`` rows
to learn whether there is a page after it: inserts and deletes elsewhere in the list never make a
client skip or repeat a row, and no page costs more than one indexed range scan.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from pydantic import Field

from hashdesk.api.schemas import RefusesNulCharacters
from hashdesk.core.errors import ValidationFailed

M = TypeVar("M", bound=Model)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR_LENGTH = 512


class PageParams(RefusesNulCharacters):
    """Query parameters of every list endpoint."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")
    cursor: str | None = Field(
        None,
        max_length=MAX_CURSOR_LENGTH,
        description="The next_cursor of the previous page; omit for the first page.",
    )


@dataclass(frozen=True)
class Keyset:
    """A sort order usable for keyset paging: field names, '-' for descending, ending in id."""

    fields: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.fields or self.fields[-1].lstrip("-") not in {"id", "pk"}:
            raise ValueError("a keyset must end with the primary key to be unique")

    @property
    def tag(self) -> str:
        return ",".join(self.fields)

    def key_of(self, obj: Model) -> list[Any]:
        values = []
        for spec in self.fields:
            value = getattr(obj, spec.lstrip("-"))
            values.append(value.isoformat() if isinstance(value, datetime) else value)
        return values

    def encode(self, obj: Model) -> str:
        raw = json.dumps([self.tag, *self.key_of(obj)], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def decode(self, cursor: str, model: type[Model]) -> list[Any]:
        """The sort key in ``cursor``, converted to field values; ValidationFailed if bad."""
        message = "This cursor is not valid for this list; start again without one."
        bad = ValidationFailed(
            message,
            field="cursor",
            errors=[{"field": "cursor", "location": "query", "message": message}],
        )
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        except (ValueError, binascii.Error, UnicodeError):
            raise bad from None
        if not isinstance(data, list) or len(data) != len(self.fields) + 1 or data[0] != self.tag:
            raise bad
        values = []
        for spec, raw_value in zip(self.fields, data[1:], strict=True):
            if not isinstance(raw_value, str | int | float) or isinstance(raw_value, bool):
                raise bad
            # JSON round-trips floats exactly (a score orders some lists), but not NaN or ∞.
            if isinstance(raw_value, float) and not math.isfinite(raw_value):
                raise bad
            try:
                field = model._meta.get_field(spec.lstrip("-"))
                if not isinstance(field, models.Field):
                    raise bad
                values.append(field.to_python(raw_value))
            except (FieldDoesNotExist, ValidationError, TypeError, ValueError):
                raise bad from None
            if values[-1] is None:
                raise bad
        return values

    def after(self, key: list[Any]) -> Q:
        """Rows strictly after ``key`` in this order: (a > x) or (a = x and b > y) or …"""
        condition = Q(pk__in=[])
        for index, spec in enumerate(self.fields):
            name = spec.lstrip("-")
            lookup = "lt" if spec.startswith("-") else "gt"
            equal = {self.fields[i].lstrip("-"): key[i] for i in range(index)}
            condition |= Q(**equal, **{f"{name}__{lookup}": key[index]})
        return condition


def _next_link(request: HttpRequest, cursor: str) -> str:
    query = request.GET.copy()
    query["cursor"] = cursor
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def paginate(
    request: HttpRequest,
    response: HttpResponse,
    queryset: QuerySet[M],
    keyset: Keyset,
    params: PageParams,
    *,
    ids_first: bool = False,
) -> dict[str, Any]:
    """One page of ``queryset`` in ``keyset`` order, as the body of a page response.

    ``ids_first``: sort only the keys and read the page's rows by id in a second query. For
    lists whose filter leaves many candidates to sort (no index gives the order) and whose rows
    are wide or carry per-row subqueries: SQLite otherwise copies every candidate's whole row,
    and computes its subqueries, into the sorter before it keeps ``limit`` of them.
    """
    rows = queryset.order_by(*keyset.fields)
    if params.cursor:
        rows = rows.filter(keyset.after(keyset.decode(params.cursor, queryset.model)))
    if ids_first:
        ids = list(rows.values_list("pk", flat=True)[: params.limit + 1])
        by_id = queryset.in_bulk(ids)
        items = [by_id[pk] for pk in ids if pk in by_id]
    else:
        items = list(rows[: params.limit + 1])
    next_cursor = None
    if len(items) > params.limit:
        items = items[: params.limit]
        next_cursor = keyset.encode(items[-1])
        response["Link"] = f'<{_next_link(request, next_cursor)}>; rel="next"'
    return {"items": items, "next_cursor": next_cursor}
