"""Vocabulary of incidents."""

from django.db import models


class State(models.TextChoices):
    NEW = "new", "New"
    ASSIGNED = "assigned", "Assigned"
    IN_PROGRESS = "in_progress", "In progress"
    ON_HOLD = "on_hold", "On hold"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


# States in which someone still works on the incident (queues, banners, reminders).
OPEN_STATES = (State.NEW, State.ASSIGNED, State.IN_PROGRESS, State.ON_HOLD)
# States in which nobody works on the incident any more.
FINAL_STATES = frozenset({State.CLOSED, State.CANCELLED})


class HoldReason(models.TextChoices):
    AWAITING_USER = "awaiting_user", "Awaiting the requester"
    AWAITING_SUPPLIER = "awaiting_supplier", "Awaiting a supplier"
    AWAITING_CHANGE = "awaiting_change", "Awaiting a change"


class ResolutionCode(models.TextChoices):
    SOLVED = "solved", "Solved"
    WORKAROUND = "workaround", "Workaround provided"
    NOT_REPRODUCIBLE = "not_reproducible", "Not reproducible"
    DUPLICATE = "duplicate", "Duplicate"
    CANCELLED_BY_USER = "cancelled_by_user", "Cancelled by the requester"


class Category(models.TextChoices):
    HARDWARE = "hardware", "Hardware"
    SOFTWARE = "software", "Software"
    NETWORK = "network", "Network"
    ACCESS = "access", "Access"
    SECURITY = "security", "Security"
    REQUEST = "request", "Request"
    OTHER = "other", "Other"


class Level(models.IntegerChoices):
    """Impact and urgency, ITIL style: 1 is the most severe."""

    HIGH = 1, "High"
    MEDIUM = 2, "Medium"
    LOW = 3, "Low"


class Priority(models.IntegerChoices):
    P1 = 1, "P1 Critical"
    P2 = 2, "P2 High"
    P3 = 3, "P3 Moderate"
    P4 = 4, "P4 Low"
    P5 = 5, "P5 Planning"


class Channel(models.TextChoices):
    """Where an incident or a "me too" came from."""

    WEB = "web", "Web"
    WALL = "wall", "Wall"
    CHAT = "chat", "Chat"
    EMAIL = "email", "Email"
    ALERT = "alert", "Monitoring alert"
    API = "api", "API"


class ImpactSource(models.TextChoices):
    POLICY = "policy", "Scored by the impact policy"
    MANUAL = "manual", "Set by a person"


class TimelineKind(models.TextChoices):
    PUBLIC_UPDATE = "public_update", "Public update"
    WORK_NOTE = "work_note", "Work note"
    FIELD_CHANGE = "field_change", "Field change"
    STATE_CHANGE = "state_change", "State change"
    AFFECTED_USER = "affected_user", "Affected user"
    PRIORITY_CHANGE = "priority_change", "Priority change"
    LINK = "link", "Link"
    SLA_BREACH = "sla_breach", "SLA breach"
    ATTACHMENT = "attachment", "Attachment"
    MERGE = "merge", "Merge"
    MAJOR = "major", "Major incident"
    OFFICIAL_UPDATE = "official_update", "Official update"


class SlaKind(models.TextChoices):
    """The two SLA clocks of an incident (docs/incidents.md, "SLA clocks")."""

    RESPONSE = "response", "Response"
    RESOLUTION = "resolution", "Resolution"


class SlaState(models.TextChoices):
    """A clock's state as last recorded; the values of hashdesk.sla.clock.ClockState."""

    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    WARNING = "warning", "Warning"
    BREACHED = "breached", "Breached"
    MET = "met", "Met"


class LinkKind(models.TextChoices):
    """How one incident relates to another (``IncidentLink``: from → to)."""

    DUPLICATE_OF = "duplicate_of", "Duplicate of"
    MERGED_INTO = "merged_into", "Merged into"
    RELATED = "related", "Related to"
