"""Vocabulary of change management (docs/changes.md)."""

from django.db import models


class ChangeType(models.TextChoices):
    # From a pre-approved template: no CAB approval.
    STANDARD = "standard", "Standard"
    NORMAL = "normal", "Normal"
    # Goes to the emergency CAB.
    EMERGENCY = "emergency", "Emergency"


class ChangeState(models.TextChoices):
    DRAFT = "draft", "Draft"
    ASSESS = "assess", "Assess"
    AUTHORISE = "authorise", "Authorise"
    SCHEDULED = "scheduled", "Scheduled"
    IMPLEMENTING = "implementing", "Implementing"
    REVIEW = "review", "Review"
    CLOSED = "closed", "Closed"
    FAILED = "failed", "Failed"
    BACKED_OUT = "backed_out", "Backed out"
    CANCELLED = "cancelled", "Cancelled"


class Risk(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class AffectedReason(models.TextChoices):
    # Named by whoever planned the change.
    CHOSEN = "chosen", "Chosen"
    # Depends (directly or transitively) on a chosen service or configuration item's service.
    DERIVED = "derived", "Derived from dependencies"


class ApprovalDecision(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class WindowKind(models.TextChoices):
    # No changes (year-end freeze).
    FREEZE = "freeze", "Freeze"
    # Changes belong here (a service's agreed maintenance hours).
    MAINTENANCE = "maintenance", "Maintenance window"


class ConflictKind(models.TextChoices):
    OVERLAP = "overlap", "Overlaps another change"
    FREEZE = "freeze", "Inside a freeze window"
    OUTSIDE_MAINTENANCE = "outside_maintenance", "Outside the maintenance window"
