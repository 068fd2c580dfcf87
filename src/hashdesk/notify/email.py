"""Notification mails: what the outbox's ``email`` channel sends for a notification, a digest,
or an announcement to an anonymous status-page subscriber.

Each function returns a :class:`~hashdesk.core.outbox.Delivery` (subject, text and HTML rendered
now, headers chosen now); the dispatcher writes it in the transaction of the notification, and
``core.outbox.deliver_email`` sends it later. Nothing here queries the database: a major incident
mails ten thousand people inside one transaction, so everything needed is passed in, and the
rendered text of one notification is reused for every recipient of the same notice.

Headers (docs/notifications.md, "Email"):

- ``Message-ID`` comes from the idempotency key (a resend is recognisably the same mail).
- Threading: a notification about a record (``/incidents/INC-000042/``) belongs to the thread
  ``incident/INC-000042``; ``In-Reply-To`` and ``References`` name the thread's root id
  ``<incident.INC-000042@host>`` and ``X-Hashdesk-Thread`` names the thread, so mail clients
  group every update of one incident together. The subject starts ``[Hashdesk INC-000042]``.
- ``Reply-To: reply+<token>@<reply domain>``: the token names the recipient and the thread
  (:func:`reply_token`, :func:`parse_reply_token`) so that replies can be matched later.
- ``List-Unsubscribe`` / ``List-Unsubscribe-Post`` (RFC 8058 one-click), ``List-Id``,
  ``Auto-Submitted: auto-generated``, ``X-Auto-Response-Suppress: All``; ``Precedence: bulk``
  on digests only.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from hashdesk.accounts.models import User
from hashdesk.core.outbox import Delivery
from hashdesk.notify.choices import Category, category_of
from hashdesk.notify.models import Notification
from hashdesk.notify.preferences import zone_of
from hashdesk.notify.unsubscribe import preferences_url, unsubscribe_url

# --- Threads ------------------------------------------------------------------------------------

# The records a notification can be about, recognised from its URL path.
_THREAD_PATHS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"/incidents/(INC-[0-9]+)/"), "incident"),
    (re.compile(r"/changes/([A-Z]+-[0-9]+|[0-9]+)/"), "change"),
    (re.compile(r"/problems/([0-9]+)/"), "problem"),
    (re.compile(r"/knowledge/articles/([A-Z]+-[0-9]+)/"), "article"),
    (re.compile(r"/wall/posts/([0-9]+)/"), "post"),
    (re.compile(r"/chat/rooms/([0-9]+)/"), "room"),
    (re.compile(r"/chat/conversations/([0-9]+)/"), "conversation"),
)
THREAD_KINDS = frozenset(kind for _, kind in _THREAD_PATHS)
_REF = re.compile(r"[A-Z]+-[0-9]+|[0-9]+")


@dataclass(frozen=True)
class Thread:
    """A record whose notifications form one conversation in a mailbox."""

    kind: str  # "incident"
    ref: str  # "INC-000042", or a number for records without one ("post", "problem")

    @property
    def name(self) -> str:
        """``incident/INC-000042``: the ``X-Hashdesk-Thread`` header and the reply token's."""
        return f"{self.kind}/{self.ref}"

    @property
    def label(self) -> str:
        """How people name it: ``INC-000042``, ``Post #12``."""
        return self.ref if not self.ref.isdigit() else f"{self.kind.capitalize()} #{self.ref}"

    @property
    def root_id(self) -> str:
        """The Message-ID every mail of the thread replies to (no mail carries it itself)."""
        return f"<{self.kind}.{self.ref}@{public_host()}>"


def thread_of(url: str) -> Thread | None:
    """The thread of a notification's URL (relative, or absolute on this Hashdesk)."""
    parts = urlsplit(url)
    if parts.netloc and parts.hostname != public_host():
        return None
    for pattern, kind in _THREAD_PATHS:
        match = pattern.match(parts.path)
        if match:
            return Thread(kind, match.group(1))
    return None


def thread_named(name: str) -> Thread | None:
    """The thread called ``incident/INC-000042``, or None when that is not a thread's name."""
    kind, _, ref = name.partition("/")
    if kind in THREAD_KINDS and _REF.fullmatch(ref):
        return Thread(kind, ref)
    return None


# --- Addresses ----------------------------------------------------------------------------------


def public_host() -> str:
    return _hostname(settings.PUBLIC_URL)


@lru_cache(maxsize=8)
def _hostname(public_url: str) -> str:
    return urlsplit(public_url).hostname or "hashdesk.invalid"


def reply_domain() -> str:
    return settings.NOTIFY_REPLY_DOMAIN or public_host()


