"""The two requests of the authorization-code flow with PKCE (RFC 6749 §4.1, RFC 7636).

authlib builds the authorization request and the S256 code challenge; the token request goes
through the same plain httpx client as discovery (provider.py explains why not
``hashdesk.core.http``). authlib's own httpx client is not used: in Authlib 1.9 it is a
deprecated shim waiting for the ``httpx2`` package.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from django.conf import settings
from django.urls import reverse

from hashdesk.integrations.oidc import provider
from hashdesk.integrations.oidc.config import OidcSettings
from hashdesk.integrations.oidc.provider import OidcRefused

NOT_ACCEPTED = "The sign-in provider did not accept this sign-in; please try again."


def redirect_uri() -> str:
    """The callback address registered at the provider: fixed by the public URL, never taken
    from the request's Host header."""
    return settings.PUBLIC_URL + reverse("oidc:callback")


def authorization_url(
    config: OidcSettings, metadata: dict[str, Any], *, state: str, nonce: str, verifier: str
) -> str:
    return str(
        prepare_grant_uri(
            metadata["authorization_endpoint"],
            client_id=config.client_id,
            response_type="code",
            redirect_uri=redirect_uri(),
            scope=" ".join(config.scopes),
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
    )


def exchange_code(
    config: OidcSettings, metadata: dict[str, Any], *, code: str, verifier: str
) -> dict[str, Any]:
    """The token response for ``code``; client_secret_basic authentication (RFC 6749 §2.3.1:
    both parts form-encoded before Basic encoding)."""
    auth = httpx.BasicAuth(quote(config.client_id, safe=""), quote(config.client_secret, safe=""))
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri(),
        "code_verifier": verifier,
    }
    try:
        with provider.client() as client:
            response = client.post(metadata["token_endpoint"], data=form, auth=auth)
    except httpx.HTTPError as exc:
        raise OidcRefused("The sign-in provider cannot be reached; try again later.") from exc
    try:
        token = response.json()
    except ValueError:
        token = None
    if response.status_code != 200 or not isinstance(token, dict) or "error" in token:
        raise OidcRefused(NOT_ACCEPTED)
    if not isinstance(token.get("id_token"), str):
        raise OidcRefused("The sign-in provider sent no ID token; is the openid scope allowed?")
    return token


def userinfo(metadata: dict[str, Any], token: dict[str, Any]) -> dict[str, Any]:
    """The userinfo endpoint's claims (OpenID Connect Core §5.3), or {} when unavailable."""
    endpoint = metadata.get("userinfo_endpoint")
    access_token = token.get("access_token")
    if not isinstance(endpoint, str) or not isinstance(access_token, str):
        return {}
    try:
        with provider.client() as client:
            response = client.get(endpoint, headers={"Authorization": f"Bearer {access_token}"})
        info = response.json() if response.status_code == 200 else {}
    except (httpx.HTTPError, ValueError):
        return {}
    return info if isinstance(info, dict) else {}
