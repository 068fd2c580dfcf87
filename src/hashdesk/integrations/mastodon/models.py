"""What a Mastodon app registered beyond the OAuth client itself (docs/integrations/mastodon.md).

The client (id, hashed secret, redirect URIs) is django-oauth-toolkit's Application; this row
keeps the scopes the app registered for — it may ask for no others — and its website.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings


class AppRegistration(models.Model):
    application = models.OneToOneField(
        oauth2_settings.APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="mastodon_registration",
    )
    # Space-separated Mastodon scopes, as registered ("read write follow").
    scopes = models.CharField(max_length=1000)
    website = models.URLField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Mastodon app {self.application_id}"

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())
