"""Writing the demo's year of incidents (``demo.incidents.plan_history``) in bulk.

The organisation is loaded through the actions; tens of thousands of incidents are not: one
action per step would take many minutes and fill the event log and the audit trail with a past
that never happened. History is seed data, not something anyone did, so it is written straight
to the tables, the way the actions would have left them:

- numbers come from primary keys reserved up front (``format_number``), so each incident is
  inserted complete, with its number, in one statement per batch;
- each incident gets its response and resolution SLA clocks with the policy for its priority
  and service, read with ``hashdesk.sla.clock.read_clock`` like ``incidents.sla`` does, and the
  summary fields ``sla_state`` / ``sla_due_at``. Clocks of open incidents that passed their
  warning or due time are recorded as warned or breached (with the internal ``sla_breach``
  timeline entry), so the minute task has nothing old to announce;
- resolved incidents older than ``INCIDENT_AUTO_CLOSE_DAYS`` are already closed and no major
  incident is left open, so the hourly and reminder tasks do not replay the year either;
- no events and no audit rows: nothing happened now, and the event log must stay the log of
  what people do.

Everything is written in batches inside the caller's transaction. The history is loaded only
into a database without incidents, so a second run adds nothing and real incidents are never
mixed with invented ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import DateTimeField, Field, JSONField, Model
from django.utils import timezone

from hashdesk.accounts.models import Team, User
from hashdesk.catalog.models import ConfigurationItem, Service
from hashdesk.core.markup import render_markdown
from hashdesk.demo.incidents import (
    PersonRef,
    PlannedEntry,
    PlannedIncident,
    TeamRef,
    plan_history,
)
from hashdesk.incidents import sla
from hashdesk.incidents.choices import LinkKind, SlaKind, TimelineKind
from hashdesk.incidents.intake import reserve_incident_ids
from hashdesk.incidents.models import (
    AffectedUser,
    Incident,
    IncidentFollower,
    IncidentLink,
    IncidentSlaClock,
    TimelineEntry,
    format_number,
)
from hashdesk.sla.business_time import CalendarSnapshot
from hashdesk.sla.clock import ClockState, Pause, read_clock
from hashdesk.sla.models import SlaPolicy

# Incidents per batch: their rows (about 15 per incident) are built, written and dropped together.
BATCH = 2_000
# The minute task records a breach within a minute of the due time.
BREACH_NOTICED_AFTER = timedelta(seconds=30)


class _Lookups:
    """Natural keys of the plan to primary keys, and the SLA policies, read once."""

    def __init__(self, plan: Sequence[PlannedIncident]) -> None:
        emails = {i.reporter for i in plan} | {
            p.email for i in plan for p in (*i.affected, *i.followers)
        }
        emails |= {e.author for i in plan for e in i.timeline if e.author}
        emails |= {i.assignee for i in plan if i.assignee}
        emails |= {i.commander for i in plan if i.commander}
        self.people = dict(User.objects.filter(email__in=emails).values_list("email", "pk"))
        missing = emails - set(self.people)
        if missing:
            raise LookupError(f"The demo people are incomplete: {len(missing)} missing.")
        self.teams = dict(Team.objects.values_list("name", "pk"))
        self.services = dict(Service.objects.values_list("hashtag", "pk"))
        self.items = dict(ConfigurationItem.objects.values_list("name", "pk"))
        self._policies = list(SlaPolicy.objects.filter(is_active=True).select_related("calendar"))
        self.calendars: dict[int, CalendarSnapshot] = {
            p.calendar_id: p.calendar.snapshot() for p in self._policies
        }
        self._chosen: dict[tuple[int, int], SlaPolicy | None] = {}

    def policy(self, priority: int, service_id: int) -> SlaPolicy | None:
        """As ``SlaPolicy.objects.policy_for``: the service's own policy wins over the general."""
        key = (priority, service_id)
        if key not in self._chosen:
            matching = [
                p
                for p in self._policies
                if p.priority == priority and p.service_id in (None, service_id)
            ]
            matching.sort(key=lambda p: p.service_id is None)
            self._chosen[key] = matching[0] if matching else None
        return self._chosen[key]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, PersonRef):
            return self.people[value.email]
        if isinstance(value, TeamRef):
            return self.teams[value.name]
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value


