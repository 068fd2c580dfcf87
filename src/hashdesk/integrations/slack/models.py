"""Slack-compatible incoming webhooks (docs/integrations/slack.md).

A hook's URL carries its secret, as Slack's do; only a SHA-256 of the secret is stored (the
secret is 190 random bits, so a fast hash is enough) and the URL is shown once, on creation or
rotation. Each hook speaks through an account of its own, made with it.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from hashdesk.integrations.slack.choices import HookTarget

NAME_MAX = 100
PUBLIC_ID_LENGTH = 12


class IncomingWebhook(models.Model):
    name = models.CharField(max_length=NAME_MAX, unique=True)
    # Finds the row without scanning hashes; the secret after it in the URL authenticates.
    public_id = models.CharField(max_length=PUBLIC_ID_LENGTH, unique=True)
    secret_hash = models.CharField(max_length=64)
    target = models.CharField(max_length=20, choices=HookTarget.choices)
    service = models.ForeignKey(
        "catalog.Service", on_delete=models.CASCADE, related_name="incoming_webhooks"
    )
    # The service's chat room, for ROOM hooks.
    room = models.ForeignKey(
        "chat.Room", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # The account the hook posts as (no usable password: it never signs in).
    bot = models.OneToOneField(
        "accounts.User", on_delete=models.PROTECT, related_name="incoming_webhook"
    )
    created_by = models.ForeignKey(
        "accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    rotated_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    message_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
