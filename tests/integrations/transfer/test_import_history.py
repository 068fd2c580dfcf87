"""Historical incidents imported in batches: flat query cost, exact reports, a database refusal
confined to its row."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.models import Service
from hashdesk.core.models import Event
from hashdesk.incidents.intake import MAX_BATCH
from hashdesk.incidents.models import AffectedUser, Incident, IncidentFollower
from hashdesk.integrations.transfer.importers import import_file

# PostgreSQL takes an advisory lock for the audit chain each time entries are appended.
LOCKS = 1 if connection.vendor == "postgresql" else 0
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT")


def incident_rows(count: int, reporter: User, **overrides: Any) -> list[dict[str, Any]]:
    return [
        {
            "title": f"VPN drops {number}",
            "description": f"Tunnel drops every {number} minutes.",
            "service": "vpn",
            "reporter": reporter.email,
            "state": "closed",
            "priority": 1 + number % 5,
            "created_at": "2024-03-01T09:30:00Z",
            "resolved_at": "2024-03-01T11:00:00Z",
            **overrides,
        }
        for number in range(count)
    ]


def import_incidents(actor: User, rows: list[dict[str, Any]], *, dry_run: bool) -> Any:
    return import_file(actor, "incidents", json.dumps(rows).encode(), "json", dry_run=dry_run)


@pytest.fixture
def refuse_titles_at_the_database(db: Any) -> Callable[[str], None]:
    """A trigger that refuses incidents with a given title: a constraint that only the database
    knows of, as a later migration or a database administrator might add."""

    def refuse(title: str) -> None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "CREATE FUNCTION refuse_title() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.title = '{title}' THEN RAISE EXCEPTION 'title refused' "
                    "USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$ "
                    "LANGUAGE plpgsql"
                )
                cursor.execute(
                    "CREATE TRIGGER refuse_title BEFORE INSERT ON incidents_incident "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_title()"
                )
            else:
                cursor.execute(
                    "CREATE TRIGGER refuse_title BEFORE INSERT ON incidents_incident "
                    f"WHEN NEW.title = '{title}' BEGIN SELECT RAISE(ABORT, 'title refused'); END"
                )

    # The test's transaction is rolled back, trigger and all: nothing to drop afterwards.
    return refuse


def statement_kinds(queries: CaptureQueriesContext) -> Counter[str]:
    """Statements by kind: INSERTs by table, everything else (reads, locks) as "other";
    the transaction's own bookkeeping (savepoints) is left out."""
    kinds: Counter[str] = Counter()
    for query in queries.captured_queries:
        sql = query["sql"]
        if sql.startswith(TRANSACTION_CONTROL):
            continue
        kinds[sql.split('"')[1] if sql.startswith("INSERT") else "other"] += 1
    return kinds


def insert_statements(model: type[Model], rows: int, *, with_pk: bool = False) -> int:
    """The INSERTs bulk_create sends for ``rows`` rows: one, unless the backend caps a
    statement's parameters (Django 5.2 assumes SQLite's old limit of 999)."""
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    return math.ceil(rows / connection.ops.bulk_batch_size(fields, [None] * rows))


@pytest.mark.django_db
@pytest.mark.parametrize("dry_run", [True, False])
def test_five_or_fifty_rows_cost_the_same_queries(
    administrator: User, requester: User, vpn_service: Service, query_count: Any, dry_run: bool
) -> None:
    import_incidents(administrator, incident_rows(1, requester), dry_run=True)  # warm

    def cost(count: int) -> Counter[str]:
        with query_count() as queries:
            report = import_incidents(
                administrator, incident_rows(count, requester), dry_run=dry_run
            )
        assert report.errors == [] and report.applied is not dry_run
        return statement_kinds(queries)

    five, fifty = cost(5), cost(50)
    # The file's services and reporters, the services' visibility, the ids, the audit chain's
    # head (on apply, that head again and a lock for the import's own audit entry).
    assert five["other"] == fifty["other"] <= 6 + 2 * LOCKS
    expected = {
        "incidents_incident": insert_statements(Incident, 50, with_pk=True),
        "incidents_affecteduser": insert_statements(AffectedUser, 50),
        "incidents_incidentfollower": insert_statements(IncidentFollower, 50),
        # The incidents' entries; on apply, then the import's own.
        "audit_auditentry": insert_statements(AuditEntry, 50) + (not dry_run),
    }
    assert {table: fifty[table] for table in expected} == expected
    assert all(
        five[table] == 1 + (table == "audit_auditentry" and not dry_run) for table in expected
    )
    if connection.vendor == "postgresql":
        assert fifty == five


