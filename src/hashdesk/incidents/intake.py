"""Recording new incidents, one or many at once (docs/incidents.md, "Creating incidents in bulk").

``do_create_incidents`` is the one place an incident is created: ``actions.do_create_incident``
(the report form, ``POST /api/v1/incidents``) hands it a batch of one, and
``POST /api/v1/incidents/batch`` up to ``MAX_BATCH`` — monitoring opening an incident per alert
in a storm, imports, integrations.

Every item is checked before anything is written, and the writes are one transaction: one bad
item refuses the whole batch, naming it (``incidents[3].service``), and nothing is written. A
batch costs the same statements whatever its size: the services' visibility, the SLA policies
and their calendars are read once for the batch; the impact policy is applied in Python (a new
incident's only affected person is its reporter); the incidents' ids are reserved first so
their numbers go in with the same insert; then one insert per table — incidents, affected
users, followers, priority-change entries, SLA clocks, audit entries, events. Django's
``full_clean`` is not run: it would query for each foreign key, and what it checks is checked
here explicitly, with the database's constraints as the backstop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.catalog.models import ConfigurationItem, Service
from hashdesk.core.errors import DomainError, Forbidden, NotFound, ValidationFailed
from hashdesk.core.events import send_events
from hashdesk.core.markup import render_markdown
from hashdesk.core.validation import require_text
from hashdesk.core.visibility import is_signed_in, visible_to
from hashdesk.incidents import sla
from hashdesk.incidents.actions import (
    _check_configuration_item,
    _check_description,
    _require_staff,
    incident_snapshot,
    new_incident_audience,
    raise_impact,
    scrub,
)
from hashdesk.incidents.choices import Category, Channel, ImpactSource, State, TimelineKind
from hashdesk.incidents.events import IncidentEvent
from hashdesk.incidents.impact import signals_of_reporter
from hashdesk.incidents.models import (
    TITLE_MAX,
    AffectedUser,
    Incident,
    IncidentFollower,
    IncidentSlaClock,
    TimelineEntry,
    format_number,
)
from hashdesk.incidents.priority import parse_matrix

# The most incidents one batch may hold: an alert storm or an import file's worth, while the
# transaction (which holds SQLite's write lock) stays well under a second.
MAX_BATCH = 500

# Fields whose values come from a fixed vocabulary, checked as the model field would.
CHOICE_FIELDS = ("category", "impact", "urgency", "source")


@dataclass(frozen=True)
class NewIncident:
    """One incident to record: what ``actions.do_create_incident`` takes."""

    title: str
    description: str
    service: Service
    configuration_item: ConfigurationItem | None = None
    category: str = Category.OTHER
    impact: int = 3
    urgency: int = 3
    source: str = Channel.WEB
    # Default: the actor. Only staff report for someone else.
    reporter: User | None = None
    # Historical incidents only (``do_create_incidents(..., historical=True)``, the importer
    # in integrations/transfer): when it was opened, the state and priority it reached, when
    # it was resolved. Left None, the incident is new: now, NEW, priority from the matrix.
    created_at: datetime | None = None
    state: str | None = None
    priority: int | None = None
    resolved_at: datetime | None = None


def do_create_incidents(
    actor: User | None,
    items: Sequence[NewIncident],
    *,
    indexed_fields: bool = True,
    historical: bool = False,
    refused: dict[int, DomainError] | None = None,
) -> list[Incident]:
    """Record new incidents, all or none, and return them in the order given.

    Each reporter (default: the actor) is the first affected user and a follower of their
    incident, unless the reporter is an integration's account (``User.is_person`` false: an
    Alertmanager receiver's), through which nobody is affected. An error names the bad item's
    field as ``incidents[<index>].<field>`` (index from 0, with a JSON pointer
    ``/incidents/<index>/<field>``); ``indexed_fields=False`` names the field alone, for the
    single-incident action.

    ``historical=True`` records incidents that happened before Hashdesk (imports, staff
    only): each keeps its own ``created_at``, ``state``, ``priority`` and ``resolved_at``, and
    nothing is told — no events (so no live updates, notifications or wall posts), no status
    page or chat-tool announcements, no known-error offers, no SLA clocks. The audit entries
    and the similarity index still get them.

    ``refused`` (a dict to fill) asks for the items that pass the checks instead of all or
    none: each refused item's error (as it would be raised for that item alone, field not
    indexed) goes in under its index, and the others are recorded and returned. For callers
    that report every bad row of a large input, the historical import (integrations/transfer).
    What concerns the actor rather than an item (signed in; staff) still raises.

    The checks, and the reads they need (the services' visibility, SLA policies and
    calendars), come before the transaction that writes: on SQLite a write transaction holds
    the database's one write lock from its first statement to its commit, so only the inserts
    hold it and other web workers check their own batches meanwhile. Inside a caller's
    transaction everything is in that transaction, as before.
    """
    if actor is not None and not is_signed_in(actor):
        raise Forbidden("Sign in to report an incident.")
    if historical and actor is not None:
        _require_staff(actor, "import historical incidents")
    if len(items) > MAX_BATCH:
        raise ValidationFailed(
            f"Send at most {MAX_BATCH} incidents at once, not {len(items)}.", field="incidents"
        )
    if not items:
        return []
    batch = _Batch(actor, items, timezone.now(), historical=historical)
    for index, item in enumerate(items):
        try:
            batch.add(item)
        except DomainError as error:
            if refused is not None:
                refused[index] = error
                continue
            if not indexed_fields:
                raise
            raise item_error(error, index) from error
    if not batch.incidents:  # every item refused
        return []
    if historical:
        with transaction.atomic():
            batch.write()
        return batch.incidents
    batch.start_clocks()
    with transaction.atomic():
        batch.write()
        # Known errors offered and fixed problems watched, after commit (problems/hooks.py).
        from hashdesk.problems.hooks import incidents_created

        incidents_created(batch.incidents)
        # Status page subscribers and chat tools hear of those the status page shows.
        from hashdesk.incidents.announcements import announce_opened

        announce_opened(batch.incidents)
    return batch.incidents


class _Batch:
    """What every item of a batch is checked against, read or computed once."""

    def __init__(
        self,
        actor: User | None,
        items: Sequence[NewIncident],
        now: datetime,
        *,
        historical: bool = False,
    ) -> None:
        self.actor = actor
        self.now = now
        self.historical = historical
        self.matrix = parse_matrix(settings.INCIDENT_PRIORITY_MATRIX)
        self.visible_services = _visible_service_ids(actor, items)
        # Alert storms repeat one description: render each distinct text once.
        self.rendered: dict[str, str] = {}
        self.incidents: list[Incident] = []
        # The rows that come with the incidents, built before their ids are known: Django
        # takes each incident's id into them when they are inserted after it.
        self.affected: list[AffectedUser] = []
        self.followers: list[IncidentFollower] = []
        self.priority_changes: list[TimelineEntry] = []
        self.clocks: list[IncidentSlaClock] = []

    def add(self, item: NewIncident) -> None:
        """Check the item, in the order the single action always checked it, and prepare it
        as an unsaved incident: impact rescored by the policy, priority from the matrix."""
        actor = self.actor
        reporter = item.reporter or actor
        if reporter is None:
            raise ValidationFailed("An incident needs a reporter.", field="reporter")
        if actor is not None and reporter.pk != actor.pk:
            _require_staff(actor, "report an incident for someone else")
        service = item.service
        if service is None or service.pk is None:
            raise ValidationFailed("An incident needs a service.", field="service")
        if actor is not None and service.pk not in self.visible_services:
            raise NotFound("No such service.", field="service")
        title = scrub(require_text(item.title, field="title", max_length=TITLE_MAX))
        description = _check_description(item.description)
        if description not in self.rendered:
            self.rendered[description] = render_markdown(description)
        incident = Incident(
            title=title,
            description=description,
            description_html=self.rendered[description],
            service=service,
            configuration_item=item.configuration_item,
            reporter=reporter,
            created_at=self.now,
            updated_at=self.now,
        )
        _check_configuration_item(incident)
        for name in CHOICE_FIELDS:
            setattr(incident, name, _choice(name, getattr(item, name)))
        incident.impact_source = (
            ImpactSource.MANUAL if incident.impact != 3 else ImpactSource.POLICY
        )
        incident.priority = self.matrix[(incident.impact, incident.urgency)]
        if self.historical:
            self._set_history(incident, item)
            change = None
        else:
            change = raise_impact(incident, signals_of_reporter(reporter), [])
        if change is not None:
            self.priority_changes.append(
                TimelineEntry(
                    incident=incident,
                    kind=TimelineKind.PRIORITY_CHANGE,
                    author=None,
                    is_public=True,
                    data=change,
                    created_at=self.now,
                )
            )
        self.incidents.append(incident)
        if not reporter.is_person:
            # An integration's account (an Alertmanager receiver's) reports, but nobody is
            # affected through it and it follows nothing: "1 person affected" would be false.
            return
        self.affected.append(
            AffectedUser(
                incident=incident,
                user=reporter,
                channel=incident.source,
                added_at=incident.created_at,
            )
        )
        self.followers.append(
            IncidentFollower(incident=incident, user=reporter, created_at=incident.created_at)
        )

    def _set_history(self, incident: Incident, item: NewIncident) -> None:
        """A historical incident's own dates, state and priority, checked as the lifecycle
        would have left them: opened in the past, resolved after it was opened."""
        opened = item.created_at or self.now
        if timezone.is_naive(opened):
            raise ValidationFailed("Give the time zone of created_at.", field="created_at")
        if opened > self.now:
            raise ValidationFailed("created_at cannot be in the future.", field="created_at")
        incident.created_at = incident.updated_at = opened
        incident.state = _choice("state", item.state or State.NEW)
        if item.priority is not None:
            incident.priority = _choice("priority", item.priority)
        resolved = item.resolved_at
        ended = incident.state in {State.RESOLVED, State.CLOSED}
        if resolved is not None and not ended:
            raise ValidationFailed(
                "Only a resolved or closed incident has resolved_at.", field="resolved_at"
            )
        if ended and resolved is None:
            raise ValidationFailed(
                f"A {incident.state} incident needs resolved_at.", field="resolved_at"
            )
        if resolved is not None:
            if timezone.is_naive(resolved):
                raise ValidationFailed("Give the time zone of resolved_at.", field="resolved_at")
            if resolved < opened or resolved > self.now:
                raise ValidationFailed(
                    "resolved_at must lie between created_at and now.", field="resolved_at"
                )
            incident.resolved_at = incident.updated_at = resolved
            if incident.state == State.CLOSED:
                incident.closed_at = resolved

    def start_clocks(self) -> None:
        """The SLA clocks of every incident, and each incident's SLA summary (reads the
        policies and calendars once for the batch)."""
        self.clocks = sla.new_clocks(self.incidents, self.now)

    def write(self) -> None:
        """Insert the incidents and everything that comes with them, a statement a table, then
        an audit entry and a ``create`` event for each. Runs inside the write transaction."""
        incidents = self.incidents
        for incident, pk in zip(incidents, reserve_incident_ids(len(incidents)), strict=True):
            incident.pk = pk
            # The number comes from the primary key, so it follows the ids and never collides.
            incident.number = format_number(pk)
        Incident.objects.bulk_create(incidents)
        # bulk_create sends no post_save: the similarity index is told, after commit.
        from hashdesk.insights.index import index_many

        written = list(incidents)
        transaction.on_commit(lambda: index_many("incident", written), robust=True)
        # Nor does the status page hear of them: tell it (status/hooks.py). Historical
        # incidents are over or old news: nobody is told (do_create_incidents).
        if not self.historical:
            from hashdesk.status.hooks import status_changed

            status_changed()
        AffectedUser.objects.bulk_create(self.affected)
        IncidentFollower.objects.bulk_create(self.followers)
        if self.priority_changes:
            TimelineEntry.objects.bulk_create(self.priority_changes)
        if self.clocks:
            IncidentSlaClock.objects.bulk_create(self.clocks)
        snapshots = [incident_snapshot(incident) for incident in incidents]
        trail.record_many(
            trail.Change(actor=self.actor, action="incident.create", obj=incident, after=snapshot)
            for incident, snapshot in zip(incidents, snapshots, strict=True)
        )
        if self.historical:
            return
        send_events(
            (IncidentEvent(op="create", incident=snapshot), new_incident_audience(incident))
            for incident, snapshot in zip(incidents, snapshots, strict=True)
        )


def _visible_service_ids(actor: User | None, items: Sequence[NewIncident]) -> set[int]:
    """The batch's services that ``actor`` may see, in one query (none for the system)."""
    ids = {item.service.pk for item in items if item.service is not None}
    if actor is None or not ids:
        return set()
    return set(visible_to(actor, Service.objects.filter(pk__in=ids)).values_list("pk", flat=True))