class _Table:
    """A plain multi-row INSERT for one model, through Django's connection (SQLite and
    PostgreSQL alike), for rows given as dicts of field names.

    ``bulk_create`` builds and prepares a model instance per row, which is most of the time of
    writing a few hundred thousand rows; this converts only the values that need it, times and
    JSON, with the backend's own adapters. A field missing from a row gets the field's default,
    as a model instance would.
    """

    def __init__(self, model: type[Model], *, with_id: bool = False) -> None:
        self.fields = [f for f in model._meta.concrete_fields if with_id or not f.primary_key]
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in self.fields)
        marks = ", ".join(["%s"] * len(self.fields))
        # Only the quoted names of our own table and columns go into the text; values are
        # parameters.
        table = quote(model._meta.db_table)
        self.sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
        self.columns = [(f.attname, self._preparer(f), f.get_default()) for f in self.fields]
        self.rows: list[tuple[Any, ...]] = []

    @staticmethod
    def _preparer(field: Field[Any, Any]) -> Callable[[Any], Any] | None:
        if isinstance(field, DateTimeField):
            if connection.vendor == "sqlite" and settings.USE_TZ:
                # What the SQLite backend's adapt_datetimefield_value does with an aware time
                # (naive, in the connection's zone, as text), without the checks around it,
                # which cost more than the conversion a million times over.
                zone = connection.timezone
                return lambda value: (
                    None if value is None else str(value.astimezone(zone).replace(tzinfo=None))
                )
            return connection.ops.adapt_datetimefield_value
        if isinstance(field, JSONField):
            encoder = field.encoder
            return lambda value: connection.ops.adapt_json_value(value, encoder)
        return None

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(
            tuple(
                [
                    prepare(row.get(name, default)) if prepare else row.get(name, default)
                    for name, prepare, default in self.columns
                ]
            )
        )

    def flush(self) -> int:
        written = len(self.rows)
        if written:
            with connection.cursor() as cursor:
                cursor.executemany(self.sql, self.rows)
        self.rows = []
        return written


