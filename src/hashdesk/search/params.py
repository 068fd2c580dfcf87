"""Reading the search parameters shared by the page and the API (q, type, service, from, to)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from hashdesk.catalog.models import Service
from hashdesk.core.errors import NotFound, ValidationFailed
from hashdesk.core.visibility import visible_to
from hashdesk.search.query import parse_kinds


@dataclass(frozen=True)
class Filters:
    kinds: list[str] | None
    service: Service | None
    since: datetime | None
    until: datetime | None


def _day(raw: str, field: str) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as error:
        raise ValidationFailed("Give a date as YYYY-MM-DD.", field=field) from error


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def filters(
    user: Any, *, type: str = "", service: str = "", start: str = "", end: str = ""
) -> Filters:
    """ValidationFailed for an unknown type or a bad date; NotFound for a service the person
    may not see (or that does not exist)."""
    names = [name.strip() for name in (type or "").split(",") if name.strip()]
    try:
        kinds = parse_kinds(names)
    except ValueError as error:
        raise ValidationFailed(str(error).capitalize() + ".", field="type") from error
    found = None
    if str(service or "").strip():
        raw = str(service).strip()
        if not raw.isdigit():
            raise ValidationFailed("Give a service id.", field="service")
        found = visible_to(user, Service.objects.all()).filter(pk=int(raw)).first()
        if found is None:
            raise NotFound("No such service.")
    since_day, until_day = _day(start, "from"), _day(end, "to")
    if since_day and until_day and until_day < since_day:
        raise ValidationFailed("The end date is before the start date.", field="to")
    return Filters(
        kinds=kinds,
        service=found,
        since=_aware(since_day) if since_day else None,
        # "to" is inclusive: everything before the next day.
        until=_aware(until_day + timedelta(days=1)) if until_day else None,
    )
