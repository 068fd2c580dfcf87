"""Notifications: the in-app record, each person's preferences, webhooks, chat tools, digests."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from hashdesk.notify.choices import Category, Channel, Digest


class Notification(models.Model):
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    # What happened, as a dotted kind ("account.token_created"), for filtering and icons.
    kind = models.CharField(max_length=60)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id}"


class NotificationPreference(models.Model):
    """How one person wants one category told: which channels, and how often.

    No row means the defaults of hashdesk.notify.preferences. In-app is always on: the
    notification centre is the record of everything a person was told.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    category = models.CharField(max_length=20, choices=Category.choices)
    # Channels besides in-app, as a list of Channel values ("email", "chat", "webhook").
    channels = models.JSONField(default=list)
    digest = models.CharField(max_length=10, choices=Digest.choices, default=Digest.IMMEDIATE)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "category"], name="unique_preference")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.category}: {self.channels} {self.digest}"


class NotificationSettings(models.Model):
    """One person's quiet hours and chat tool; created on first save of the preferences page."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    # In the person's own time zone; a window may wrap midnight (22:00 to 07:00).
    quiet_start = models.TimeField(null=True, blank=True)
    quiet_end = models.TimeField(null=True, blank=True)
    # Major incidents are told at once even in quiet hours unless the person turns this off.
    urgent_breaks_quiet = models.BooleanField(default=True)
    # Where the "chat tool" channel delivers: one of the tools administrators offer to people.
    chat_tool = models.ForeignKey(
        "notify.ChatTool", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # How the tool should address the person (a chat user name), when it can mention.
    chat_handle = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"notification settings of {self.user_id}"


class WebhookEndpoint(models.Model):
    """A URL that receives one person's notifications as signed JSON (docs/notifications.md)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks"
    )
    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    # The HMAC-SHA256 key; shown once when created, stored to sign every delivery.
    secret = models.CharField(max_length=100)
    # Categories it receives; empty means every category the owner routes to webhooks.
    categories = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="unique_webhook_name")
        ]

    def __str__(self) -> str:
        return f"webhook {self.name} of {self.owner_id}"


class ChatTool(models.Model):
    """A chat tool (Slack, Teams, Mattermost, Matrix, Mastodon, Telegram, ...) reached through an
    apprise URL that an administrator configured. It announces major incidents and changes of
    its services to a channel, and, when offered to people, carries their own notifications."""

    name = models.CharField(max_length=100, unique=True)
    # Contains the tool's credentials: never shown again after saving, never logged.
    apprise_url = models.TextField()
    # The scheme and host alone ("mmost://chat.example.com"), safe to show in lists and logs.
    display_target = models.CharField(max_length=300, blank=True)
    services = models.ManyToManyField("catalog.Service", blank=True, related_name="chat_tools")
    # Categories announced to the channel for its services (major, changes, incidents).
    categories = models.JSONField(default=list, blank=True)
    # People may choose it as their own "chat tool" channel.
    offered_to_people = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DigestEntry(models.Model):
    """A notification held for a digest or until quiet hours end, per channel."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="digest_entries"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="digest_entries"
    )
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["sent_at", "due_at"])]
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="unique_digest_entry")
        ]

    def __str__(self) -> str:
        return f"{self.channel} digest entry {self.notification_id} for {self.user_id}"
