"""The delivery outbox with a real SMTP server: delivered once, retried, given up, rolled back."""

from __future__ import annotations

import random
from datetime import timedelta
from email import message_from_bytes
from typing import Any

import pytest
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from hashdesk.core import outbox
from hashdesk.core.models import DeliveryAttempt, OutboxMessage, OutboxStatus
from tests.servers import SmtpServer

WELCOME = {
    "to": ["requester@example.test"],
    "subject": "Your incident was resolved",
    "text": "The VPN works again.",
    "html": "<p>The VPN works again.</p>",
}


def _received(server: SmtpServer) -> list[Any]:
    return [message_from_bytes(e.original_content or b"") for e in server.mailbox.envelopes]


def test_mail_enqueued_in_a_transaction_is_delivered_once_after_commit(
    db: Any, smtp_server: SmtpServer, eager_tasks: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with override_settings(**smtp_server.settings()):
        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            transaction.atomic(),
        ):
            message = outbox.enqueue("email", WELCOME, key="incident-resolved:7:requester")
            # Nothing leaves before the transaction commits.
            assert smtp_server.mailbox.envelopes == []
        assert len(callbacks) == 1
        # A later sweep finds nothing more to do: the mail went out exactly once.
        assert outbox.deliver_due().attempted == 0

    (mail,) = _received(smtp_server)
    assert mail["Subject"] == "Your incident was resolved"
    assert mail["To"] == "requester@example.test"
    assert mail["Message-ID"] == outbox.message_id_for("incident-resolved:7:requester")
    assert mail.is_multipart()  # text and HTML alternatives
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert message.attempts == 1
    assert message.sent_at is not None
    (attempt,) = DeliveryAttempt.objects.filter(message=message)
    assert attempt.succeeded and attempt.error == ""


def test_message_id_is_derived_from_the_idempotency_key() -> None:
    first = outbox.message_id_for("digest:2024-05-01:42")
    assert first == outbox.message_id_for("digest:2024-05-01:42")
    assert first != outbox.message_id_for("digest:2024-05-02:42")
    assert first.startswith("<") and first.endswith("@127.0.0.1>")


