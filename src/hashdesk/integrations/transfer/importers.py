"""Importing services, people and historical incidents through the domain's own actions.

Each row becomes calls of the action a person would have used (catalog.actions,
accounts.actions, incidents.intake with ``historical=True``), so every rule they check is
checked here and nothing is duplicated. The whole file runs in one transaction, each row of
services and people in a savepoint: a refused row is undone alone and reported (row number,
field, message) while the following rows are still checked, later rows may name services or
people created by earlier ones. Historical incidents are all read first and then recorded
in batches (``_import_incidents``), reporting the same rows with the same messages. At the
end the transaction is rolled back on a dry run, and also on apply when any row was refused:
**a file is applied all or nothing** (docs/integrations/transfer.md explains why). On apply
one audit entry ``transfer.import`` records the file's kind, counts and name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import DataError, IntegrityError, transaction
from django.utils.dateparse import parse_datetime

from hashdesk.accounts import actions as accounts
from hashdesk.accounts.models import Team, User
from hashdesk.audit import trail
from hashdesk.catalog import actions as catalog
from hashdesk.catalog.models import Service, ServiceCategory
from hashdesk.core.errors import DomainError, Forbidden, ValidationFailed
from hashdesk.core.visibility import can_manage_catalog, can_manage_people, is_administrator
from hashdesk.incidents.intake import MAX_BATCH, NewIncident, do_create_incidents
from hashdesk.integrations.transfer.parsing import Row, read_rows

# What the database raises for a row's own data (a constraint, a value it cannot store); other
# database errors (a lost connection, a lock timeout) fail the whole import.
ROW_DATABASE_ERRORS = (IntegrityError, DataError)


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str


@dataclass
class ImportReport:
    kind: str
    dry_run: bool
    total: int = 0
    valid: int = 0
    applied: bool = False
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len({error.row for error in self.errors})

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "dry_run": self.dry_run,
            "applied": self.applied,
            "total": self.total,
            "valid": self.valid,
            "rejected": self.rejected,
            "errors": [{"row": e.row, "field": e.field, "message": e.message} for e in self.errors],
        }


# --- Cells ---------------------------------------------------------------------------------


def _text(values: dict[str, Any], name: str) -> str:
    value = values.get(name)
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return str(value)
    if not isinstance(value, str):
        raise ValidationFailed("Give text here.", field=name)
    return value.strip()


def _list(values: dict[str, Any], name: str) -> list[str]:
    """A JSON list, or text separated by spaces, commas or semicolons."""
    value = values.get(name)
    if isinstance(value, list):
        if not all(isinstance(item, str) for item in value):
            raise ValidationFailed("Give a list of names.", field=name)
        return [item.strip() for item in value if item.strip()]
    text = _text(values, name).replace(";", " ").replace(",", " ")
    return text.split()


def _flag(values: dict[str, Any], name: str) -> bool:
    value = values.get(name)
    if isinstance(value, bool):
        return value
    text = _text(values, name).lower()
    if text in {"", "0", "false", "no"}:
        return False
    if text in {"1", "true", "yes"}:
        return True
    raise ValidationFailed("Give true or false.", field=name)


def _number(values: dict[str, Any], name: str) -> int | None:
    text = _text(values, name)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise ValidationFailed("Give a whole number.", field=name) from None


def _moment(values: dict[str, Any], name: str) -> datetime | None:
    text = _text(values, name)
    if not text:
        return None
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        raise ValidationFailed(
            "Give an ISO 8601 date and time, such as 2025-03-01T09:30:00Z.", field=name
        )
    return moment


def _required(values: dict[str, Any], name: str) -> str:
    text = _text(values, name)
    if not text:
        raise ValidationFailed(f"{name} is required.", field=name)
    return text


# --- Kinds ---------------------------------------------------------------------------------


def _team(slug: str, name: str) -> Team | None:
    if not slug:
        return None
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise ValidationFailed(f"No team with the slug {slug!r}.", field=name)
    return team


def _import_service(actor: User | None, values: dict[str, Any]) -> Service:
    category_name = _text(values, "category")
    category = None
    if category_name:
        category = ServiceCategory.objects.filter(name__iexact=category_name).first()
        if category is None:
            category = catalog.do_create_category(actor, name=category_name)
    fields: dict[str, Any] = {}
    for name in ("criticality", "visibility"):
        if _text(values, name):
            fields[name] = _text(values, name)
    return catalog.do_create_service(
        actor,
        name=_required(values, "name"),
        hashtag=_required(values, "hashtag"),
        slug=_text(values, "slug"),
        description=_text(values, "description"),
        category=category,
        owner_team=_team(_text(values, "owner_team"), "owner_team"),
        **fields,
    )


def _import_dependencies(actor: User | None, service: Service, values: dict[str, Any]) -> None:
    for slug in _list(values, "depends_on"):
        depends_on = Service.objects.filter(slug=slug).first()
        if depends_on is None:
            raise ValidationFailed(f"No service with the slug {slug!r}.", field="depends_on")
        catalog.do_add_dependency(actor, service, depends_on)


def _import_person(actor: User | None, values: dict[str, Any]) -> User:
    teams = [_team(slug, "teams") for slug in _list(values, "teams")]
    person = accounts.do_create_user(
        actor,
        email=_required(values, "email"),
        display_name=_required(values, "display_name"),
        department=_text(values, "department"),
        site=_text(values, "site"),
        is_vip=_flag(values, "is_vip"),
        time_zone=_text(values, "time_zone") or "UTC",
        roles=_list(values, "roles") or None,
    )
    for team in teams:
        if team is not None:
            accounts.do_add_team_member(actor, team, person)
    return person


def _import_incidents(actor: User | None, report: ImportReport, rows: Sequence[Row]) -> None:
    """Historical incidents at bulk speed, reporting exactly what row-by-row import would.

    Every row's cells are read first, in Python, against the file's services and reporters
    (read once for the file, a query per 500 names). The items are then handed to
    ``do_create_incidents`` ``intake.MAX_BATCH`` at a time, each batch in its own savepoint:
    it checks every item of the batch before writing, puts the refused ones in ``refused``
    (the error it raises for that item alone) and records the others with one insert per
    table. Should the database refuse a batch (a constraint no check knew of), that batch
    alone is recorded again row by row, so the row it refuses is reported on its own and the
    others still go in.
    """
    services = _by_key(Service, "slug", _cells(rows, "service"))
    reporters = _by_key(User, "email", {email.lower() for email in _cells(rows, "reporter")})
    parsed: list[tuple[Row, NewIncident]] = []
    for row in rows:
        try:
            parsed.append((row, _new_incident(row.values, services, reporters)))
        except DomainError as error:
            report.errors.append(RowError(row.number, error.field or "", error.detail))
    for start in range(0, len(parsed), MAX_BATCH):
        batch = parsed[start : start + MAX_BATCH]
        refused: dict[int, DomainError] = {}
        try:
            with transaction.atomic():
                do_create_incidents(
                    actor, [item for _row, item in batch], historical=True, refused=refused
                )
        except (DomainError, *ROW_DATABASE_ERRORS):
            _record_one_by_one(actor, report, batch)
            continue
        for index, refusal in refused.items():
            report.errors.append(
                RowError(batch[index][0].number, refusal.field or "", refusal.detail)
            )


def _record_one_by_one(
    actor: User | None, report: ImportReport, batch: Sequence[tuple[Row, NewIncident]]
) -> None:
    """The rows of a refused batch, each in its own savepoint, so the bad one is reported."""
    items = {row.number: item for row, item in batch}
    for _created in _each_row(
        report,
        [row for row, _item in batch],
        lambda row: do_create_incidents(
            actor, [items[row.number]], indexed_fields=False, historical=True
        ),
    ):
        pass


def _cells(rows: Sequence[Row], name: str) -> set[str]:
    """The column's readable, non-empty values (an unreadable one is reported with its row)."""
    values = set()
    for row in rows:
        try:
            values.add(_text(row.values, name))
        except DomainError:
            continue
    values.discard("")
    return values


