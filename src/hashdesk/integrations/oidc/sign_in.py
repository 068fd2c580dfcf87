"""What the sign-in page needs to offer single sign-on (used by hashdesk.accounts.views)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse

from hashdesk.integrations.oidc.config import oidc_settings, password_sign_in_allowed

__all__ = ["password_sign_in_allowed", "sign_in_option"]


def sign_in_option(next_url: str | None) -> dict[str, str] | None:
    """The "Sign in with …" button's label and address, or None when single sign-on is off."""
    config = oidc_settings()
    if config is None:
        return None
    url = reverse("oidc:login")
    if next_url:
        url += "?" + urlencode({"next": next_url})
    return {"label": f"Sign in with {config.provider_name}", "url": url}
