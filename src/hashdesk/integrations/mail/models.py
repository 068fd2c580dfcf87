"""What arrived by mail and what became of it (docs/integrations/mail.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from hashdesk.integrations.mail.choices import InboundStatus

MESSAGE_ID_MAX = 255


class InboundMessage(models.Model):
    """One mail received by ``hashdesk smtpd`` (or handed to ``receive_mail``).

    A Message-ID is recorded once: a second delivery of the same mail (a retrying MTA, a copy
    to two of our addresses) is recognised and changes nothing. Rejected mails do not take the
    id, so the same mail sent again once the sender has an account is read.
    """

    message_id = models.CharField(max_length=MESSAGE_ID_MAX, blank=True)
    envelope_from = models.CharField(max_length=254, blank=True)
    sender = models.CharField(max_length=254, blank=True)
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=255, blank=True)
    size = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=InboundStatus.choices)
    reason = models.CharField(max_length=255, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    dropped_attachments = models.JSONField(default=list)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "-id"], name="mail_inbound_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["message_id"],
                condition=~Q(status=InboundStatus.REJECTED),
                name="mail_inbound_message_id_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.message_id or 'mail'} from {self.sender or self.envelope_from or '<>'}"
