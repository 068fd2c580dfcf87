"""What arrived by mail and what became of it (docs/integrations/mail.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from hashdesk.integrations.mail.choices import AliasTarget, InboundStatus

MESSAGE_ID_MAX = 255
# RFC 5321 4.5.3.1.1: a local part is at most 64 octets.
LOCAL_PART_MAX = 64


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


class MailAlias(models.Model):
    """An address of the inbound domains (``helpdesk@``, ``printers-floor3@``) pointed at a
    service, or at "guess" (the hashtag / similar incidents / default chain).

    The local part is stored in lower case and matched without regard to case, as the
    routing compares lower-cased recipients. An active alias is looked up before services'
    slugs and hashtags, so an alias named like a slug shadows it.
    """

    local_part = models.CharField(max_length=LOCAL_PART_MAX, unique=True)
    target = models.CharField(max_length=10, choices=AliasTarget.choices)
    # Set exactly when ``target`` is "service". Services are retired, never deleted; PROTECT
    # makes a deletion that would leave an alias pointing nowhere fail loudly.
    service = models.ForeignKey(
        "catalog.Service",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mail_aliases",
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["local_part"]
        constraints = [
            models.CheckConstraint(
                condition=Q(local_part=Lower("local_part")), name="mail_alias_lower_case"
            ),
            models.CheckConstraint(
                condition=(
                    Q(target=AliasTarget.SERVICE, service__isnull=False)
                    | Q(target=AliasTarget.GUESS, service__isnull=True)
                ),
                name="mail_alias_target_service",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.local_part}@"