def absolute_url(url: str) -> str:
    """``url`` on this Hashdesk as an absolute http(s) address; "" for anything else."""
    if url.startswith("/") and not url.startswith("//"):
        return f"{settings.PUBLIC_URL}{url}"
    if urlsplit(url).scheme in ("http", "https"):
        return url
    return ""


# --- Reply tokens -------------------------------------------------------------------------------
#
# A reply token lives in the local part of an address, which RFC 5321 limits to 64 characters and
# which some mail systems fold to lower case. A ``django.core.signing`` token (a base64 payload,
# a timestamp and a 43-character base64 signature, case-sensitive) does not fit, so the token is
# the lower-case value itself with a truncated HMAC from Django's ``salted_hmac`` (the primitive
# under ``django.core.signing``, same SECRET_KEY and fallbacks) in base32:
# ``42.incident.inc-000042.<16 base32 characters>`` (80 bits of signature).

_REPLY_SALT = "hashdesk.notify.reply"


def _reply_signature(value: str, secret: Any) -> str:
    digest = salted_hmac(_REPLY_SALT, value, secret=secret, algorithm="sha256").digest()
    return base64.b32encode(digest[:10]).decode().lower()


def reply_token(user_id: int, thread: Thread) -> str:
    value = f"{user_id}.{thread.kind}.{thread.ref.lower()}"
    return f"{value}.{_reply_signature(value, settings.SECRET_KEY)}"


def reply_address(user_id: int, thread: Thread) -> str:
    return f"reply+{reply_token(user_id, thread)}@{reply_domain()}"


def parse_reply_token(token: str) -> tuple[int, str] | None:
    """``(user id, thread name)`` of a reply token, or None when it is forged or malformed.

    Accepts the token in any letter case (mail systems may fold the local part).
    """
    parts = token.strip().lower().split(".")
    if len(parts) != 4:
        return None
    user_id, kind, ref, signature = parts
    value = f"{user_id}.{kind}.{ref}"
    secrets_to_try = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    if not any(
        constant_time_compare(signature, _reply_signature(value, secret))
        for secret in secrets_to_try
    ):
        return None
    thread = thread_named(f"{kind}/{ref.upper()}")
    if not user_id.isdigit() or len(user_id) > 18 or thread is None:
        return None
    return int(user_id), thread.name


# --- Rendering ----------------------------------------------------------------------------------

# Stands for the per-recipient unsubscribe link in a rendering shared by every recipient of one
# notice; random per process, so no text a person writes can contain it.
_UNSUBSCRIBE_MARK = f"hashdesk-unsubscribe-{secrets.token_hex(12)}"


def _one_line(text: str, limit: int = 250) -> str:
    """Header-safe: no line breaks (they would inject headers), collapsed spaces."""
    return " ".join(text.split())[:limit]


@lru_cache(maxsize=256)
def _render_notice(
    kind: str, title: str, body: str, url: str, public_url: str
) -> tuple[str, str, str]:
    """Subject, text and HTML of a notice with the unsubscribe link left as a mark.

    ``public_url`` is part of the cache key only: the links depend on it.
    """
    thread = thread_of(url)
    subject = _one_line(title)
    if thread is not None:
        subject = f"[Hashdesk {thread.label}] {subject}"
    category = category_of(kind)
    context = {
        "subject": subject,
        "title": title,
        "body": body,
        "link": absolute_url(url),
        "link_text": f"Open {thread.label} in Hashdesk" if thread else "Open in Hashdesk",
        "thread": thread,
        "categories": [category.label],
        "preferences_url": preferences_url(),
        "unsubscribe_url": _UNSUBSCRIBE_MARK,
        "public_url": public_url,
    }
    text = render_to_string("notify/email/notice.txt", context).strip() + "\n"
    html = render_to_string("notify/email/notice.html", context)
    return subject, text, html


def _list_headers(list_name: str, list_label: str, unsubscribe: str) -> dict[str, str]:
    return {
        "List-Id": f"{list_label} <{list_name}.{public_host()}>",
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
        "X-Auto-Response-Suppress": "All",
    }


def _thread_headers(thread: Thread | None) -> dict[str, str]:
    if thread is None:
        return {}
    return {
        "In-Reply-To": thread.root_id,
        "References": thread.root_id,
        "X-Hashdesk-Thread": thread.name,
    }


# --- Deliveries ---------------------------------------------------------------------------------


