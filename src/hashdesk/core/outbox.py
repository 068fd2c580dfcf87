"""The delivery outbox: deliveries that must not be lost, written with the change that causes them.

An action calls :func:`enqueue` inside its transaction. The row commits (or rolls back) with the
change; after commit the ``deliver_outbox`` task is woken, and the periodic ``sweep_outbox``
catches anything whose wake-up was lost. :func:`deliver_due` claims due rows so that several
workers never deliver the same row at once, calls the handler registered for the row's channel
with the idempotency key, records a :class:`DeliveryAttempt`, and marks the row sent — or
schedules a retry with exponential back-off and jitter, giving up (``failed``) after
``settings.OUTBOX_MAX_ATTEMPTS``.

No transaction is held while a handler talks to the outside world: on SQLite that would block
every writer for the length of an SMTP conversation.
"""

from __future__ import annotations

import hashlib
import random
import smtplib
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from hashdesk.core import metrics
from hashdesk.core.logging import get_logger
from hashdesk.core.models import DeliveryAttempt, OutboxMessage, OutboxStatus

log = get_logger(__name__)

Handler = Callable[[dict[str, Any], str], None]
"""``handler(payload, idempotency_key)``: deliver or raise; the key identifies a resend."""

_handlers: dict[str, Handler] = {}


def claim_lease() -> timedelta:
    """A claimed row is not due again for this long: if its worker dies mid-delivery, another
    worker picks the row up after the lease instead of it staying stuck."""
    return timedelta(seconds=settings.OUTBOX_CLAIM_LEASE_SECONDS)


# Keep stored errors readable in the admin and the delivery log.
MAX_ERROR_LENGTH = 2000


def delivery_handler(channel: str) -> Callable[[Handler], Handler]:
    """Register the function that delivers messages of ``channel`` (one per channel)."""

    def decorator(handler: Handler) -> Handler:
        if channel in _handlers and _handlers[channel] is not handler:
            raise ValueError(f"outbox channel {channel!r} already has a handler")
        _handlers[channel] = handler
        return handler

    return decorator


def registered_channels() -> frozenset[str]:
    return frozenset(_handlers)


class PermanentDeliveryError(Exception):
    """Raised by a handler when retrying cannot help (a refused address, a disabled webhook):
    the message is marked failed at once, visible in the delivery log, and can be resent."""


# --- Batches ------------------------------------------------------------------------------------
# A handler may keep something open for the rows of one deliver_due batch (the email handler
# keeps one SMTP connection for all the mails of a batch); the hooks registered here release it
# when the batch ends, whatever happened in it.

_batch_end_hooks: list[Callable[[], None]] = []
_in_batch: ContextVar[bool] = ContextVar("hashdesk_outbox_in_batch", default=False)


def on_batch_end(hook: Callable[[], None]) -> Callable[[], None]:
    """Run ``hook`` after every :func:`deliver_due` batch, in the delivering thread."""
    if hook not in _batch_end_hooks:
        _batch_end_hooks.append(hook)
    return hook


def in_batch() -> bool:
    """Whether the current thread is inside a :func:`deliver_due` batch."""
    return _in_batch.get()


def _end_batch() -> None:
    for hook in _batch_end_hooks:
        try:
            hook()
        except Exception:  # a hook that fails must not hide the batch's outcome
            log.exception("outbox batch-end hook failed", hook=getattr(hook, "__name__", "?"))


@dataclass(frozen=True)
class Delivery:
    """One outbox row to write: what :func:`enqueue_many` takes.

    ``recipient_id``, ``target``, ``summary`` and ``kind`` are for the delivery log only;
    ``target`` must never contain a secret (show a webhook's host, not its URL with a token).
    """

    channel: str
    payload: dict[str, Any]
    key: str
    recipient_id: int | None = None
    target: str = ""
    summary: str = ""
    kind: str = ""


