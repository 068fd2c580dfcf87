"""Vocabulary of the insight engine (docs/insights.md)."""

from django.db import models


class ItemKind(models.TextChoices):
    """The kinds of record the similarity index holds (and reports can be)."""

    INCIDENT = "incident", "Incident"
    PROBLEM = "problem", "Problem"
    KNOWN_ERROR = "known_error", "Known error"
    ARTICLE = "article", "Article"
    POST = "post", "Wall post"
    CHAT = "chat", "Chat message"


class CandidateState(models.TextChoices):
    OPEN = "open", "Proposed"
    ACCEPTED = "accepted", "Accepted"
    DISMISSED = "dismissed", "Dismissed"


class ProbableState(models.TextChoices):
    OPEN = "open", "Raised"
    PROMOTED = "promoted", "Promoted to an incident"
    DISMISSED = "dismissed", "Dismissed"