def test_enqueueing_the_same_key_again_keeps_one_delivery(
    db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        first = outbox.enqueue("email", WELCOME, key="welcome:requester")
        again = outbox.enqueue("email", {**WELCOME, "subject": "changed"}, key="welcome:requester")
    assert again.pk == first.pk
    assert again.payload["subject"] == WELCOME["subject"]
    assert OutboxMessage.objects.count() == 1
    assert len(callbacks) == 1


def test_one_wake_up_per_transaction_however_many_rows(
    db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        for number in range(3):
            outbox.enqueue("email", WELCOME, key=f"bulk:{number}")
    assert OutboxMessage.objects.count() == 3
    assert len(callbacks) == 1


def test_outbox_row_rolls_back_with_its_transaction(
    db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        outbox.enqueue("email", WELCOME, key="never-sent")
        raise RuntimeError("the change failed")
    assert not OutboxMessage.objects.exists()
    assert callbacks == []


def test_unknown_channel_and_bad_keys_are_refused(db: Any) -> None:
    with pytest.raises(ValueError, match="no outbox handler"):
        outbox.enqueue("carrier-pigeon", {}, key="k")
    with pytest.raises(ValueError, match="1 to 100 characters"):
        outbox.enqueue("email", WELCOME, key="")
    with pytest.raises(ValueError, match="1 to 100 characters"):
        outbox.enqueue("email", WELCOME, key="k" * 101)
    assert not OutboxMessage.objects.exists()


@override_settings(OUTBOX_MAX_ATTEMPTS=3, OUTBOX_RETRY_BASE_SECONDS=30)
def test_refused_smtp_is_retried_with_back_off_then_marked_failed(
    db: Any, closed_smtp_port: int
) -> None:
    message = outbox.enqueue("email", WELCOME, key="refused")
    start = timezone.now()
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=closed_smtp_port,
        EMAIL_TIMEOUT=2,
    ):
        first = outbox.deliver_due(now=start)
        assert first.retrying == [message.pk]
        message.refresh_from_db()
        assert message.status == OutboxStatus.PENDING
        assert message.attempts == 1
        assert "Connection refused" in message.last_error
        # First back-off: between half and all of the 30 s base.
        wait = (message.next_attempt_at - start).total_seconds()
        assert 15 <= wait <= 30

        # Not due yet: nothing is attempted.
        assert outbox.deliver_due(now=start + timedelta(seconds=14)).attempted == 0

        second_at = message.next_attempt_at
        assert outbox.deliver_due(now=second_at).retrying == [message.pk]
        message.refresh_from_db()
        assert 30 <= (message.next_attempt_at - second_at).total_seconds() <= 60

        assert outbox.deliver_due(now=message.next_attempt_at).failed == [message.pk]
        message.refresh_from_db()
        assert message.status == OutboxStatus.FAILED
        assert message.attempts == 3
        # Given up: no further attempts, however long we wait.
        assert outbox.deliver_due(now=start + timedelta(days=30)).attempted == 0

    attempts = list(DeliveryAttempt.objects.filter(message=message))
    assert len(attempts) == 3
    assert not any(a.succeeded for a in attempts)
    assert all("Connection refused" in a.error for a in attempts)


def test_failed_deliveries_can_be_queued_again(
    db: Any, smtp_server: SmtpServer, closed_smtp_port: int
) -> None:
    message = outbox.enqueue("email", WELCOME, key="second-chance")
    with override_settings(
        OUTBOX_MAX_ATTEMPTS=1,
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=closed_smtp_port,
    ):
        assert outbox.deliver_due().failed == [message.pk]
    assert outbox.requeue_failed() == 1
    with override_settings(**smtp_server.settings()):
        assert outbox.deliver_due().sent == [message.pk]
    assert len(smtp_server.mailbox.envelopes) == 1
    assert DeliveryAttempt.objects.filter(message=message).count() == 2


def test_a_claimed_row_is_not_claimed_again_until_its_lease_runs_out(db: Any) -> None:
    message = outbox.enqueue("email", WELCOME, key="claimed")
    now = timezone.now()
    assert outbox._claim(now, 10) == [message.pk]
    # A second worker looking at the same moment finds nothing to take.
    assert outbox._claim(now, 10) == []
    # If the first worker died mid-delivery, the row comes back after the lease.
    assert outbox._claim(now + outbox.claim_lease() + timedelta(seconds=1), 10) == [message.pk]


def test_handler_errors_are_recorded_as_failed_attempts(db: Any) -> None:
    calls: list[tuple[dict[str, Any], str]] = []

    @outbox.delivery_handler("test-webhook")
    def flaky(payload: dict[str, Any], idempotency_key: str) -> None:
        calls.append((payload, idempotency_key))
        raise ConnectionError("remote end closed the connection")

    try:
        message = outbox.enqueue("test-webhook", {"url": "https://example.test"}, key="hook:1")
        report = outbox.deliver_due()
    finally:
        outbox._handlers.pop("test-webhook")
    assert report.retrying == [message.pk]
    assert calls == [({"url": "https://example.test"}, "hook:1")]
    attempt = DeliveryAttempt.objects.get(message=message)
    assert attempt.error == "ConnectionError: remote end closed the connection"


@override_settings(OUTBOX_RETRY_BASE_SECONDS=30, OUTBOX_RETRY_MAX_SECONDS=3600)
def test_retry_delay_doubles_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(1)
    for attempt, ceiling in [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (20, 3600)]:
        delays = [outbox.retry_delay(attempt, rng=rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        # Jitter: rows failing together do not all retry at the same moment.
        assert len({round(d, 3) for d in delays}) > 40
