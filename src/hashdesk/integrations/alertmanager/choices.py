"""Vocabulary of the Alertmanager receiver (docs/integrations/alertmanager.md)."""

from django.db import models


class UnknownServicePolicy(models.TextChoices):
    """What a notification whose service label names no known service does."""

    DEFAULT_SERVICE = "default", "Open the incident on the default service"
    REJECT = "reject", "Reject the notification (422)"


class ResolvePolicy(models.TextChoices):
    """What happens when every alert of an incident's group is resolved."""

    RESOLVE = "resolve", "Resolve the incident"
    RECORD = "record", "Only record it on the timeline"


class AlertStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class Outcome(models.TextChoices):
    """What one received notification did."""

    OPENED = "opened", "Opened an incident"
    UPDATED = "updated", "Updated the incident"
    RESOLVED = "resolved", "Resolved the incident"
    UNCHANGED = "unchanged", "Nothing new"
    REJECTED = "rejected", "Rejected"