def enqueue_many(deliveries: Iterable[Delivery]) -> int:
    """Write many deliveries in the caller's transaction at a constant number of queries.

    Keys already in the outbox are skipped by the database (the same notification fanned out
    twice is delivered once). Returns how many rows were offered, after removing repeats.
    """
    rows = []
    seen: set[str] = set()
    for delivery in deliveries:
        if delivery.channel not in _handlers:
            raise ValueError(f"no outbox handler for channel {delivery.channel!r}")
        if not delivery.key or len(delivery.key) > 100:
            raise ValueError("an outbox idempotency key has 1 to 100 characters")
        if delivery.key in seen:
            continue
        seen.add(delivery.key)
        rows.append(
            OutboxMessage(
                channel=delivery.channel,
                payload=delivery.payload,
                idempotency_key=delivery.key,
                recipient_id=delivery.recipient_id,
                target=delivery.target[:300],
                summary=delivery.summary[:200],
                kind=delivery.kind[:60],
            )
        )
    if not rows:
        return 0
    with transaction.atomic():
        OutboxMessage.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    _wake_deliverer_on_commit()
    return len(rows)


def enqueue(channel: str, payload: dict[str, Any], key: str) -> OutboxMessage:
    """Write a delivery in the caller's transaction; the deliverer is woken after commit.

    ``key`` is the idempotency key: enqueueing the same key again (a retried request, a
    replayed event) returns the existing row instead of delivering twice.
    """
    if channel not in _handlers:
        raise ValueError(f"no outbox handler for channel {channel!r}")
    if not key or len(key) > 100:
        raise ValueError("an outbox idempotency key has 1 to 100 characters")
    with transaction.atomic():
        message, created = OutboxMessage.objects.get_or_create(
            idempotency_key=key, defaults={"channel": channel, "payload": payload}
        )
    if not created and message.channel != channel:
        raise ValueError(f"idempotency key {key!r} is already used on channel {message.channel!r}")
    if created:
        _wake_deliverer_on_commit()
    return message


def _wake_deliverer() -> None:
    from hashdesk.core.tasks import deliver_outbox

    deliver_outbox()


def _wake_deliverer_on_commit() -> None:
    # One wake-up per transaction is enough: the deliverer takes every due row.
    pending = getattr(connection, "run_on_commit", [])
    if any(entry[1] is _wake_deliverer for entry in pending):
        return
    # robust: if the queue is unreachable the commit still stands; sweep_outbox delivers later.
    transaction.on_commit(_wake_deliverer, robust=True)


def retry_delay(attempt: int, *, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    Exponential back-off capped at ``OUTBOX_RETRY_MAX_SECONDS``, with "equal jitter" (half
    fixed, half random) so that many rows failing together do not retry in lock-step.
    """
    base = settings.OUTBOX_RETRY_BASE_SECONDS
    ceiling = settings.OUTBOX_RETRY_MAX_SECONDS
    delay = min(ceiling, base * 2 ** (attempt - 1))
    return delay / 2 + (rng or random).uniform(0, delay / 2)


def _due(now: datetime) -> Any:
    return OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)


def _claim(now: datetime, limit: int) -> list[int]:
    """Take up to ``limit`` due rows for this worker by moving them out of reach for a lease."""
    lease_until = now + claim_lease()
    if connection.vendor == "postgresql":
        # Rows another worker is claiming right now are skipped, not waited for.
        with transaction.atomic():
            ids = list(
                _due(now)
                .select_for_update(skip_locked=True)
                .order_by("next_attempt_at", "id")
                .values_list("id", flat=True)[:limit]
            )
            if ids:
                OutboxMessage.objects.filter(id__in=ids).update(next_attempt_at=lease_until)
        return ids
    # SQLite has no row locks: each claim is one conditional UPDATE, and only the worker whose
    # UPDATE still finds the row due (rowcount 1) owns it.
    candidates = list(
        _due(now).order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit]
    )
    claimed = []
    for pk in candidates:
        if _due(now).filter(pk=pk).update(next_attempt_at=lease_until) == 1:
            claimed.append(pk)
    return claimed


@dataclass
class DeliveryReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return len(self.sent) + len(self.retrying) + len(self.failed)


def _attempt(message: OutboxMessage) -> tuple[str, bool]:
    """Call the channel's handler; return ("", False) on success, else the error text and
    whether it is permanent (no retry can help)."""
    handler = _handlers.get(message.channel)
    if handler is None:
        return f"no handler for channel {message.channel!r} in this process", False
    try:
        handler(message.payload, message.idempotency_key)
    except PermanentDeliveryError as exc:
        return (f"{exc}"[:MAX_ERROR_LENGTH] or type(exc).__name__), True
    except Exception as exc:  # any failure of the far side is a failed attempt, retried
        return (f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH] or type(exc).__name__), False
    return "", False


def _record(
    message: OutboxMessage,
    *,
    error: str,
    duration_ms: int,
    now: datetime,
    permanent: bool = False,
) -> str:
    """Store the attempt and the row's new state; return the outcome name."""
    attempt_number = message.attempts + 1
    if not error:
        outcome = "sent"
        changes: dict[str, Any] = {"status": OutboxStatus.SENT, "sent_at": now, "last_error": ""}
    elif permanent or attempt_number >= settings.OUTBOX_MAX_ATTEMPTS:
        outcome = "failed"
        changes = {"status": OutboxStatus.FAILED, "last_error": error}
    else:
        outcome = "retrying"
        changes = {
            "next_attempt_at": now + timedelta(seconds=retry_delay(attempt_number)),
            "last_error": error,
        }
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            message=message,
            attempted_at=now,
            succeeded=not error,
            error=error,
            duration_ms=duration_ms,
        )
        OutboxMessage.objects.filter(pk=message.pk).update(attempts=F("attempts") + 1, **changes)
    metrics.OUTBOX_DELIVERIES.labels(channel=message.channel, outcome=outcome).inc()
    log_method = log.info if outcome == "sent" else log.warning
    log_method(
        "outbox delivery",
        outbox_id=message.pk,
        channel=message.channel,
        attempt=attempt_number,
        outcome=outcome,
        duration_ms=duration_ms,
        error=error or None,
    )
    return outcome