@pytest.mark.django_db
def test_each_batch_adds_the_same_few_queries(
    administrator: User, requester: User, vpn_service: Service, query_count: Any
) -> None:
    import_incidents(administrator, incident_rows(1, requester), dry_run=True)  # warm
    costs = []
    for count in (1, MAX_BATCH + 1, 2 * MAX_BATCH + 1):
        with query_count() as queries:
            report = import_incidents(administrator, incident_rows(count, requester), dry_run=True)
        assert report.valid == count
        costs.append(statement_kinds(queries)["other"])
    # Each batch of MAX_BATCH rows reads the services' visibility, the ids and the chain head.
    assert costs[2] - costs[1] == costs[1] - costs[0] <= 3 + LOCKS, costs


@pytest.mark.django_db
def test_a_row_the_database_refuses_is_reported_alone_and_the_batch_still_checked(
    administrator: User,
    requester: User,
    vpn_service: Service,
    refuse_titles_at_the_database: Callable[[str], None],
) -> None:
    refuse_titles_at_the_database("VPN drops 3")
    rows = incident_rows(6, requester)
    rows[5]["state"] = "lost"  # refused by the intake's own checks, in the same batch
    dry = import_incidents(administrator, rows, dry_run=True)
    assert [(e.row, e.field) for e in dry.errors] == [(4, ""), (6, "state")]
    assert "database refused this row" in dry.errors[0].message
    assert "title refused" in dry.errors[0].message
    assert dry.valid == 4

    applied = import_incidents(administrator, rows, dry_run=False)
    assert applied.as_dict() == {**dry.as_dict(), "dry_run": False}
    assert not Incident.objects.exists()

    # Without the refused rows the same file goes in whole, through the same batches.
    del rows[5], rows[3]
    events = Event.objects.count()
    done = import_incidents(administrator, rows, dry_run=False)
    assert done.applied and done.errors == []
    assert sorted(Incident.objects.values_list("title", flat=True)) == [
        f"VPN drops {n}" for n in (0, 1, 2, 4)
    ]
    assert AuditEntry.objects.filter(action="incident.create").count() == 4
    assert Event.objects.count() == events


@pytest.mark.django_db
def test_dry_run_and_apply_report_the_same_rows_in_file_order(
    administrator: User, requester: User, vpn_service: Service
) -> None:
    rows = incident_rows(MAX_BATCH + 3, requester)
    rows[2]["reporter"] = "nobody@example.test"
    rows[MAX_BATCH + 1]["resolved_at"] = ""  # closed without resolved_at, in the second batch
    rows[7]["title"] = "x" * 1000
    rows[9]["impact"] = "high"
    dry = import_incidents(administrator, rows, dry_run=True)
    assert [(e.row, e.field) for e in dry.errors] == [
        (3, "reporter"),
        (8, "title"),
        (10, "impact"),
        (MAX_BATCH + 2, "resolved_at"),
    ]
    assert dry.errors[0].message == "No person with the email nobody@example.test."
    assert dry.errors[3].message == "A closed incident needs resolved_at."
    applied = import_incidents(administrator, rows, dry_run=False)
    assert applied.as_dict() == {**dry.as_dict(), "dry_run": False}
    assert not Incident.objects.exists()
