"""Changes, their approvals, windows and the incidents they may have caused (docs/changes.md).

Times are stored in UTC; a change also keeps the time zone it was planned in, so it is shown and
announced in the planner's local time and calendar feeds carry it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from hashdesk.changes.choices import (
    AffectedReason,
    ApprovalDecision,
    ChangeState,
    ChangeType,
    Risk,
    WindowKind,
)

TEXT_MAX = 20_000


class ChangeTemplate(models.Model):
    """A pre-approved standard change: its plans and risk are agreed once, so changes made
    from it skip CAB approval."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(max_length=TEXT_MAX, blank=True)
    implementation_plan = models.TextField(max_length=TEXT_MAX, blank=True)
    backout_plan = models.TextField(max_length=TEXT_MAX, blank=True)
    test_plan = models.TextField(max_length=TEXT_MAX, blank=True)
    services = models.ManyToManyField(
        "catalog.Service", related_name="change_templates", blank=True
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Change(models.Model):
    number = models.CharField(max_length=16, unique=True, null=True, blank=True)
    type = models.CharField(max_length=10, choices=ChangeType.choices, default=ChangeType.NORMAL)
    template = models.ForeignKey(
        ChangeTemplate, on_delete=models.PROTECT, related_name="changes", null=True, blank=True
    )
    state = models.CharField(max_length=14, choices=ChangeState.choices, default=ChangeState.DRAFT)
    summary = models.CharField(max_length=200)
    description = models.TextField(max_length=TEXT_MAX, blank=True)
    reason = models.TextField(max_length=TEXT_MAX, blank=True)
    implementation_plan = models.TextField(max_length=TEXT_MAX, blank=True)
    backout_plan = models.TextField(max_length=TEXT_MAX, blank=True)
    test_plan = models.TextField(max_length=TEXT_MAX, blank=True)
    planned_start = models.DateTimeField(null=True, blank=True)
    planned_end = models.DateTimeField(null=True, blank=True)
    # The IANA zone the change was planned in ("Europe/Madrid"), for display and announcements.
    time_zone = models.CharField(max_length=64, default="UTC")
    actual_start = models.DateTimeField(null=True, blank=True)
    actual_end = models.DateTimeField(null=True, blank=True)
    configuration_items = models.ManyToManyField(
        "catalog.ConfigurationItem", related_name="changes", blank=True
    )
    # The risk questionnaire's answers ({"question_key": answer}) and what they came to.
    risk_answers = models.JSONField(default=dict, blank=True)
    risk_score = models.PositiveIntegerField(default=0)
    risk = models.CharField(max_length=10, choices=Risk.choices, default=Risk.LOW)
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="requested_changes"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="owned_changes",
        null=True,
        blank=True,
    )
    owner_team = models.ForeignKey(
        "accounts.Team", on_delete=models.SET_NULL, related_name="changes", null=True, blank=True
    )
    # A conflict (overlap, freeze, outside maintenance) overridden by a change manager.
    conflict_override = models.TextField(max_length=2_000, blank=True)
    conflict_overridden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    closure_notes = models.TextField(max_length=TEXT_MAX, blank=True)
    # Bumped on every change of the plan that calendar clients must follow (RFC 5545 SEQUENCE).
    sequence = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "planned_start"]),
            models.Index(fields=["planned_start", "planned_end"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_start__isnull=True)
                | Q(planned_end__isnull=True)
                | Q(planned_end__gt=models.F("planned_start")),
                name="change_ends_after_it_starts",
            )
        ]

    def __str__(self) -> str:
        return self.number or self.summary


class AffectedService(models.Model):
    """A service the change affects: chosen, or derived from the dependency graph."""

    change = models.ForeignKey(Change, on_delete=models.CASCADE, related_name="affected")
    service = models.ForeignKey(
        "catalog.Service", on_delete=models.PROTECT, related_name="affecting_changes"
    )
    reason = models.CharField(max_length=10, choices=AffectedReason.choices)
    # Hops from a chosen service in the dependency graph (0 for a chosen one).
    distance = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["change", "service"], name="unique_change_service")
        ]
        indexes = [models.Index(fields=["service", "change"])]

    def __str__(self) -> str:
        return f"{self.change_id} affects {self.service_id} ({self.reason})"


