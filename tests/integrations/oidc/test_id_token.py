"""ID token validation against the real provider's published keys: tokens signed with the
provider's own private key pass; any change to signature, algorithm, issuer, audience, times or
nonce is refused; a rotated key is found with one fresh fetch of the key set."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from django.core.cache import cache
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from hashdesk.integrations.oidc import provider
from hashdesk.integrations.oidc.config import oidc_settings
from hashdesk.integrations.oidc.id_token import validate_id_token
from hashdesk.integrations.oidc.provider import OidcRefused
from tests.integrations.oidc.provider.process import Provider

pytestmark = pytest.mark.django_db
NONCE = "n-0S6_WzA2Mj"


@pytest.fixture
def keys(single_sign_on: Provider) -> tuple[RSAKey, str]:
    oidc_provider = single_sign_on
    published = httpx.get(f"{oidc_provider.issuer}/.well-known/jwks.json").json()["keys"]
    return RSAKey.import_key(oidc_provider.private_key_pem), published[0]["kid"]


def claims(issuer: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    values = {"iss": issuer, "sub": "7", "aud": "hashdesk", "iat": now, "exp": now + 300}
    values |= {"nonce": NONCE, "email": "dana.agent@example.test", "email_verified": True}
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def validate(token: str, nonce: str = NONCE) -> dict[str, Any]:
    config = oidc_settings()
    assert config is not None
    return validate_id_token(token, config=config, metadata=provider.metadata(config), nonce=nonce)


def test_a_token_signed_by_the_provider_passes(
    keys: tuple[RSAKey, str], oidc_provider: Provider
) -> None:
    key, kid = keys
    token = jwt.encode({"alg": "RS256", "kid": kid}, claims(oidc_provider.issuer), key)
    assert validate(token)["sub"] == "7"


def _tampered(p: Provider, key: RSAKey, kid: str) -> str:
    """A real signature over one payload, put on another (the subject changed)."""
    header, _, signature = jwt.encode({"alg": "RS256", "kid": kid}, claims(p.issuer), key).split(
        "."
    )
    forged = jwt.encode({"alg": "RS256", "kid": kid}, claims(p.issuer, sub="1"), key).split(".")[1]
    return ".".join([header, forged, signature])


def _unsigned(payload: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


FORGERIES: dict[str, Callable[[Provider, RSAKey, str], str]] = {
    "payload changed after signing": _tampered,
    "alg none": lambda p, key, kid: _unsigned(claims(p.issuer)),
    "HS256 keyed with the client secret": lambda p, key, kid: jwt.encode(
        {"alg": "HS256", "kid": kid}, claims(p.issuer), OctKey.import_key(p.client_secret)
    ),
    "another issuer": lambda p, key, kid: jwt.encode(
        {"alg": "RS256", "kid": kid}, claims("https://evil.example.test/o"), key
    ),
    "another audience": lambda p, key, kid: jwt.encode(
        {"alg": "RS256", "kid": kid}, claims(p.issuer, aud="someone-else"), key
    ),
    "expired": lambda p, key, kid: jwt.encode(
        {"alg": "RS256", "kid": kid},
        claims(p.issuer, iat=int(time.time()) - 900, exp=int(time.time()) - 300),
        key,
    ),
    "issued in the future": lambda p, key, kid: jwt.encode(
        {"alg": "RS256", "kid": kid}, claims(p.issuer, iat=int(time.time()) + 600), key
    ),
    "no nonce": lambda p, key, kid: jwt.encode(
        {"alg": "RS256", "kid": kid}, claims(p.issuer, nonce=None), key
    ),
    "signed by a key the provider never published": lambda p, key, kid: jwt.encode(
        {"alg": "RS256", "kid": "not-the-providers"}, claims(p.issuer), RSAKey.generate_key(2048)
    ),
}


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_forged_tokens_are_refused(
    forgery: str, keys: tuple[RSAKey, str], oidc_provider: Provider
) -> None:
    key, kid = keys
    token = FORGERIES[forgery](oidc_provider, key, kid)
    with pytest.raises(OidcRefused):
        validate(token)


def test_a_token_for_another_sign_in_is_refused(
    keys: tuple[RSAKey, str], oidc_provider: Provider
) -> None:
    key, kid = keys
    token = jwt.encode({"alg": "RS256", "kid": kid}, claims(oidc_provider.issuer), key)
    with pytest.raises(OidcRefused):
        validate(token, nonce="the-nonce-of-this-browser")


def test_a_rotated_key_is_fetched_once(keys: tuple[RSAKey, str], oidc_provider: Provider) -> None:
    key, kid = keys
    config = oidc_settings()
    assert config is not None
    jwks_uri = provider.metadata(config)["jwks_uri"]
    old = RSAKey.generate_key(2048, parameters={"kid": "retired-key", "use": "sig"})
    cache.set(provider._cache_key("jwks", jwks_uri), {"keys": [old.as_dict(private=False)]})

    token = jwt.encode({"alg": "RS256", "kid": kid}, claims(oidc_provider.issuer), key)

    assert validate(token)["sub"] == "7"
    refreshed = cache.get(provider._cache_key("jwks", jwks_uri))
    assert [k["kid"] for k in refreshed["keys"]] == [kid]
