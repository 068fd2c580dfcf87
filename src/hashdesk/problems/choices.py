"""Vocabulary of problem management (docs/problems.md)."""

from django.db import models


class ProblemState(models.TextChoices):
    """New → Investigating → Known error → Resolved → Closed."""

    NEW = "new", "New"
    INVESTIGATING = "investigating", "Investigating"
    KNOWN_ERROR = "known_error", "Known error"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_PROBLEM_STATES = frozenset(
    {ProblemState.NEW, ProblemState.INVESTIGATING, ProblemState.KNOWN_ERROR}
)


class RecurrenceKind(models.TextChoices):
    """What kind of report matched a problem after its fix."""

    POST = "post", "Wall post"
    INCIDENT = "incident", "Incident"
    CHAT = "chat", "Chat message"
