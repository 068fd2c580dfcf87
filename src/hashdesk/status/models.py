"""Anonymous subscribers of the status page (docs/status.md, "Subscribing by email")."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class StatusSubscriber(models.Model):
    """A visitor who asked for status emails. Nothing is sent before ``confirmed_at`` (double
    opt-in) or after ``unsubscribed_at``; confirm and unsubscribe links carry signed tokens."""

    email = models.EmailField(max_length=254, unique=True)
    # The public services followed; none means every public service.
    services = models.ManyToManyField("catalog.Service", blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["email"]
        indexes = [models.Index(fields=["confirmed_at", "unsubscribed_at"])]

    def __str__(self) -> str:
        return self.email

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None
