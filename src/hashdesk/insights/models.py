"""What the insight engine keeps (docs/insights.md).

- ``IndexedItem``: one row per record the similarity search can find (incidents, problems,
  known errors, articles, posts, chat messages), with the text it is found by. Visibility is
  *not* stored here: hits are always re-read through ``core.visibility`` on their own models.
- ``ProblemCandidate`` and its ``CandidateItem``s: a recurring pattern the clustering job found,
  with its evidence, until an agent accepts it (→ a problem) or dismisses it.
- ``ProbableIncident`` and its ``ProbableReport``s: a burst of reports on a service or hashtag
  the streaming detector raised, until an agent promotes it (→ an incident) or dismisses it.
- ``DetectorState``: each stream's detector state, so the detector resumes where it stopped.
- ``RoutingModel``: the learned category / assignment-group suggestion model.
- ``SentimentDaily``: a service's daily sentiment figures from posts, chats and updates.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from hashdesk.insights.choices import (
    CandidateState,
    DeflectionContext,
    DeflectionState,
    ItemKind,
    ProbableState,
)


class IndexedItem(models.Model):
    kind = models.CharField(max_length=12, choices=ItemKind.choices)
    object_id = models.PositiveBigIntegerField()
    service = models.ForeignKey(
        "catalog.Service", on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    title = models.CharField(max_length=300, blank=True)
    # The analysed text the item is found by (title + body, redacted as stored).
    text = models.TextField(blank=True)
    is_open = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="indexed_item_once")
        ]
        indexes = [models.Index(fields=["kind", "service", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"


class ProblemCandidate(models.Model):
    # Stable identity of the pattern across runs (service + leading terms), so a rerun updates
    # the candidate instead of proposing it again.
    signature = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    service = models.ForeignKey(
        "catalog.Service", on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    configuration_item = models.ForeignKey(
        "catalog.ConfigurationItem",
        on_delete=models.SET_NULL,
        related_name="+",
        null=True,
        blank=True,
    )
    state = models.CharField(
        max_length=10, choices=CandidateState.choices, default=CandidateState.OPEN
    )
    top_terms = models.JSONField(default=list, blank=True)
    # {"incidents": n, "posts": n, "chats": n, "people": n, "sites": [...], "trend": [...weekly],
    #  "representatives": [{"kind", "id", "text"}], "sentiment": x}
    evidence = models.JSONField(default=dict, blank=True)
    size = models.PositiveIntegerField(default=0)
    impact = models.FloatField(default=0.0)
    first_seen = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    # The size when dismissed: proposed again only if the pattern grows well beyond it.
    dismissed_size = models.PositiveIntegerField(null=True, blank=True)
    problem = models.ForeignKey(
        "problems.Problem", on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-impact", "-id"]
        indexes = [models.Index(fields=["state", "-impact"])]

    def __str__(self) -> str:
        return self.title


class CandidateItem(models.Model):
    candidate = models.ForeignKey(ProblemCandidate, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=12, choices=ItemKind.choices)
    object_id = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["candidate", "kind", "object_id"], name="candidate_item_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"


class ProbableIncident(models.Model):
    # The stream that burst: "service:<id>" or "tag:<name>".
    stream = models.CharField(max_length=120)
    service = models.ForeignKey(
        "catalog.Service", on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    hashtag = models.CharField(max_length=100, blank=True)
    state = models.CharField(
        max_length=10, choices=ProbableState.choices, default=ProbableState.OPEN
    )
    title = models.CharField(max_length=200)
    detected_at = models.DateTimeField(default=timezone.now)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    reports = models.PositiveIntegerField(default=0)
    expected = models.FloatField(default=0.0)
    score = models.FloatField(default=0.0)
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        indexes = [models.Index(fields=["state", "-detected_at"]), models.Index(fields=["stream"])]

    def __str__(self) -> str:
        return self.title


class ProbableReport(models.Model):
    probable = models.ForeignKey(ProbableIncident, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=12, choices=ItemKind.choices)
    object_id = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["probable", "kind", "object_id"], name="probable_report_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id}"


class DetectorState(models.Model):
    stream = models.CharField(max_length=120, unique=True)
    # The detector's own JSON state (insights.bursts.detector.StreamingDetector.state()).
    state = models.JSONField(default=dict)
    # The end of the last bucket fed to the detector.
    fed_until = models.DateTimeField()
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.stream


class RoutingModel(models.Model):
    # "assignment_group" or "category".
    target = models.CharField(max_length=20)
    trained_at = models.DateTimeField(default=timezone.now)
    examples = models.PositiveIntegerField(default=0)
    # Held-out accuracy and macro-F1 at training time, and the model's parameters.
    metrics = models.JSONField(default=dict, blank=True)
    # numpy .npz bytes (never pickle: allow_pickle=False when read).
    payload = models.BinaryField()
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-trained_at", "-id"]
        indexes = [models.Index(fields=["target", "is_active"])]

    def __str__(self) -> str:
        return f"{self.target} model of {self.trained_at:%Y-%m-%d %H:%M}"


class SentimentDaily(models.Model):
    service = models.ForeignKey("catalog.Service", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    texts = models.PositiveIntegerField(default=0)
    positive = models.PositiveIntegerField(default=0)
    negative = models.PositiveIntegerField(default=0)
    frustrated = models.PositiveIntegerField(default=0)
    # Mean sentiment in [-1, 1].
    score = models.FloatField(default=0.0)

    class Meta:
        ordering = ["-day", "service_id"]
        constraints = [
            models.UniqueConstraint(fields=["service", "day"], name="sentiment_daily_once")
        ]

    def __str__(self) -> str:
        return f"{self.service_id} {self.day}"


class Deflection(models.Model):
    """Someone said "This solved it" on a suggestion instead of filing a ticket
    (insights.deflection). One per person, suggestion and day."""

    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deflections"
    )
    context = models.CharField(max_length=10, choices=DeflectionContext.choices)
    service = models.ForeignKey(
        "catalog.Service", on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    # The suggestion that did it: its kind and id (a known error by its published article's id).
    kind = models.CharField(max_length=12, choices=ItemKind.choices)
    object_id = models.PositiveBigIntegerField()
    # The article behind an article or known-error suggestion (for the per-article rate).
    article = models.ForeignKey(
        "knowledge.Article", on_delete=models.SET_NULL, related_name="+", null=True, blank=True
    )
    # What the person had typed, redacted and truncated.
    text = models.TextField(blank=True)
    day = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(
        max_length=14, choices=DeflectionState.choices, default=DeflectionState.PENDING
    )
    verify_after = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "kind", "object_id", "day"], name="deflection_once_a_day"
            )
        ]
        indexes = [
            models.Index(fields=["day", "service"]),
            models.Index(fields=["state", "verify_after"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} by {self.person_id}"


class SuggestionImpression(models.Model):
    """How often suggestions were shown, counted once per person and typing session: a row per
    (day, context, service) with ``kind`` "" (sessions with suggestions), and a row per
    suggestion shown (kind, id). ``service_id`` 0 means none (so the unique key holds)."""

    day = models.DateField()
    context = models.CharField(max_length=10, choices=DeflectionContext.choices)
    service_id = models.PositiveBigIntegerField(default=0)
    kind = models.CharField(max_length=12, blank=True)
    object_id = models.PositiveBigIntegerField(default=0)
    shown = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "context", "service_id", "kind", "object_id"],
                name="suggestion_impression_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.context} {self.service_id} {self.kind}:{self.object_id}"