def deliver_due(*, limit: int = 50, now: datetime | None = None) -> DeliveryReport:
    """Deliver up to ``limit`` due messages. Safe to run in several workers at once.

    Call it outside any transaction (the worker tasks do): it talks to other systems, and the
    claim must commit before delivery starts. ``now`` is for tests that step through the
    back-off schedule; workers leave it out.
    """
    moment = now or timezone.now()
    report = DeliveryReport()
    claimed = _claim(moment, limit)
    batch = _in_batch.set(True)
    try:
        for message in OutboxMessage.objects.filter(id__in=claimed).order_by("id"):
            started = time.perf_counter()
            error, permanent = _attempt(message)
            duration_ms = int((time.perf_counter() - started) * 1000)
            outcome = _record(
                message,
                error=error,
                duration_ms=duration_ms,
                now=now or timezone.now(),
                permanent=permanent,
            )
            getattr(report, outcome).append(message.pk)
    finally:
        _in_batch.reset(batch)
        _end_batch()
    return report


def deliver_all_due(*, batch: int = 50) -> DeliveryReport:
    """Deliver batches until nothing is due (what the worker tasks run)."""
    total = DeliveryReport()
    while True:
        report = deliver_due(limit=batch)
        total.sent += report.sent
        total.retrying += report.retrying
        total.failed += report.failed
        if report.attempted < batch:
            return total