class ChangeWatcher(models.Model):
    """Someone who asked to hear of a change (its announcements, moves, start and end) even
    when it affects no service they use (docs/notifications.md, "Subscriptions")."""

    change = models.ForeignKey(Change, on_delete=models.CASCADE, related_name="watchers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watched_changes"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["change", "user"], name="unique_change_watcher")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} watches change {self.change_id}"


class ApproverGroup(models.Model):
    """A CAB: who approves which changes (by type and lowest risk), and how many must."""

    name = models.CharField(max_length=100, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="approver_groups")
    # Change types this group approves (["normal"], ["emergency"]).
    change_types = models.JSONField(default=list)
    # The lowest risk this group is asked for ("low": every change of its types).
    min_risk = models.CharField(max_length=10, choices=Risk.choices, default=Risk.LOW)
    # How many approvals the group must give; 0 means every member.
    quorum = models.PositiveSmallIntegerField(default=1)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Approval(models.Model):
    """One approver's decision on one change, on behalf of a group."""

    change = models.ForeignKey(Change, on_delete=models.CASCADE, related_name="approvals")
    group = models.ForeignKey(ApproverGroup, on_delete=models.PROTECT, related_name="approvals")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="change_approvals"
    )
    decision = models.CharField(
        max_length=10, choices=ApprovalDecision.choices, default=ApprovalDecision.PENDING
    )
    comment = models.TextField(max_length=2_000, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["change", "group", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["change", "group", "approver"], name="unique_change_approval"
            )
        ]
        indexes = [models.Index(fields=["approver", "decision"])]

    def __str__(self) -> str:
        return f"{self.approver_id} on {self.change_id}: {self.decision}"


class ChangeWindow(models.Model):
    """A freeze (no changes) or a maintenance window (changes belong here); for every service
    when ``services`` is empty."""

    kind = models.CharField(max_length=12, choices=WindowKind.choices)
    name = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    services = models.ManyToManyField("catalog.Service", related_name="change_windows", blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["kind", "starts_at", "ends_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="window_ends_after_it_starts"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ChangeIncident(models.Model):
    """An incident that may have been caused by a change: scored by the correlation, linked
    when someone confirms it."""

    change = models.ForeignKey(Change, on_delete=models.CASCADE, related_name="incident_links")
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="change_links"
    )
    score = models.FloatField(default=0)
    # What the score is made of ({"time": 0.8, "distance": 1.0, "text": 0.3}).
    evidence = models.JSONField(default=dict, blank=True)
    confirmed = models.BooleanField(default=False)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["change", "incident"], name="unique_change_incident")
        ]

    def __str__(self) -> str:
        return f"{self.change_id} ~ {self.incident_id} ({self.score:.2f})"


class CalendarFeed(models.Model):
    """A person's secret calendar feed of the changes that affect them (revocable)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="change_feed"
    )
    # Only a hash of the secret is stored, as for API tokens.
    secret_hash = models.CharField(max_length=128, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Calendar feed of {self.user_id}"


class ChangeAnnouncement(models.Model):
    """One announcement of a change to the people it affects, due at ``due_at`` (3 days and 1
    hour before, at start, at completion; again on a move or cancellation). Sent once."""

    change = models.ForeignKey(Change, on_delete=models.CASCADE, related_name="announcements")
    # "before_3d", "before_1h", "start", "done", "failed", "moved", "cancelled"
    moment = models.CharField(max_length=20)
    # The plan it announces (Change.sequence): a move makes the old plan's unsent ones moot.
    sequence = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["change", "moment", "sequence"], name="unique_change_announcement"
            )
        ]
        indexes = [
            models.Index(
                fields=["due_at"], condition=Q(sent_at__isnull=True), name="change_announce_due"
            )
        ]

    def __str__(self) -> str:
        return f"{self.change_id} {self.moment} at {self.due_at}"


class ChangeCheck(models.Model):
    """An affected person's answer to "did this change break anything for you?" (24 hours)."""

    change = models.ForeignKey(Change, on_delete=models.CASCADE, related_name="checks")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="change_checks"
    )
    broken = models.BooleanField()
    comment = models.TextField(max_length=2_000, blank=True)
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["change", "user"], name="unique_change_check")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.change_id}: {'broken' if self.broken else 'fine'}"
