"""Synonyms for IT terms, applied as query expansion by hashdesk.search.query (docs/search.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Synonym(models.Model):
    """A word or short phrase and the words that mean the same to the people who search:
    a query having ``term`` also matches each of ``synonyms`` (and the other way round)."""

    term = models.CharField(max_length=60, unique=True)
    # Comma-separated, as an administrator types them ("remote access, tunnel").
    synonyms = models.CharField(max_length=300)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["term"]

    def __str__(self) -> str:
        return f"{self.term} = {self.synonyms}"

    def words(self) -> list[str]:
        return [part.strip() for part in self.synonyms.split(",") if part.strip()]
