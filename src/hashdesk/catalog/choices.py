"""Vocabulary of the service catalogue."""

from django.db import models


class Criticality(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


# Order used for sorting and risk weighting (a critical service outranks a low one).
CRITICALITY_WEIGHT = {
    Criticality.LOW: 1,
    Criticality.MEDIUM: 2,
    Criticality.HIGH: 3,
    Criticality.CRITICAL: 4,
}


class Visibility(models.TextChoices):
    """Who may see a record. Decided in hashdesk.core.visibility, nowhere else."""

    PUBLIC = "public", "Public (also anonymous visitors of the status page)"
    INTERNAL = "internal", "Internal (every signed-in person)"
    CONFIDENTIAL = "confidential", "Confidential (service desk staff only)"


class CIKind(models.TextChoices):
    SERVER = "server", "Server"
    NETWORK = "network", "Network device"
    APPLICATION = "application", "Application"
    DATABASE = "database", "Database"
    ENDPOINT = "endpoint", "End-user device"
    CLOUD = "cloud", "Cloud resource"
    OTHER = "other", "Other"
