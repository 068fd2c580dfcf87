"""Alertmanager receivers, the alert groups they turned into incidents, and what they received."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from hashdesk.integrations.alertmanager.choices import (
    AlertStatus,
    Outcome,
    ResolvePolicy,
    UnknownServicePolicy,
)

SLUG_MAX = 50
LABEL_MAX = 100


class AlertReceiver(models.Model):
    """One webhook receiver configured in Alertmanager (``webhook_configs``).

    Only the SHA-256 of its bearer token is kept (the token is 256 random bits, shown once).
    Incidents it opens are reported by its own ``reporter``: an inactive account that cannot
    sign in and is never notified, so the timeline says which receiver opened what.
    """

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=SLUG_MAX, unique=True)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters of the token, so an administrator can tell which one is configured.
    token_hint = models.CharField(max_length=12)
    service_label = models.CharField(max_length=LABEL_MAX, default="service")
    default_service = models.ForeignKey(
        "catalog.Service", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    unknown_policy = models.CharField(
        max_length=10, choices=UnknownServicePolicy.choices, default=UnknownServicePolicy.REJECT
    )
    resolve_policy = models.CharField(
        max_length=10, choices=ResolvePolicy.choices, default=ResolvePolicy.RESOLVE
    )
    # On: the incidents it opens stay internal until an agent publishes them.
    human_gate = models.BooleanField(default=True)
    reporter = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="alert_receiver"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class ServiceMapping(models.Model):
    """A value of the receiver's service label and the service it stands for."""

    receiver = models.ForeignKey(AlertReceiver, on_delete=models.CASCADE, related_name="mappings")
    label_value = models.CharField(max_length=LABEL_MAX)
    service = models.ForeignKey("catalog.Service", on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["label_value", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["receiver", "label_value"], name="alertmanager_mapping_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label_value} → {self.service_id}"


class AlertGroup(models.Model):
    """An Alertmanager group (``groupKey``) and the incident it opened. At most one open group
    per key and receiver: a group whose incident was resolved is closed, and a later firing of
    the same key opens a new group and a new incident."""

    receiver = models.ForeignKey(AlertReceiver, on_delete=models.CASCADE, related_name="groups")
    group_key = models.CharField(max_length=1000)
    # Hash of the group key: keys can be long, and the unique index is over this.
    key_hash = models.CharField(max_length=64)
    incident = models.ForeignKey("incidents.Incident", on_delete=models.CASCADE, related_name="+")
    is_open = models.BooleanField(default=True)
    opened_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["receiver", "key_hash"],
                condition=models.Q(is_open=True),
                name="alertmanager_one_open_group",
            )
        ]
        indexes = [models.Index(fields=["receiver", "key_hash"])]

    def __str__(self) -> str:
        return f"{self.group_key} → {self.incident_id}"


class Alert(models.Model):
    """One alert (by Alertmanager's ``fingerprint``) of a group, and its last known status.

    ``first_fired_at`` is when Hashdesk first heard of it firing: burst detection counts one
    report per new alert then (hashdesk.insights.bursts.live)."""

    group = models.ForeignKey(AlertGroup, on_delete=models.CASCADE, related_name="alerts")
    fingerprint = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    service = models.ForeignKey("catalog.Service", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=AlertStatus.choices)
    labels = models.JSONField(default=dict)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    # Null for an alert first heard of as already resolved.
    first_fired_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["first_fired_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["group", "fingerprint"], name="alertmanager_alert_once")
        ]
        indexes = [models.Index(fields=["first_fired_at"])]

    def __str__(self) -> str:
        return f"{self.name or self.fingerprint} ({self.status})"


class AlertNotification(models.Model):
    """Every notification a receiver accepted or rejected (not unauthenticated ones)."""

    receiver = models.ForeignKey(
        AlertReceiver, on_delete=models.CASCADE, related_name="notifications"
    )
    received_at = models.DateTimeField(default=timezone.now)
    group_key = models.CharField(max_length=1000, blank=True)
    status = models.CharField(max_length=10, blank=True)
    alert_count = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    detail = models.CharField(max_length=500, blank=True)
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["receiver", "-received_at"])]

    def __str__(self) -> str:
        return f"{self.receiver_id} {self.outcome} at {self.received_at:%Y-%m-%d %H:%M:%S}"