def notice_email(notification: Notification, recipient: User) -> Delivery:
    """The outbox row that mails ``notification`` to ``recipient`` (channel ``email``).

    Uses only the two objects (no query). The address is checked when the mail is sent: an
    invalid one fails at once, visibly, without reaching the mail server.
    """
    subject, text, html = _render_notice(
        notification.kind,
        notification.title,
        notification.body,
        notification.url,
        settings.PUBLIC_URL,
    )
    category = category_of(notification.kind)
    unsubscribe = unsubscribe_url(recipient.pk, [category])
    thread = thread_of(notification.url)
    headers = {
        **_list_headers("notifications", "Hashdesk notifications", unsubscribe),
        **_thread_headers(thread),
        "X-Hashdesk-Kind": _one_line(notification.kind, 60),
        "X-Hashdesk-Category": str(category),
    }
    payload: dict[str, Any] = {
        "to": [recipient.email],
        "subject": subject,
        "text": text.replace(_UNSUBSCRIBE_MARK, unsubscribe),
        "html": html.replace(_UNSUBSCRIBE_MARK, unsubscribe),
        "headers": headers,
    }
    if thread is not None:
        payload["reply_to"] = [reply_address(recipient.pk, thread)]
    return Delivery(
        channel="email",
        payload=payload,
        key=f"email:n{notification.pk}",
        recipient_id=recipient.pk,
        target=recipient.email,
        summary=subject,
        kind=notification.kind,
    )


@dataclass(frozen=True)
class _DigestItem:
    title: str
    body: str
    link: str
    link_text: str
    created_at: datetime


def digest_email(
    recipient: User,
    notifications: Iterable[Notification],
    *,
    period_label: str,
    key: str,
) -> Delivery:
    """One mail listing several notifications (hourly or daily digest, or what arrived during
    quiet hours). ``period_label`` says which ("Daily digest", "While you were away").

    Its unsubscribe link stops email for every category the digest holds.
    """
    listed = list(notifications)
    if not listed:
        raise ValueError("a digest lists at least one notification")
    zone = zone_of(recipient)
    items = []
    for notification in listed:
        thread = thread_of(notification.url)
        items.append(
            _DigestItem(
                title=notification.title,
                body=notification.body,
                link=absolute_url(notification.url),
                link_text=f"Open {thread.label}" if thread else "Open in Hashdesk",
                created_at=notification.created_at,
            )
        )
    categories = sorted({category_of(n.kind) for n in listed}, key=list(Category).index)
    unsubscribe = unsubscribe_url(recipient.pk, categories)
    count = len(listed)
    subject = _one_line(
        f"[Hashdesk] {period_label}: {count} notification{'s' if count != 1 else ''}"
    )
    context = {
        "subject": subject,
        "period_label": period_label,
        "items": items,
        "count": count,
        "categories": [category.label for category in categories],
        "preferences_url": preferences_url(),
        "unsubscribe_url": unsubscribe,
        "public_url": settings.PUBLIC_URL,
    }
    with timezone.override(zone):  # times as the person reads them
        text = render_to_string("notify/email/digest.txt", context).strip() + "\n"
        html = render_to_string("notify/email/digest.html", context)
    headers = {
        **_list_headers("digest", "Hashdesk notification digests", unsubscribe),
        "Precedence": "bulk",
        "X-Hashdesk-Kind": "digest",
    }
    return Delivery(
        channel="email",
        payload={
            "to": [recipient.email],
            "subject": subject,
            "text": text,
            "html": html,
            "headers": headers,
        },
        key=key,
        recipient_id=recipient.pk,
        target=recipient.email,
        summary=subject,
        kind="digest",
    )


def status_email(
    to_address: str,
    subject: str,
    text: str,
    html: str,
    *,
    key: str,
    unsubscribe_url: str,
    thread: str | None = None,
    kind: str = "status",
) -> Delivery:
    """A mail to an anonymous status-page subscriber (no account: ``recipient_id`` is None).

    The caller renders ``text`` and ``html`` (with its own unsubscribe link in them) and owns
    ``unsubscribe_url``, which also goes in the RFC 8058 headers. ``thread`` ("incident/INC-...")
    threads the updates of one incident together, like notification mails.
    """
    named = thread_named(thread) if thread else None
    if thread and named is None:
        raise ValueError(f"{thread!r} is not a thread name")
    unsubscribe = absolute_url(unsubscribe_url)
    if not unsubscribe:
        raise ValueError(f"{unsubscribe_url!r} is not an unsubscribe address")
    headers = {
        **_list_headers("status", "Hashdesk status updates", unsubscribe),
        **_thread_headers(named),
        "X-Hashdesk-Kind": _one_line(kind, 60),
    }
    line = _one_line(subject)
    return Delivery(
        channel="email",
        payload={
            "to": [to_address.strip()],
            "subject": line,
            "text": text,
            "html": html,
            "headers": headers,
        },
        key=key,
        recipient_id=None,
        target=to_address.strip(),
        summary=line,
        kind=kind,
    )
