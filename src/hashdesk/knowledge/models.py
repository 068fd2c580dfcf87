"""Knowledge articles and their versions (docs/knowledge.md).

An article's text lives in its versions: every save is a new ``ArticleVersion`` (the latest is
the article's ``current_version``), so nothing written is ever lost and any version can be
restored. Texts are stored redacted, like every text in Hashdesk.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from hashdesk.knowledge.choices import ArticleOrigin, ArticleState, ArticleVisibility

TITLE_MAX = 200
BODY_MAX = 50_000


class Article(models.Model):
    number = models.CharField(max_length=16, unique=True, null=True, blank=True)
    title = models.CharField(max_length=TITLE_MAX)
    body = models.TextField(max_length=BODY_MAX)
    body_html = models.TextField(blank=True)
    state = models.CharField(
        max_length=10, choices=ArticleState.choices, default=ArticleState.DRAFT
    )
    visibility = models.CharField(
        max_length=10, choices=ArticleVisibility.choices, default=ArticleVisibility.PUBLIC
    )
    services = models.ManyToManyField("catalog.Service", related_name="articles", blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_articles"
    )
    version = models.PositiveIntegerField(default=1)
    # Where the first draft came from, for the reviewer and for reputation (issue 8).
    origin = models.CharField(
        max_length=20, choices=ArticleOrigin.choices, default=ArticleOrigin.MANUAL
    )
    origin_id = models.PositiveBigIntegerField(null=True, blank=True)
    # Whose words the draft was made from (the helper who answered, the agent who chatted).
    contributor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        related_name="contributed_articles",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    review_due_at = models.DateTimeField(null=True, blank=True)
    # A published article edited since: its newest version (``version``) waits for review while
    # readers keep the published text (title, body) of ``published_version``.
    revision_pending = models.BooleanField(default=False)
    published_version = models.PositiveIntegerField(null=True, blank=True)
    # The reviewer's last "send back" comment (cleared when approved).
    review_comment = models.CharField(max_length=1000, blank=True)
    # When the owner was last told the review date passed (the daily task tells them once).
    review_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            # One draft per thing it was drafted from: drafting twice opens the first.
            models.UniqueConstraint(
                fields=["origin", "origin_id"],
                condition=Q(origin_id__isnull=False),
                name="knowledge_one_article_per_origin",
            )
        ]
        indexes = [
            models.Index(fields=["state", "updated_at"]),
            models.Index(fields=["state", "review_due_at"]),
        ]

    def __str__(self) -> str:
        return self.number or self.title

    @property
    def is_stale(self) -> bool:
        """Published and past its review date: its owner should check it still holds."""
        return (
            self.state == ArticleState.PUBLISHED
            and self.review_due_at is not None
            and self.review_due_at <= timezone.now()
        )


class ArticleVersion(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    title = models.CharField(max_length=TITLE_MAX)
    body = models.TextField(max_length=BODY_MAX)
    note = models.CharField(max_length=300, blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["article", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "version"], name="unique_knowledge_article_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.version}"


COMMENT_MAX = 1000


class ArticleFeedback(models.Model):
    """Was this article helpful? One per person per article; giving it again changes it."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="article_feedback"
    )
    helpful = models.BooleanField()
    comment = models.TextField(max_length=COMMENT_MAX, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "person"], name="unique_knowledge_feedback_per_person"
            )
        ]

    def __str__(self) -> str:
        return f"{self.article_id} {'+' if self.helpful else '-'} {self.person_id}"