def _choice(name: str, value: Any) -> Any:
    """``value`` cleaned by the model field ``name``: its type and its vocabulary."""
    try:
        return Incident._meta.get_field(name).clean(value, None)  # type: ignore[union-attr]
    except ValidationError as error:
        raise ValidationFailed("; ".join(error.messages), field=name) from error


def item_error(error: DomainError, index: int) -> DomainError:
    """``error`` about an item's ``field``, as a batch reports it: naming the item
    (``incidents[3].service``, JSON pointer ``/incidents/3/service``) and the field in it."""
    field = f"incidents[{index}]" + (f".{error.field}" if error.field else "")
    pointer = f"/incidents/{index}" + (f"/{error.field}" if error.field else "")
    detail = f"incidents[{index}]: {error.detail}"
    return type(error)(
        detail,
        field=field,
        **{
            **error.extra,
            "errors": [{"field": field, "message": error.detail, "pointer": pointer}],
        },
    )


def reserve_incident_ids(count: int) -> list[int]:
    """Primary keys for ``count`` new incidents, so their numbers (derived from the key) are
    written by the same insert instead of an update of every row afterwards.

    PostgreSQL: ``nextval`` of the table's own sequence, which never hands a value out twice,
    so batches and single inserts running at the same time get disjoint ids (a rolled-back
    batch leaves a gap, as any rolled-back insert does). SQLite: a write transaction holds the
    database's only write lock from its first statement (``transaction_mode`` IMMEDIATE), so
    nobody else can insert between this read and our insert; AUTOINCREMENT keeps the highest
    id ever used in ``sqlite_sequence``, so a deleted incident's id is not used again.
    """
    table = Incident._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return sorted(row[0] for row in cursor.fetchall())
        # The table name is our model's, not input; SQL cannot take it as a parameter.
        last_used = (
            "SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = %s), 0), "  # noqa: S608
            f"coalesce((SELECT max(id) FROM {connection.ops.quote_name(table)}), 0))"
        )
        cursor.execute(last_used, [table])
        (last,) = cursor.fetchone()
        return list(range(last + 1, last + 1 + count))
