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
    # A monitoring alert newly firing (integrations.alertmanager): a burst report, never indexed.
    ALERT = "alert", "Monitoring alert"


class CandidateState(models.TextChoices):
    OPEN = "open", "Proposed"
    ACCEPTED = "accepted", "Accepted"
    DISMISSED = "dismissed", "Dismissed"


class ProbableState(models.TextChoices):
    OPEN = "open", "Raised"
    PROMOTED = "promoted", "Promoted to an incident"
    DISMISSED = "dismissed", "Dismissed"


class DeflectionState(models.TextChoices):
    """A deflection is pending for 48 hours; not confirmed when the person raised a ticket on
    the service meanwhile (insights.deflection.verify_deflections)."""

    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    NOT_CONFIRMED = "not_confirmed", "Not confirmed"


class DeflectionContext(models.TextChoices):
    """Where the suggestion that solved it was shown."""

    COMPOSER = "composer", "Wall composer"
    INCIDENT = "incident", "Incident form"
    CHAT = "chat", "Live-help start"
    SEARCH = "search", "Search"