def requeue_failed(ids: list[int] | None = None) -> int:
    """Give failed messages a fresh set of attempts (after the far side is fixed)."""
    failed = OutboxMessage.objects.filter(status=OutboxStatus.FAILED)
    if ids is not None:
        failed = failed.filter(id__in=ids)
    with transaction.atomic():
        count = failed.update(
            status=OutboxStatus.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        if count:
            _wake_deliverer_on_commit()
    return count


# --- Channels -----------------------------------------------------------------------------------


def message_id_for(idempotency_key: str) -> str:
    """A Message-ID derived from the idempotency key, so a resent mail is recognisably the same."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    domain = urlsplit(settings.PUBLIC_URL).hostname or "hashdesk.invalid"
    return f"<{digest}@{domain}>"


class MailDeferred(Exception):
    """The mail server answered "not now" (4xx): the outbox tries again later."""


# The SMTP connection of the current batch (one per delivering thread), opened by the first mail
# and closed when the batch ends: ten thousand mails are one SMTP session, not ten thousand.
_batch_mail: ContextVar[BaseEmailBackend | None] = ContextVar(
    "hashdesk_outbox_mail_connection", default=None
)


@on_batch_end
def close_batch_mail_connection() -> None:
    backend = _batch_mail.get()
    _batch_mail.set(None)
    if backend is not None:
        try:
            backend.close()
        except Exception:  # already broken: nothing left to close
            log.debug("closing the batch's mail connection failed", exc_info=True)


def _smtp_words(message: bytes | str) -> str:
    text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
    return " ".join(text.split())


def _smtp_refusal(exc: smtplib.SMTPException) -> Exception | None:
    """What an SMTP answer means for the outbox: permanent (5xx on RCPT or DATA, in the
    server's words), deferred (4xx), or None for anything else (retried as it is)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused) and exc.recipients:
        words = "; ".join(
            f"{address}: {code} {_smtp_words(text)}"
            for address, (code, text) in exc.recipients.items()
        )
        if all(code >= 500 for code, _ in exc.recipients.values()):
            return PermanentDeliveryError(f"The mail server refused the recipient ({words}).")
        return MailDeferred(f"The mail server deferred the recipient ({words}).")
    if isinstance(exc, smtplib.SMTPDataError):
        words = f"{exc.smtp_code} {_smtp_words(exc.smtp_error)}"
        if exc.smtp_code >= 500:
            return PermanentDeliveryError(f"The mail server refused the message ({words}).")
        return MailDeferred(f"The mail server deferred the message ({words}).")
    return None


def _send_mail(backend: BaseEmailBackend, mail: EmailMultiAlternatives) -> None:
    try:
        backend.send_messages([mail])
    except BadHeaderError as exc:
        raise PermanentDeliveryError(f"The mail has a malformed header: {exc}") from exc
    except smtplib.SMTPException as exc:
        meaning = _smtp_refusal(exc)
        if meaning is not None:
            raise meaning from exc
        raise


def _send_in_batch(mail: EmailMultiAlternatives) -> None:
    """Send on the batch's connection; a connection the server dropped after earlier mails is
    replaced once (servers close idle or long sessions), any other failure is the mail's."""
    for fresh_only in (False, True):
        backend = _batch_mail.get()
        reused = backend is not None
        if backend is None:
            backend = get_connection(fail_silently=False)
            backend.open()  # opened here, so send_messages leaves it open for the next mail
            _batch_mail.set(backend)
        try:
            _send_mail(backend, mail)
            return
        except (PermanentDeliveryError, MailDeferred):
            raise  # the server answered (and reset the transaction): the connection is fine
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            close_batch_mail_connection()
            if not reused or fresh_only:
                raise
        except BaseException:
            close_batch_mail_connection()
            raise


def _mail_from(payload: dict[str, Any], idempotency_key: str) -> EmailMultiAlternatives:
    recipients = [str(address).strip() for address in payload.get("to") or []]
    if not recipients:
        raise PermanentDeliveryError("The mail has no recipient.")
    for address in recipients:
        try:
            validate_email(address)
        except ValidationError as exc:
            raise PermanentDeliveryError(
                f"{address!r} is not a valid email address; nothing was sent."
            ) from exc
    headers = {str(k): str(v) for k, v in (payload.get("headers") or {}).items()}
    headers["Message-ID"] = message_id_for(idempotency_key)
    mail = EmailMultiAlternatives(
        subject=str(payload["subject"]),
        body=str(payload.get("text", "")),
        from_email=payload.get("from") or settings.DEFAULT_FROM_EMAIL,
        to=recipients,
        reply_to=list(payload.get("reply_to") or []),
        headers=headers,
    )
    if payload.get("html"):
        mail.attach_alternative(str(payload["html"]), "text/html")
    return mail


@delivery_handler("email")
def deliver_email(payload: dict[str, Any], idempotency_key: str) -> None:
    """Send one mail through Django's configured backend (SMTP in production).

    Payload: ``to`` (list), ``subject``, ``text``, optional ``html``, ``reply_to`` (list),
    ``headers`` (dict), ``from``. An invalid address fails at once without reaching the server;
    so does a 5xx refusal of the recipient or the message (PermanentDeliveryError, with the
    server's words). 4xx answers and connection failures are retried by the outbox. Inside a
    :func:`deliver_due` batch every mail goes over one SMTP connection.
    """
    mail = _mail_from(payload, idempotency_key)
    if in_batch():
        _send_in_batch(mail)
    else:
        _send_mail(get_connection(fail_silently=False), mail)
