"""Problems: the cause behind recurring incidents, its workaround and its fix (docs/problems.md).

A problem links the incidents it explains and the services it touches. Publishing its
workaround makes it a *known error*: a knowledge article (``known_error_article``) that users
can read, an official wall post, and a notice to every affected user of a linked incident.
Once its fix (usually a linked change) is in and the problem resolved, recurrence is watched
until ``watch_until``: reports that match it afterwards are recorded as ``ProblemRecurrence``
and reopen the question for the problem manager.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from hashdesk.problems.choices import ProblemState, RecurrenceKind

TITLE_MAX = 200
TEXT_MAX = 20_000


class Problem(models.Model):
    number = models.CharField(max_length=16, unique=True, null=True, blank=True)
    title = models.CharField(max_length=TITLE_MAX)
    description = models.TextField(max_length=TEXT_MAX, blank=True)
    state = models.CharField(max_length=14, choices=ProblemState.choices, default=ProblemState.NEW)
    services = models.ManyToManyField("catalog.Service", related_name="problems", blank=True)
    configuration_items = models.ManyToManyField(
        "catalog.ConfigurationItem", related_name="problems", blank=True
    )
    root_cause = models.TextField(max_length=TEXT_MAX, blank=True)
    workaround = models.TextField(max_length=TEXT_MAX, blank=True)
    # The published known error: the article users read, and when it went out.
    known_error_article = models.ForeignKey(
        "knowledge.Article",
        on_delete=models.SET_NULL,
        related_name="known_error_of",
        null=True,
        blank=True,
    )
    known_error_published_at = models.DateTimeField(null=True, blank=True)
    # The change that fixes it (changes.Change), when there is one.
    fix_change = models.ForeignKey(
        "changes.Change", on_delete=models.SET_NULL, related_name="fixes", null=True, blank=True
    )
    resolution = models.TextField(max_length=TEXT_MAX, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="owned_problems",
        null=True,
        blank=True,
    )
    owner_team = models.ForeignKey(
        "accounts.Team", on_delete=models.SET_NULL, related_name="problems", null=True, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_problems"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # After the fix: reports matching the problem until then reopen the question.
    watch_until = models.DateTimeField(null=True, blank=True)
    # Set when a report matched after the fix; cleared when the problem manager has looked.
    recurrence_flagged_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "-created_at"]),
            models.Index(fields=["watch_until"]),
        ]

    def __str__(self) -> str:
        return self.number or self.title


class ProblemIncident(models.Model):
    """An incident the problem explains."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="incident_links")
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="problem_links"
    )
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True
    )
    linked_at = models.DateTimeField(default=timezone.now)
    # The workaround was pushed to this incident's affected users (once per incident).
    workaround_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["linked_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["problem", "incident"], name="problem_incident_once")
        ]

    def __str__(self) -> str:
        return f"{self.problem_id} → {self.incident_id}"


class ProblemRecurrence(models.Model):
    """A report that matched the problem after its fix."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="recurrences")
    kind = models.CharField(max_length=10, choices=RecurrenceKind.choices)
    object_id = models.PositiveBigIntegerField()
    text = models.CharField(max_length=500)
    score = models.FloatField()
    detected_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["problem", "kind", "object_id"], name="problem_recurrence_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.problem_id}: {self.kind} {self.object_id}"
