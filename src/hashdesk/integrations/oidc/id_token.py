"""Validating an ID token (OpenID Connect Core 1.0, §3.1.3.7) before anyone is signed in."""

from __future__ import annotations

import hmac
import time
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import Key

from hashdesk.integrations.oidc import provider
from hashdesk.integrations.oidc.config import OidcSettings
from hashdesk.integrations.oidc.provider import OidcRefused

# Asymmetric algorithms only: "none" and the HMAC family (keyed with the client secret, which
# would let anyone holding that secret mint tokens) are refused whatever the token says.
ALLOWED_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
# Clock difference tolerated between the provider and Hashdesk.
LEEWAY_SECONDS = 60
# An ID token issued longer ago than this is not from the sign-in happening now.
MAX_AGE_SECONDS = 600

REFUSED = "The sign-in provider's answer could not be verified; please try again."


def _key_for(token: str, jwks_uri: str) -> tuple[Key, str]:
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (JoseError, ValueError, TypeError) as exc:
        raise OidcRefused(REFUSED) from exc
    algorithm = header.get("alg")
    if algorithm not in ALLOWED_ALGORITHMS:
        raise OidcRefused(REFUSED)
    kid = header.get("kid")
    for refresh in (False, True):
        keys = provider.signing_keys(jwks_uri, refresh=refresh)
        try:
            return keys.get_by_kid(kid), str(algorithm)
        except (JoseError, ValueError):
            continue
    raise OidcRefused(REFUSED)


def validate_id_token(
    token: str, *, config: OidcSettings, metadata: dict[str, Any], nonce: str
) -> dict[str, Any]:
    """The token's claims once signature, issuer, audience, times and nonce all check out."""
    key, algorithm = _key_for(token, str(metadata["jwks_uri"]))
    try:
        claims = jwt.decode(token, key, algorithms=[algorithm]).claims
    except (JoseError, ValueError, TypeError) as exc:
        raise OidcRefused(REFUSED) from exc
    if claims.get("iss") != config.issuer:
        raise OidcRefused(REFUSED)
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or config.client_id not in audiences:
        raise OidcRefused(REFUSED)
    if len(audiences) > 1 and claims.get("azp") != config.client_id:
        raise OidcRefused(REFUSED)
    now = time.time()
    expires, issued = claims.get("exp"), claims.get("iat")
    if not isinstance(expires, int | float) or not isinstance(issued, int | float):
        raise OidcRefused(REFUSED)
    if expires + LEEWAY_SECONDS < now:
        raise OidcRefused("The sign-in took too long and expired; please sign in again.")
    if issued - LEEWAY_SECONDS > now or issued + MAX_AGE_SECONDS < now:
        raise OidcRefused(REFUSED)
    token_nonce = claims.get("nonce")
    if not isinstance(token_nonce, str) or not hmac.compare_digest(
        token_nonce.encode(), nonce.encode()
    ):
        raise OidcRefused(REFUSED)
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        raise OidcRefused(REFUSED)
    return dict(claims)