class _Writer:
    def __init__(self, plan: Sequence[PlannedIncident], now: datetime) -> None:
        self.plan = plan
        self.now = now
        self.lookups = _Lookups(plan)
        self.ids = reserve_incident_ids(len(plan))
        self.numbers = [format_number(pk) for pk in self.ids]
        self._html: dict[str, str] = {}
        self.tables = {
            "incidents": _Table(Incident, with_id=True),
            "SLA clocks": _Table(IncidentSlaClock),
            "timeline entries": _Table(TimelineEntry),
            "affected users": _Table(AffectedUser),
            "followers": _Table(IncidentFollower),
            "incident links": _Table(IncidentLink),
        }
        self.counts = dict.fromkeys(self.tables, 0)

    def html(self, text: str) -> str:
        # Bodies repeat (they come from templates): render each distinct text once.
        if text not in self._html:
            self._html[text] = render_markdown(text)
        return self._html[text]

    def write(self, progress: Callable[[str], None]) -> dict[str, int]:
        for start in range(0, len(self.plan), BATCH):
            for planned in self.plan[start : start + BATCH]:
                self._add(planned)
            # Parents first: the foreign keys of the other rows point at the incidents.
            for kind, table in self.tables.items():
                self.counts[kind] += table.flush()
            progress(f"{min(start + BATCH, len(self.plan))} of {len(self.plan)} incidents")
        return self.counts

    def _person(self, email: str | None) -> int | None:
        return self.lookups.people[email] if email else None

    def _add(self, planned: PlannedIncident) -> None:
        pk = self.ids[planned.key]
        people = self.lookups.people
        clocks, breaches = self._clocks(planned, pk)
        self.tables["incidents"].add(self._incident(planned, pk, clocks))
        for clock in clocks:
            self.tables["SLA clocks"].add(clock)
        for entry in self._timeline(planned, pk, breaches):
            self.tables["timeline entries"].add(entry)
        for a in planned.affected:
            self.tables["affected users"].add(
                {"incident_id": pk, "user_id": people[a.email], "channel": a.channel,
                 "added_at": a.at}
            )  # fmt: skip
        for f in planned.followers:
            self.tables["followers"].add(
                {"incident_id": pk, "user_id": people[f.email], "created_at": f.at}
            )
        if planned.merged_into is not None:
            survivor = self.plan[planned.merged_into]
            self.tables["incident links"].add(
                {
                    "from_incident_id": pk,
                    "to_incident_id": self.ids[planned.merged_into],
                    "kind": LinkKind.MERGED_INTO,
                    "created_by_id": self._person(survivor.assignee),
                    "created_at": planned.closed_at,
                }
            )

    def _incident(
        self, planned: PlannedIncident, pk: int, clocks: list[dict[str, Any]]
    ) -> dict[str, Any]:
        lookups = self.lookups
        notes = planned.resolution_notes
        if planned.merged_into is not None:
            notes = notes.format(survivor=self.numbers[planned.merged_into])
        # The summary for lists, by the rule of incidents.sla: the most urgent clock state, and
        # the earliest due time of a clock still counting.
        states = {clock["state"] for clock in clocks}
        counting = [
            c["due_at"] for c in clocks if c["stopped_at"] is None and c["paused_since"] is None
        ]
        return {
            "id": pk,
            "number": self.numbers[planned.key],
            "title": planned.title,
            "description": planned.description,
            "description_html": self.html(planned.description),
            "service_id": lookups.services[planned.service],
            "configuration_item_id": (
                lookups.items[planned.configuration_item] if planned.configuration_item else None
            ),
            "category": planned.category,
            "reporter_id": lookups.people[planned.reporter],
            "impact": planned.impact,
            "impact_source": planned.impact_source,
            "urgency": planned.urgency,
            "priority": planned.priority,
            "assignment_group_id": (
                lookups.teams[planned.assignment_group] if planned.assignment_group else None
            ),
            "assignee_id": self._person(planned.assignee),
            "state": planned.state,
            "hold_reason": planned.hold_reason,
            "resolution_code": planned.resolution_code,
            "resolution_notes": notes,
            "source": planned.source,
            "visibility": planned.visibility,
            "is_major": planned.is_major,
            "major_declared_at": planned.major_declared_at,
            "major_reason": planned.major_reason,
            "commander_id": self._person(planned.commander),
            "update_cadence_minutes": planned.update_cadence_minutes,
            "next_update_due_at": None,
            "last_reminded_at": None,
            "merged_into_id": (
                self.ids[planned.merged_into] if planned.merged_into is not None else None
            ),
            "version": planned.version,
            "created_at": planned.created_at,
            "updated_at": planned.updated_at or planned.created_at,
            "assigned_at": planned.assigned_at,
            "first_response_at": planned.first_response_at,
            "resolved_at": planned.resolved_at,
            "closed_at": planned.closed_at,
            "sla_state": next((s for s in sla.URGENCY if s in states), ""),
            "sla_due_at": min(counting, default=None),
        }

    def _clocks(
        self, planned: PlannedIncident, pk: int
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Both clocks as the actions would have left them, and those that breached."""
        service_id = self.lookups.services[planned.service]
        if self.lookups.policy(planned.priority_at(planned.created_at), service_id) is None:
            # start_clocks: no active policy for the priority, no clocks.
            return [], []
        clocks, breached = [], []
        for kind, stop in (
            (SlaKind.RESPONSE, planned.response_stop),
            (SlaKind.RESOLUTION, planned.resolution_stop),
        ):
            # Re-targeting follows the priority while the clock counts; after that it keeps
            # the policy it stopped with. Without a policy for a later priority it keeps its own.
            policy = self.lookups.policy(
                planned.priority_at(stop or self.now), service_id
            ) or self.lookups.policy(planned.priority_at(planned.created_at), service_id)
            assert policy is not None
            # A clock pauses only for holds that began while it was counting.
            holds = [h for h in planned.holds if stop is None or h[0] < stop]
            target = (
                policy.response_minutes if kind == SlaKind.RESPONSE else policy.resolution_minutes
            )
            reading = read_clock(
                self.lookups.calendars[policy.calendar_id],
                target_minutes=target,
                warning_share=policy.warning_share,
                started_at=planned.created_at,
                now=self.now,
                pauses=[Pause(begin, end) for begin, end in holds],
                stopped_at=stop,
            )
            clock: dict[str, Any] = {
                "incident_id": pk,
                "kind": kind,
                "policy_id": policy.pk,
                "calendar_id": policy.calendar_id,
                "target_minutes": target,
                "warning_share": policy.warning_share,
                "started_at": planned.created_at,
                "stopped_at": stop,
                "paused_since": next((begin for begin, end in holds if end is None), None),
                "pauses": [[begin.isoformat(), end.isoformat()] for begin, end in holds if end],
                "state": reading.state.value,
                "due_at": reading.due_at,
                "warning_at": reading.warning_at,
                "warned_at": None,
                "breached_at": None,
            }
            # What the minute task (or the stopping action) would have recorded by now.
            if reading.state == ClockState.BREACHED:
                noticed = reading.due_at + BREACH_NOTICED_AFTER
                clock["breached_at"] = min(noticed, stop) if stop is not None else noticed
                if reading.warning_at < clock["breached_at"]:
                    clock["warned_at"] = reading.warning_at
                breached.append(clock)
            elif reading.state == ClockState.WARNING or (
                reading.state == ClockState.MET and stop is not None and stop > reading.warning_at
            ):
                clock["warned_at"] = reading.warning_at
            clocks.append(clock)
        return clocks, breached

    def _timeline(
        self, planned: PlannedIncident, pk: int, breaches: list[dict[str, Any]]
    ) -> Iterator[dict[str, Any]]:
        entries = list(planned.timeline)
        for clock in breaches:
            label = SlaKind(clock["kind"]).label.lower()
            due: datetime = clock["due_at"]
            entries.append(
                PlannedEntry(
                    TimelineKind.SLA_BREACH,
                    clock["breached_at"],
                    None,
                    # The words incidents.sla._announce uses.
                    body=(
                        f"The {label} target of {clock['target_minutes']} business minutes was "
                        f"missed (due {due:%Y-%m-%d %H:%M} UTC)."
                    ),
                    public=False,
                    data={"clock": clock["kind"], "due_at": due.isoformat()},
                )
            )
        entries.sort(key=lambda entry: entry.at)
        for entry in entries:
            body, data = entry.body, self.lookups.resolve(entry.data)
            if entry.kind == TimelineKind.MERGE:
                data["duplicate"] = self.numbers[entry.data["duplicate"]]
                body = body.format(duplicate=data["duplicate"])
            yield {
                "incident_id": pk,
                "kind": entry.kind,
                "author_id": self._person(entry.author),
                "body": body,
                "body_html": self.html(body),
                "is_public": entry.public,
                "data": data,
                "created_at": entry.at,
            }


def load_incident_history(
    *,
    seed: int,
    count: int,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[str, int]:
    """Write ``count`` incidents of the year before ``now`` (default: now) and everything that
    belongs to them; returns how many rows of each kind were created.

    Call inside a transaction, after the demo organisation exists. Does nothing when the
    database already has incidents.
    """
    if count <= 0 or Incident.objects.exists():
        return {}
    say = progress or (lambda _line: None)
    now = now or timezone.now()
    plan = plan_history(seed, count, now=now, auto_close_days=settings.INCIDENT_AUTO_CLOSE_DAYS)
    say(f"planned {len(plan)} incidents")
    return _Writer(plan, now).write(say)
