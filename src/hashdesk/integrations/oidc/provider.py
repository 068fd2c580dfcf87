"""Talking to the OpenID provider: discovery, its signing keys, the token endpoint.

The provider is configured by the operator in the environment, never by people using
Hashdesk, so these requests go through a plain httpx client with TLS verification rather than
``hashdesk.core.http`` (whose guard refuses loopback and private addresses, where company
identity providers usually live). Redirects are not followed: a provider answers these
endpoints directly.

Discovery and keys are kept in the shared cache, so every web process fetches them once an
hour; a token signed with a key id the cached set lacks (the provider rotated its keys) makes
one fresh fetch of the key set.
"""

from __future__ import annotations

import functools
import hashlib
import ssl
from typing import Any

import httpx
from django.conf import settings
from django.core.cache import cache
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from hashdesk.integrations.oidc.config import OidcSettings

DISCOVERY_TTL_SECONDS = 3600
JWKS_TTL_SECONDS = 3600
# Everything a provider answers is small; a bigger answer is not a provider's.
MAX_RESPONSE_BYTES = 512 * 1024


class OidcRefused(Exception):
    """A sign-in through the provider cannot go on; ``str(exc)`` is safe to show the person."""


@functools.cache
def _tls() -> ssl.SSLContext:
    # Loading the CA bundle takes tens of milliseconds: once per process, not per sign-in.
    return httpx.create_ssl_context()


def client() -> httpx.Client:
    return httpx.Client(
        timeout=settings.OUTBOUND_TIMEOUT_SECONDS,
        follow_redirects=False,
        verify=_tls(),
        headers={"Accept": "application/json", "User-Agent": "Hashdesk OIDC"},
    )


def _cache_key(kind: str, url: str) -> str:
    return f"oidc:{kind}:" + hashlib.sha256(url.encode()).hexdigest()[:32]


def get_json(url: str) -> dict[str, Any]:
    try:
        with client() as http:
            response = http.get(url)
    except httpx.HTTPError as exc:
        raise OidcRefused("The sign-in provider cannot be reached; try again later.") from exc
    if response.status_code != 200 or len(response.content) > MAX_RESPONSE_BYTES:
        raise OidcRefused("The sign-in provider answered with an error; try again later.")
    try:
        data = response.json()
    except ValueError as exc:
        raise OidcRefused("The sign-in provider answered with something unreadable.") from exc
    if not isinstance(data, dict):
        raise OidcRefused("The sign-in provider answered with something unreadable.")
    return data


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def metadata(config: OidcSettings) -> dict[str, Any]:
    """The provider's metadata (OpenID Connect Discovery 1.0), checked and cached."""
    url = discovery_url(config.issuer)
    key = _cache_key("discovery", url)
    cached = cache.get(key)
    if isinstance(cached, dict):
        return cached
    document = get_json(url)
    # Discovery 1.0 §4.3: the issuer in the document must be exactly the configured one.
    if document.get("issuer") != config.issuer:
        raise OidcRefused("The sign-in provider is not the one configured (issuer mismatch).")
    for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(field)
        if not isinstance(value, str) or not value.startswith(("https://", "http://")):
            raise OidcRefused("The sign-in provider's configuration is incomplete.")
    cache.set(key, document, timeout=DISCOVERY_TTL_SECONDS)
    return document


def signing_keys(jwks_uri: str, *, refresh: bool = False) -> KeySet:
    """The provider's published keys; ``refresh`` skips the cache (a key id we lack)."""
    key = _cache_key("jwks", jwks_uri)
    document = None if refresh else cache.get(key)
    if not isinstance(document, dict):
        document = get_json(jwks_uri)
        cache.set(key, document, timeout=JWKS_TTL_SECONDS)
    try:
        return KeySet.import_key_set(document)  # type: ignore[arg-type]
    except (JoseError, ValueError, KeyError, TypeError) as exc:
        raise OidcRefused("The sign-in provider publishes no usable signing keys.") from exc
