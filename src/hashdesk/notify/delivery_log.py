"""The delivery log: what the outbox sent to whom, when, and what failed; resending by hand.

Every outbox row (``core.OutboxMessage``) is one delivery: a mail, a webhook call, a chat tool
message. Administrators (``core.view_outboxmessage``, see accounts/roles.py) read the log of
everyone; every other person reads the deliveries addressed to them (``recipient``), through the
rule registered here with hashdesk.core.visibility.

A message's payload is never shown as it is: :func:`safe_details` renders what each channel may
show (a mail's addressee and subject, a webhook's endpoint and destination host, a chat tool's
name), so a credential that ever reached a payload stays out of pages and API answers.

Resending (:func:`do_resend`): a failed message gets a fresh set of attempts
(``outbox.requeue_failed``); a sent one is copied into a new row whose idempotency key is
``<original key>:resend:<n>``, so a receiver can tell a deliberate resend from a retry; a
pending one is refused (the deliverer is still on it). Administrators resend anything; a person
resends their own deliveries, at most :data:`MAX_RESENDS` copies of one message.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.core import visibility
from hashdesk.core.errors import Conflict, Forbidden, NotFound
from hashdesk.core.logging import get_logger
from hashdesk.core.models import DeliveryAttempt, OutboxMessage, OutboxStatus
from hashdesk.core.outbox import Delivery, enqueue_many, requeue_failed

log = get_logger(__name__)

visibility.register(OutboxMessage)(visibility.deliveries_visible)

# The status filter's values: "retrying" is a pending row that failed at least once.
STATUS_CHOICES: tuple[tuple[str, str], ...] = (
    ("pending", "Pending"),
    ("retrying", "Retrying"),
    ("sent", "Sent"),
    ("failed", "Failed"),
)
CHANNEL_CHOICES: tuple[tuple[str, str], ...] = (
    ("email", "Email"),
    ("webhook", "Webhook"),
    ("chat", "Chat tool"),
)
PAGE_SIZE = 50
SEARCH_MAX = 100
# How many deliberate copies of one delivery there may be (a resend is a new mail or call).
MAX_RESENDS = 20
RESEND_MARK = ":resend:"
KEY_MAX = 100


@dataclass(frozen=True)
class Filters:
    """What the log is narrowed to; empty strings mean "any"."""

    status: str = ""
    channel: str = ""
    search: str = ""
    kind: str = ""

    @property
    def is_filtered(self) -> bool:
        return bool(self.status or self.channel or self.search or self.kind)


def clean_filters(
    *, status: str | None, channel: str | None, search: str | None, kind: str | None
) -> Filters:
    """Filters from untrusted input: unknown values are ignored, text is trimmed."""
    status = (status or "").strip()
    return Filters(
        status=status if status in dict(STATUS_CHOICES) else "",
        channel=(channel or "").strip()[:50],
        search=(search or "").strip()[:SEARCH_MAX],
        kind=(kind or "").strip()[:60],
    )


def deliveries_for(user: Any) -> QuerySet[OutboxMessage]:
    """The deliveries ``user`` may see, with their recipients (one query for a page)."""
    return visibility.visible_to(user, OutboxMessage.objects.select_related("recipient"))


def apply_filters(rows: QuerySet[OutboxMessage], filters: Filters) -> QuerySet[OutboxMessage]:
    if filters.status == "pending":
        rows = rows.filter(status=OutboxStatus.PENDING, attempts=0)
    elif filters.status == "retrying":
        rows = rows.filter(status=OutboxStatus.PENDING, attempts__gt=0)
    elif filters.status == "sent":
        rows = rows.filter(status=OutboxStatus.SENT)
    elif filters.status == "failed":
        rows = rows.filter(status=OutboxStatus.FAILED)
    if filters.channel:
        rows = rows.filter(channel=filters.channel)
    if filters.kind:
        rows = rows.filter(kind__startswith=filters.kind)
    if filters.search:
        text = filters.search
        rows = rows.filter(
            Q(target__icontains=text)
            | Q(recipient__email__icontains=text)
            | Q(recipient__display_name__icontains=text)
        )
    return rows


def page_before(
    rows: QuerySet[OutboxMessage], before: int | None, size: int = PAGE_SIZE
) -> tuple[list[OutboxMessage], int | None]:
    """Newest first, ``size`` rows older than id ``before``; and the id to continue from."""
    if before is not None:
        rows = rows.filter(pk__lt=before)
    items = list(rows.order_by("-id")[: size + 1])
    if len(items) > size:
        items = items[:size]
        return items, items[-1].pk
    return items, None


def state_of(message: OutboxMessage) -> str:
    """pending, retrying, sent or failed."""
    if message.status == OutboxStatus.PENDING:
        return "retrying" if message.attempts else "pending"
    return str(message.status)


def recipient_label(message: OutboxMessage) -> str:
    """The person's name, or the address or target for a delivery to no account."""
    if message.recipient is not None:
        return message.recipient.display_name or message.recipient.email
    return message.target or "—"


