"""Personal API tokens: ``hd_<prefix>_<secret>``. Only SHA-256 of the secret is stored.

The prefix is public and indexed so a token is found in one query; the secret is compared in
constant time. SHA-256 (not Argon2) is right here: the secret has 256 bits of entropy, so there is
nothing to brute-force, and every API request checks a token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from hashdesk.accounts.models import ApiToken

TOKEN_PREFIX = "hd"
# Write last_used_at at most this often, so reads do not turn into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate() -> tuple[str, str, str]:
    """A new token as (raw token shown once, prefix, secret hash)."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return f"{TOKEN_PREFIX}_{prefix}_{secret}", prefix, hash_secret(secret)


def split(raw: str) -> tuple[str, str] | None:
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1], parts[2]


def authenticate_token(raw: str) -> ApiToken | None:
    """The usable token for ``raw`` (with its active user loaded), or None."""
    parsed = split(raw or "")
    if parsed is None:
        return None
    prefix, secret = parsed
    # One query for the token, its person and their roles: the join yields a row per role,
    # and every API request needs the roles for its visibility checks.
    rows = list(
        ApiToken.objects.select_related("user")
        .filter(prefix=prefix)
        .annotate(role_name=F("user__groups__name"))
    )
    if not rows:
        return None
    token = rows[0]
    if not hmac.compare_digest(token.secret_hash, hash_secret(secret)):
        return None
    # Fills User.roles (a cached_property) so it costs no further query.
    token.user.__dict__["roles"] = frozenset(row.role_name for row in rows if row.role_name)
    now = timezone.now()
    if not token.is_usable(now) or not token.user.may_sign_in:
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        # Bookkeeping, not a domain change: a plain UPDATE, no audit row.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
