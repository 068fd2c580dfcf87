"""An import file checked by a dry run and waiting for its administrator to apply it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class StagedImport(models.Model):
    """The uploaded file, kept between the dry run's report and "Apply" (one hour), so the
    administrator applies exactly the file they reviewed without uploading it again."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20)
    format = models.CharField(max_length=4)
    filename = models.CharField(max_length=200, blank=True)
    data = models.BinaryField()
    report = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} import {self.filename} by #{self.actor_id}"
