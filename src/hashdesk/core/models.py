"""Infrastructure records shared by every app: the event log and the delivery outbox."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Event(models.Model):
    """A typed event, kept for ``HASHDESK_EVENT_RETENTION_HOURS`` so clients can resume.

    The primary key is the event id clients see. Ids are assigned in commit order (see
    hashdesk.core.events), so "everything after id N" is a complete, ordered answer.
    """

    type = models.CharField(max_length=50)
    op = models.CharField(max_length=50)
    # Stream keys the event is published on ("service:12", "user:7", "staff", ...).
    streams = models.JSONField(default=list)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"event {self.pk} {self.type}.{self.op}"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed (gave up)"


class OutboxMessage(models.Model):
    """A delivery that must not be lost, written in the same transaction as its cause.

    The task queue only wakes the deliverer; the deliverer claims due rows, calls the handler
    registered for ``channel``, records the attempt and schedules a retry with back-off.
    """

    channel = models.CharField(max_length=50)
    payload = models.JSONField(default=dict)
    # Passed to the receiving side so a retried delivery is recognised, never doubled.
    idempotency_key = models.CharField(max_length=100, unique=True)
    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # For the delivery log (docs/notifications.md): who it was for, where it went (an address,
    # a webhook's host, a chat tool's name; never a secret) and what it said, in one line.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="deliveries",
        null=True,
        blank=True,
    )
    target = models.CharField(max_length=300, blank=True)
    summary = models.CharField(max_length=200, blank=True)
    # The notification kind ("incident.official_update") or what else caused it.
    kind = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["recipient", "-id"]),
            models.Index(fields=["channel", "-id"]),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.idempotency_key} ({self.status})"


class DeliveryAttempt(models.Model):
    """Every try of an outbox message, successful or not, for the delivery log."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="tries")
    attempted_at = models.DateTimeField(default=timezone.now)
    succeeded = models.BooleanField()
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        outcome = "ok" if self.succeeded else "failed"
        return f"attempt {self.pk} of message {self.message_id}: {outcome}"


class RateCounter(models.Model):
    """One rate-limit window's count for one key (hashdesk.core.ratelimit), in the embedded
    mode where there is no Redis: one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` counts a
    hit atomically across processes. Rows of past windows are pruned by the worker."""

    key = models.CharField(max_length=120, primary_key=True)
    count = models.PositiveIntegerField(default=1)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
