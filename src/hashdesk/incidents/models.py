"""The incident record, the people it affects, who follows it and what happened to it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from hashdesk.catalog.choices import Visibility
from hashdesk.incidents.choices import (
    OPEN_STATES,
    Category,
    Channel,
    HoldReason,
    ImpactSource,
    Level,
    LinkKind,
    Priority,
    ResolutionCode,
    SlaKind,
    SlaState,
    State,
    TimelineKind,
)

TITLE_MAX = 200
DESCRIPTION_MAX = 20_000
NUMBER_PREFIX = "INC-"
# The open states as plain strings, so index conditions in migrations read as SQL reads them.
OPEN_STATE_VALUES = [str(state.value) for state in OPEN_STATES]


def format_number(pk: int) -> str:
    return f"{NUMBER_PREFIX}{pk:06d}"


class Incident(models.Model):
    # Blank only between the insert and the update that derives it from the pk (same transaction).
    number = models.CharField(max_length=20, unique=True, null=True, blank=True)
    title = models.CharField(max_length=TITLE_MAX)
    description = models.TextField(max_length=DESCRIPTION_MAX, blank=True)
    description_html = models.TextField(blank=True, editable=False)
    service = models.ForeignKey(
        "catalog.Service", on_delete=models.PROTECT, related_name="incidents"
    )
    configuration_item = models.ForeignKey(
        "catalog.ConfigurationItem",
        on_delete=models.SET_NULL,
        related_name="incidents",
        null=True,
        blank=True,
    )
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.OTHER)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reported_incidents"
    )
    impact = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.LOW)
    impact_source = models.CharField(
        max_length=10, choices=ImpactSource.choices, default=ImpactSource.POLICY
    )
    urgency = models.PositiveSmallIntegerField(choices=Level.choices, default=Level.LOW)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.P5)
    assignment_group = models.ForeignKey(
        "accounts.Team",
        on_delete=models.PROTECT,
        related_name="incidents",
        null=True,
        blank=True,
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="assigned_incidents",
        null=True,
        blank=True,
    )
    state = models.CharField(max_length=12, choices=State.choices, default=State.NEW)
    hold_reason = models.CharField(max_length=20, choices=HoldReason.choices, blank=True)
    resolution_code = models.CharField(max_length=20, choices=ResolutionCode.choices, blank=True)
    resolution_notes = models.TextField(max_length=DESCRIPTION_MAX, blank=True)
    source = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    visibility = models.CharField(
        max_length=12, choices=Visibility.choices, default=Visibility.INTERNAL
    )
    # Major-incident process (docs/incidents.md, "Major incidents"): declared with a reason,
    # led by a commander who owes an official update every ``update_cadence_minutes``.
    is_major = models.BooleanField(default=False)
    major_declared_at = models.DateTimeField(null=True, blank=True)
    major_reason = models.TextField(max_length=DESCRIPTION_MAX, blank=True)
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="commanded_incidents",
        null=True,
        blank=True,
    )
    update_cadence_minutes = models.PositiveIntegerField(null=True, blank=True)
    # When the next official update is due; the reminder task looks for ones that have passed.
    next_update_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_reminded_at = models.DateTimeField(null=True, blank=True)
    # Set when this incident was merged into another; it then lives on only as a pointer.
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, related_name="merged_from", null=True, blank=True
    )
    # Optimistic concurrency: every change adds one; a writer names the version it read.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    assigned_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # The SLA clocks summed up for lists (kept in step by incidents/sla.py): the most urgent
    # clock state, blank without clocks, and the earliest due time of a clock still counting.
    sla_state = models.CharField(max_length=10, choices=SlaState.choices, blank=True)
    sla_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["sla_state", "sla_due_at"]),
            models.Index(fields=["state", "priority"]),
            models.Index(fields=["assignment_group", "state"]),
            models.Index(fields=["assignee", "state"]),
            models.Index(fields=["service", "state"]),
            models.Index(fields=["created_at"]),
            # Sorts of the whole list (agent queue "All", API): docs/performance.md.
            models.Index(fields=["priority", "created_at"]),
            models.Index(fields=["updated_at"]),
            models.Index(fields=["sla_due_at"]),
            # Open incidents are a few percent of the table and every queue starts from them:
            # partial indexes keep the queue's sort and its tab counts inside a small index.
            models.Index(
                fields=["priority", "created_at", "id"],
                condition=models.Q(state__in=OPEN_STATE_VALUES),
                name="incident_open_by_priority",
            ),
            models.Index(
                fields=[
                    "state",
                    "assignee",
                    "assignment_group",
                    "is_major",
                    "sla_state",
                    "sla_due_at",
                ],
                condition=models.Q(state__in=OPEN_STATE_VALUES),
                name="incident_open_queue_counts",
            ),
            # The major-incident banner (every page) and the update reminders.
            models.Index(
                fields=["state", "next_update_due_at"],
                condition=models.Q(is_major=True),
                name="incident_open_major",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(priority__gte=1, priority__lte=5), name="incident_priority_1_5"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number or 'INC-?'} {self.title}"


class AffectedUser(models.Model):
    """A person the incident affects: the reporter and everyone who said "me too"."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="affected")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="affected_by"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.WEB)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "user"], name="unique_affected_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} affected by {self.incident}"