def _by_key(model: type[Any], key: str, values: set[str]) -> dict[str, Any]:
    """``model`` rows whose ``key`` is one of ``values``, by that key: one query per 500."""
    found: dict[str, Any] = {}
    ordered = sorted(values)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        for obj in model.objects.filter(**{f"{key}__in": chunk}):
            found[getattr(obj, key)] = obj
    return found


def _new_incident(
    values: dict[str, Any], services: dict[str, Service], reporters: dict[str, User]
) -> NewIncident:
    """The row's cells as an intake item, checked in the order the columns always were."""
    slug = _required(values, "service")
    service = services.get(slug)
    if service is None:
        raise ValidationFailed(f"No service with the slug {slug!r}.", field="service")
    email = _required(values, "reporter").lower()
    reporter = reporters.get(email)
    if reporter is None:
        raise ValidationFailed(f"No person with the email {email}.", field="reporter")
    optional: dict[str, Any] = {}
    for name in ("category", "source"):
        if _text(values, name):
            optional[name] = _text(values, name)
    for name in ("impact", "urgency"):
        number = _number(values, name)
        if number is not None:
            optional[name] = number
    return NewIncident(
        title=_required(values, "title"),
        description=_text(values, "description"),
        service=service,
        reporter=reporter,
        created_at=_moment(values, "created_at"),
        state=_text(values, "state") or None,
        priority=_number(values, "priority"),
        resolved_at=_moment(values, "resolved_at"),
        **optional,
    )


