"""The one outbound HTTP client (owned by the webhook work of issue 9; this is the contract)."""

from __future__ import annotations


class OutboundRefused(ValueError):
    """The destination is not allowed: a private, loopback or otherwise internal address that
    ``HASHDESK_OUTBOUND_ALLOWED_NETWORKS`` does not list, or a malformed URL."""


def check_destination(url: str) -> None:
    """Raise :class:`OutboundRefused` unless ``url`` may be called (resolving its host)."""
    raise NotImplementedError