def safe_details(message: OutboxMessage) -> list[tuple[str, str]]:
    """What may be shown of the payload, channel by channel; never the payload itself."""
    payload = message.payload if isinstance(message.payload, dict) else {}
    details: list[tuple[str, str]] = []
    if message.channel == "email":
        to = payload.get("to") or []
        addresses = [str(a) for a in to] if isinstance(to, list) else [str(to)]
        details.append(("To", ", ".join(addresses)))
        details.append(("Subject", str(payload.get("subject", ""))[:300]))
    elif message.channel == "webhook":
        details.append(("Endpoint", message.target or "—"))
        details.append(("Destination", _webhook_destination(payload)))
    elif message.channel == "chat":
        details.append(("Chat tool", message.target or "—"))
    else:
        details.append(("Target", message.target or "—"))
    return details


def _webhook_destination(payload: dict[str, Any]) -> str:
    """The endpoint's scheme and host (its URL may carry a token in the path)."""
    from hashdesk.core.http import describe_destination
    from hashdesk.notify.models import WebhookEndpoint

    endpoint_id = payload.get("endpoint_id")
    if not isinstance(endpoint_id, int):
        return "—"
    url = WebhookEndpoint.objects.filter(pk=endpoint_id).values_list("url", flat=True).first()
    return describe_destination(url) if url else "(endpoint removed)"


def attempts_of(message: OutboxMessage) -> list[DeliveryAttempt]:
    return list(DeliveryAttempt.objects.filter(message=message).order_by("id"))


def message_for(user: Any, message_id: int) -> OutboxMessage:
    """The delivery numbered ``message_id`` if ``user`` may see it; NotFound otherwise."""
    message = deliveries_for(user).filter(pk=message_id).first()
    if message is None:
        raise NotFound("No such delivery.")
    return message


def may_resend(user: Any, message: OutboxMessage) -> bool:
    """Administrators resend any delivery; a person their own (never a pending one)."""
    if message.status == OutboxStatus.PENDING:
        return False
    if visibility.can_view_delivery_log(user):
        return True
    return visibility.is_signed_in(user) and message.recipient_id == user.pk


def _resend_base(original: str) -> str:
    """The original key, or a digest of it when a resend suffix would not fit beside it."""
    if len(original) + len(RESEND_MARK) + len(str(MAX_RESENDS)) > KEY_MAX:
        return "h-" + hashlib.sha256(original.encode()).hexdigest()[:48]
    return original


def resend_key(original: str, number: int) -> str:
    """``<original>:resend:<n>`` (the original's digest when that would not fit)."""
    return f"{_resend_base(original)}{RESEND_MARK}{number}"


@dataclass(frozen=True)
class Resent:
    """What a resend did: requeued the message itself, or made ``message`` as a copy."""

    message: OutboxMessage
    requeued: bool


@transaction.atomic
def do_resend(actor: User | None, message: OutboxMessage) -> Resent:
    """Send a delivery again, by hand (see the module's text for the rules)."""
    if actor is None or not visibility.is_signed_in(actor):
        raise Forbidden("Sign in to resend deliveries.")
    if not visibility.can_view(actor, message):
        raise NotFound("No such delivery.")
    # Serialises resends of one message (PostgreSQL; SQLite writers are serial anyway).
    current = OutboxMessage.objects.select_for_update().get(pk=message.pk)
    if current.status == OutboxStatus.PENDING:
        when = timezone.localtime(current.next_attempt_at).strftime("%d %b %Y %H:%M")
        raise Conflict(
            f"This delivery is still pending (next attempt {when}); "
            "it can be resent once it is sent or has failed."
        )
    if not may_resend(actor, current):
        raise Forbidden("Only administrators resend other people's deliveries.")
    if current.status == OutboxStatus.FAILED:
        requeue_failed([current.pk])
        trail.record(
            actor=actor,
            action="notify.delivery_requeue",
            obj=current,
            before={"status": OutboxStatus.FAILED, "attempts": current.attempts},
            after={"status": OutboxStatus.PENDING},
        )
        current.refresh_from_db()
        log.info("delivery requeued by hand", outbox_id=current.pk, actor=actor.pk)
        return Resent(message=current, requeued=True)
    prefix = f"{_resend_base(current.idempotency_key)}{RESEND_MARK}"
    copies = OutboxMessage.objects.filter(idempotency_key__startswith=prefix).count()
    if copies >= MAX_RESENDS:
        raise Conflict(f"This delivery has been resent {copies} times already; that is the most.")
    key = resend_key(current.idempotency_key, copies + 1)
    enqueue_many(
        [
            Delivery(
                channel=current.channel,
                payload=current.payload,
                key=key,
                recipient_id=current.recipient_id,
                target=current.target,
                summary=current.summary,
                kind=current.kind,
            )
        ]
    )
    copy = OutboxMessage.objects.get(idempotency_key=key)
    trail.record(
        actor=actor,
        action="notify.delivery_resend",
        obj=copy,
        after={"original_id": current.pk, "key": key, "channel": current.channel},
    )
    log.info("delivery resent by hand", outbox_id=current.pk, copy_id=copy.pk, actor=actor.pk)
    return Resent(message=copy, requeued=False)


def next_attempt(message: OutboxMessage) -> datetime | None:
    return message.next_attempt_at if message.status == OutboxStatus.PENDING else None
