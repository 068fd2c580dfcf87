"""Mastodon's scopes and grants for django-oauth-toolkit (settings.OAUTH2_PROVIDER).

An app may ask only for the scopes it registered (or granular scopes under a registered
top-level one, ``read:statuses`` under ``read``), as Mastodon allows; asking for none gets
``read``. One app uses the authorization code grant (people) and client credentials (the app
itself), like a Mastodon app; the password grant is not offered.
"""

from __future__ import annotations

from typing import Any

from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes

from hashdesk.integrations.mastodon.tokens import SCOPES

GRANT_TYPES = frozenset({"authorization_code", "client_credentials", "refresh_token"})
DEFAULT_SCOPES = ["read"]


def registered_scopes(application: Any) -> frozenset[str]:
    registration = getattr(application, "mastodon_registration", None)
    if registration is None:
        return frozenset()
    return registration.scope_set


def expand(scopes: frozenset[str]) -> set[str]:
    """``scopes`` and every granular scope a top-level one among them covers."""
    result = set(scopes)
    for name in SCOPES:
        top = name.split(":", 1)[0]
        if top != name and top in scopes:
            result.add(name)
    return result


class MastodonScopes(BaseScopes):
    def get_all_scopes(self) -> dict[str, str]:
        return dict(SCOPES)

    def get_available_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        if application is None:
            return list(SCOPES)
        return sorted(expand(registered_scopes(application)))

    def get_default_scopes(
        self, application: Any = None, request: Any = None, *args: Any, **kwargs: Any
    ) -> list[str]:
        available = self.get_available_scopes(application, request)
        return [scope for scope in DEFAULT_SCOPES if scope in available] or available[:1]


class MastodonValidator(OAuth2Validator):
    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        if registered_scopes(request.client) and grant_type in GRANT_TYPES:
            return True
        return bool(super().validate_grant_type(client_id, grant_type, client, request))


def pkce_required(client_id: str) -> bool:
    """PKCE is required of public clients (no secret to prove who they are); confidential
    Mastodon apps may omit it, and any challenge sent is checked (settings.OAUTH2_PROVIDER)."""
    from oauth2_provider.models import Application

    return Application.objects.filter(
        client_id=client_id, client_type=Application.CLIENT_PUBLIC
    ).exists()