class IncidentFollower(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="followers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followed_incidents"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["incident", "user"], name="unique_incident_follower")
        ]

    def __str__(self) -> str:
        return f"{self.user} follows {self.incident}"


class TimelineEntry(models.Model):
    """One thing that happened to an incident. ``is_public`` entries reach requesters."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=20, choices=TimelineKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    body = models.TextField(max_length=DESCRIPTION_MAX, blank=True)
    body_html = models.TextField(blank=True)
    is_public = models.BooleanField(default=False)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["incident", "created_at"])]
        verbose_name_plural = "timeline entries"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on incident {self.incident_id}"


class IncidentSlaClock(models.Model):
    """One SLA clock of an incident: its policy's targets as they were, its start, pauses, stop.

    The targets are copied from the policy so a later edit of the policy does not rewrite the
    history of clocks it already started. ``state``, ``due_at`` and ``warning_at`` cache the last
    reading (hashdesk.sla.clock.read_clock) so queues and the minute task need no arithmetic;
    ``warned_at`` and ``breached_at`` record that the warning and the breach were announced.
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="sla_clocks")
    kind = models.CharField(max_length=10, choices=SlaKind.choices)
    policy = models.ForeignKey("sla.SlaPolicy", on_delete=models.PROTECT, related_name="+")
    calendar = models.ForeignKey("sla.BusinessCalendar", on_delete=models.PROTECT, related_name="+")
    target_minutes = models.PositiveIntegerField()
    warning_share = models.FloatField()
    started_at = models.DateTimeField()
    stopped_at = models.DateTimeField(null=True, blank=True)
    paused_since = models.DateTimeField(null=True, blank=True)
    # Closed pauses as [start, end] ISO-8601 pairs; a handful per incident at most.
    pauses = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=10, choices=SlaState.choices, default=SlaState.RUNNING)
    due_at = models.DateTimeField()
    warning_at = models.DateTimeField()
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "kind"], name="unique_incident_sla_clock")
        ]
        indexes = [
            # The minute task: counting clocks whose warning or due time has passed.
            models.Index(fields=["state", "due_at"]),
            models.Index(fields=["state", "warning_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} clock of incident {self.incident_id}"


class IncidentLink(models.Model):
    """A typed link between two incidents: ``from_incident`` is a duplicate of, was merged into,
    or is related to ``to_incident``. Each link is recorded on both timelines."""

    from_incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="links_out")
    to_incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="links_in")
    kind = models.CharField(max_length=20, choices=LinkKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["from_incident", "to_incident", "kind"], name="unique_incident_link"
            ),
            models.CheckConstraint(
                condition=~models.Q(from_incident=models.F("to_incident")),
                name="incident_link_not_to_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_incident_id} {self.get_kind_display().lower()} {self.to_incident_id}"


class Attachment(models.Model):
    """A file attached to an incident. The bytes live outside the web root under
    ``settings.ATTACHMENTS_DIR/<storage_name>`` and are served only after a permission check."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True
    )
    # The name the uploader gave it, cleaned for display and Content-Disposition.
    filename = models.CharField(max_length=255)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    # A random name chosen by the server: nothing of the uploader's choosing reaches the disk.
    storage_name = models.CharField(max_length=64, unique=True)
    # Internal attachments (e.g. logs with details of the infrastructure) are staff only.
    is_public = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.filename} on incident {self.incident_id}"


class SavedView(models.Model):
    """An agent's named queue: the filters and sort of the incident list, kept as a query string."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_incident_views"
    )
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="unique_saved_view_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.owner_id})"
