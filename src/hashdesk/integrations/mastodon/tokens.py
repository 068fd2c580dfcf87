"""Bearer tokens of Mastodon apps: who a token speaks for and what it may do.

Tokens are django-oauth-toolkit access tokens. They are stored redacted (only their SHA-256
checksum, ``COMPLIANT_BCP_RFC9700_TOKEN_STORAGE``), so a token is found by the checksum of what
the client sends; a revoked token's row is gone. Plain synchronous ORM code: the event
server's streaming listener calls ``authenticate`` on its database threads.

Scopes follow Mastodon: a top-level scope (``read``, ``write``) grants every granular scope
under it (``read:statuses``...); ``follow`` is the legacy scope for follows and blocks.
"""

from __future__ import annotations

import hashlib

from django.utils import timezone
from oauth2_provider.models import AccessToken

from hashdesk.accounts.models import User

# Mastodon's scopes (docs.joinmastodon.org/api/oauth-scopes), with what the consent page says.
SCOPES: dict[str, str] = {
    "read": "Read everything you can see",
    "write": "Post, react and change things as you",
    "follow": "Follow and unfollow (legacy Mastodon scope)",
    "push": "Receive push notifications",
    "profile": "Read your basic profile only",
    "read:accounts": "Read people's profiles",
    "read:blocks": "Read your blocks",
    "read:bookmarks": "Read your bookmarks",
    "read:favourites": "Read your favourites",
    "read:filters": "Read your filters",
    "read:follows": "Read what you follow",
    "read:lists": "Read your lists",
    "read:mutes": "Read your mutes",
    "read:notifications": "Read your notifications",
    "read:search": "Search as you",
    "read:statuses": "Read posts you can see",
    "write:accounts": "Change your profile",
    "write:blocks": "Block people",
    "write:bookmarks": "Bookmark posts",
    "write:conversations": "Change your conversations",
    "write:favourites": "Favourite posts (like / me too)",
    "write:filters": "Change your filters",
    "write:follows": "Follow people",
    "write:lists": "Change your lists",
    "write:media": "Upload images",
    "write:mutes": "Mute people",
    "write:notifications": "Dismiss your notifications",
    "write:reports": "Report posts",
    "write:statuses": "Post and delete posts as you",
}

# What the legacy "follow" scope grants (Mastodon's Doorkeeper configuration).
_FOLLOW_GRANTS = frozenset({"read:follows", "write:follows", "read:blocks", "write:blocks"})
_FOLLOW_GRANTS |= {"read:mutes", "write:mutes"}


def checksum(raw: str) -> str:
    """How the toolkit indexes a token (its SHA-256, hex)."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def lookup(raw_bearer: str) -> AccessToken | None:
    """The live access token for ``raw_bearer`` (user or app-only), or None."""
    raw = (raw_bearer or "").strip()
    if not raw or len(raw) > 255:
        return None
    token = (
        AccessToken.objects.select_related("user", "application")
        .filter(token_checksum=checksum(raw))
        .first()
    )
    if token is None or token.expires <= timezone.now():
        return None
    if token.user_id is not None and not token.user.may_sign_in:
        return None
    return token


def scopes_of(token: AccessToken) -> frozenset[str]:
    return frozenset(token.scope.split())


def authenticate(raw_bearer: str) -> tuple[User, frozenset[str]] | None:
    """The person and granted scopes of a valid, unrevoked, unexpired user token; else None.

    An app-only token (client_credentials) speaks for nobody: None here.
    """
    token = lookup(raw_bearer)
    if token is None or token.user_id is None:
        return None
    user: User = token.user
    return user, scopes_of(token)


def allows(granted: frozenset[str] | set[str], needed: str) -> bool:
    """Whether ``granted`` covers ``needed`` (``read`` covers ``read:statuses``...)."""
    if needed in granted:
        return True
    top = needed.split(":", 1)[0]
    if top != needed and top in granted:
        return True
    return "follow" in granted and needed in _FOLLOW_GRANTS
