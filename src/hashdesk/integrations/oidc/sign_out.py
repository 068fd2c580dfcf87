"""Signing out at the provider too (OpenID Connect RP-Initiated Logout 1.0).

Sign-in keeps the ID token in the session (``ID_TOKEN_SESSION_KEY``); Hashdesk's sign-out
asks ``provider_sign_out_url`` (listed in ``settings.SIGN_OUT_REDIRECTS``) before it ends the
session, then sends the browser to the provider's ``end_session_endpoint`` with that token as
``id_token_hint``. The provider ends its own session and sends the browser back to
``signed_out`` (``post_logout_redirect_uri``), which leads to the sign-in page. A person who
signed in with a password has no ID token in the session and is not sent anywhere.

The ID token identifies the person: it is kept in the session only, never logged or audited.
"""

from __future__ import annotations

import secrets

from authlib.common.urls import add_params_to_uri
from django.conf import settings
from django.core import signing
from django.http import HttpRequest
from django.urls import reverse

from hashdesk.core.logging import get_logger
from hashdesk.integrations.oidc import provider
from hashdesk.integrations.oidc.config import oidc_settings
from hashdesk.integrations.oidc.provider import OidcRefused

log = get_logger(__name__)

ID_TOKEN_SESSION_KEY = "_oidc_id_token"
STATE_SALT = "hashdesk.oidc.sign-out"
# Time to sign out at the provider and come back (a confirmation page there included).
STATE_MAX_AGE_SECONDS = 600


def post_logout_redirect_uri() -> str:
    """The address the provider returns to, registered there: fixed by the public URL."""
    return settings.PUBLIC_URL + reverse("oidc:signed-out")


def sign_out_state() -> str:
    """An opaque ``state`` Hashdesk can recognise on the way back without a session (the
    session is gone by then): signed, time-stamped, random."""
    return signing.dumps(secrets.token_urlsafe(16), salt=STATE_SALT)


def state_is_ours(state: str) -> bool:
    try:
        signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE_SECONDS)
    except signing.BadSignature:
        return False
    return True


def provider_sign_out_url(request: HttpRequest) -> str | None:
    """The provider's end-session address for this sign-out, or None: a password sign-in,
    single sign-on off, provider sign-out turned off, or a provider without the endpoint."""
    id_token = request.session.get(ID_TOKEN_SESSION_KEY)
    config = oidc_settings()
    if not isinstance(id_token, str) or config is None or not settings.OIDC_PROVIDER_SIGN_OUT:
        return None
    try:
        metadata = provider.metadata(config)
    except OidcRefused:
        log.info("oidc.provider_sign_out_skipped", reason="discovery")
        return None
    endpoint = metadata.get("end_session_endpoint")
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        return None
    return str(
        add_params_to_uri(
            endpoint,
            [
                ("id_token_hint", id_token),
                ("post_logout_redirect_uri", post_logout_redirect_uri()),
                ("client_id", config.client_id),
                ("state", sign_out_state()),
            ],
        )
    )
