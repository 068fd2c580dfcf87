"""Which addresses are Hashdesk's, and what a reply address or a Message-ID points at.

Notification mails (notify.email) carry ``Reply-To: reply+<token>@<reply domain>`` and name
their thread's root ``<incident.INC-000042@<public host>>`` in In-Reply-To / References.
"""

from __future__ import annotations

import re

from django.conf import settings

from hashdesk.notify.email import parse_reply_token, public_host, reply_domain, thread_named

_ROOT_ID = re.compile(r"<([a-z]+)\.([A-Za-z0-9-]+)@([^<>@\s]+)>")


def inbound_domains() -> list[str]:
    configured = [d.strip().lower() for d in settings.INBOUND_MAIL_DOMAINS if d.strip()]
    return configured or [reply_domain().lower()]


def split(address: str) -> tuple[str, str]:
    local, _, domain = address.strip().strip("<>").rpartition("@")
    return local, domain.lower()


def is_ours(address: str) -> bool:
    local, domain = split(address)
    return bool(local) and domain in inbound_domains()


def reply_thread(address: str) -> tuple[str, str] | None:
    """``(kind, ref)`` named by a genuine ``reply+<token>@`` address (None otherwise)."""
    local, _domain = split(address)
    if not is_ours(address) or not local.lower().startswith("reply+"):
        return None
    parsed = parse_reply_token(local[len("reply+") :])
    if parsed is None:
        return None
    kind, _, ref = parsed[1].partition("/")
    return kind, ref


def thread_of_message_id(message_id: str) -> tuple[str, str] | None:
    """``(kind, ref)`` of a thread root id of this Hashdesk (None for any other id)."""
    match = _ROOT_ID.fullmatch(message_id.strip())
    if match is None or match.group(3).lower() != public_host().lower():
        return None
    thread = thread_named(f"{match.group(1)}/{match.group(2).upper()}")
    return (thread.kind, thread.ref) if thread is not None else None


def service_local_parts(recipients: list[str]) -> list[str]:
    """The local parts of the recipients that could name a service (``vpn@…``)."""
    parts = []
    for address in recipients:
        local, _ = split(address)
        if is_ours(address) and not local.lower().startswith("reply+"):
            parts.append(local.lower())
    return parts
