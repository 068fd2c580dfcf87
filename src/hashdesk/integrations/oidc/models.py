"""Which account an identity at the OpenID provider signs in to."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class OidcIdentity(models.Model):
    """A person at a provider (``issuer`` + ``sub``, stable and never reassigned, unlike an
    email address) linked to one Hashdesk account. Created at the first sign-in only."""

    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="oidc_identities"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="oidc_identity_unique")
        ]
        verbose_name = "OpenID identity"
        verbose_name_plural = "OpenID identities"

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
