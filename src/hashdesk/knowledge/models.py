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
        indexes = [models.Index(fields=["state", "updated_at"])]

    def __str__(self) -> str:
        return self.number or self.title


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