def _row_by_row(
    create: Callable[[User | None, dict[str, Any]], Any],
    link: Callable[[User | None, Any, dict[str, Any]], None] | None = None,
) -> Callable[[User | None, ImportReport, Sequence[Row]], None]:
    """Import each row through ``create`` in its own savepoint; then, when given, ``link``
    each accepted row in a second pass, for references between rows."""

    def import_each(actor: User | None, report: ImportReport, rows: Sequence[Row]) -> None:
        created = list(_each_row(report, rows, lambda row: create(actor, row.values)))
        if link is not None:
            accepted = {row.number: obj for row, obj in created}
            for _linked in _each_row(
                report,
                [row for row, _obj in created],
                lambda row: link(actor, accepted[row.number], row.values),
            ):
                pass

    return import_each


@dataclass(frozen=True)
class Kind:
    name: str
    columns: tuple[str, ...]
    required: tuple[str, ...]
    may_import: Callable[[User], bool]
    # Imports the rows inside the file's transaction, adding each refused row to the report.
    import_rows: Callable[[User | None, ImportReport, Sequence[Row]], None]


KINDS: dict[str, Kind] = {
    "services": Kind(
        "services",
        (
            "name",
            "hashtag",
            "slug",
            "description",
            "category",
            "owner_team",
            "criticality",
            "visibility",
            "depends_on",
        ),
        ("name", "hashtag"),
        can_manage_catalog,
        _row_by_row(_import_service, _import_dependencies),
    ),
    "people": Kind(
        "people",
        ("email", "display_name", "department", "site", "is_vip", "time_zone", "roles", "teams"),
        ("email", "display_name"),
        can_manage_people,
        _row_by_row(_import_person),
    ),
    "incidents": Kind(
        "incidents",
        (
            "title",
            "description",
            "service",
            "reporter",
            "category",
            "impact",
            "urgency",
            "priority",
            "state",
            "created_at",
            "resolved_at",
            "source",
        ),
        ("title", "service", "reporter"),
        is_administrator,
        _import_incidents,
    ),
}


def kind_named(name: str) -> Kind:
    kind = KINDS.get(name)
    if kind is None:
        raise ValidationFailed(
            f"Unknown kind {name!r}; import one of {', '.join(KINDS)}.", field="kind"
        )
    return kind


def require_importer(actor: User | None, kind: Kind) -> None:
    """Imports are for administrators (``actor`` None is the system: the CLI)."""
    if actor is not None and not (is_administrator(actor) and kind.may_import(actor)):
        raise Forbidden("Only administrators can import data.")


def import_file(
    actor: User | None,
    kind_name: str,
    data: bytes,
    fmt: str,
    *,
    dry_run: bool,
    filename: str = "",
) -> ImportReport:
    """Check (and unless ``dry_run``, apply) an import file; see the module's docstring."""
    kind = kind_named(kind_name)
    require_importer(actor, kind)
    rows = read_rows(data, fmt, columns=kind.columns, required=kind.required)
    return import_rows(actor, kind, rows, dry_run=dry_run, filename=filename)


def import_rows(
    actor: User | None, kind: Kind, rows: Sequence[Row], *, dry_run: bool, filename: str = ""
) -> ImportReport:
    report = ImportReport(kind=kind.name, dry_run=dry_run, total=len(rows))
    with transaction.atomic():
        kind.import_rows(actor, report, rows)
        report.errors.sort(key=lambda error: error.row)
        report.valid = report.total - report.rejected
        if dry_run or report.errors:
            transaction.set_rollback(True)
            return report
        report.applied = True
        trail.record(
            actor=actor,
            action="transfer.import",
            object_type="transfer.import",
            object_id=kind.name,
            after={"kind": kind.name, "rows": report.total, "file": filename[:200]},
        )
    return report


def _each_row(
    report: ImportReport, rows: Iterable[Row], apply: Callable[[Row], Any]
) -> Iterable[tuple[Row, Any]]:
    """``apply`` to each row in its own savepoint; a refused row is undone and reported,
    whether an action refused it or the database did (a constraint no action checks)."""
    for row in rows:
        try:
            with transaction.atomic():
                result = apply(row)
        except DomainError as error:
            report.errors.append(RowError(row.number, error.field or "", error.detail))
            continue
        except ROW_DATABASE_ERRORS as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else "refused"
            report.errors.append(
                RowError(row.number, "", f"The database refused this row: {reason}.")
            )
            continue
        yield row, result


def report_rows(report: ImportReport) -> Iterable[list[str]]:
    """The report as CSV rows (header first), for download."""
    yield ["row", "field", "message"]
    for error in report.errors:
        yield [str(error.row), error.field, error.message]


def report_json(report: ImportReport) -> str:
    return json.dumps(report.as_dict())
