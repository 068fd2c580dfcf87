"""Vocabulary of inbound mail (docs/integrations/mail.md)."""

from django.db import models


class InboundStatus(models.TextChoices):
    OPENED = "opened", "Opened an incident"
    THREADED = "threaded", "Added to a timeline"
    IGNORED = "ignored", "Ignored"
    REJECTED = "rejected", "Rejected"


class UnknownSenders(models.TextChoices):
    REJECT = "reject", "Reject with 550"
    CREATE = "create", "Create a requester account"
    IGNORE = "ignore", "Accept and ignore"


class AliasTarget(models.TextChoices):
    SERVICE = "service", "A service"
    GUESS = "guess", "Guess from the mail (hashtag, similar incidents, default)"
