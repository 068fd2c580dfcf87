"""The worker's tasks: what runs when, and that each one does its job."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.test import override_settings
from django.utils import timezone

from hashdesk.core import outbox, tasks
from hashdesk.core.models import Event, OutboxStatus
from tests.servers import SmtpServer


def test_the_sweep_runs_every_minute_and_pruning_hourly() -> None:
    sweep, prune = tasks.sweep_outbox.s(), tasks.prune_events.s()
    for minute in (0, 17, 42):
        moment = datetime(2025, 1, 6, 9, minute)
        assert sweep.validate_datetime(moment)
        assert prune.validate_datetime(moment) == (minute == 17)


def test_the_sweep_delivers_what_is_due(db: Any, smtp_server: SmtpServer) -> None:
    message = outbox.enqueue("email", {"to": ["a@example.test"], "subject": "s", "text": "t"}, "s1")
    with override_settings(**smtp_server.settings()):
        assert tasks.sweep_outbox.call_local() == 1
        assert tasks.sweep_outbox.call_local() == 0
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert len(smtp_server.mailbox.envelopes) == 1


@override_settings(EVENT_RETENTION_HOURS=72)
def test_pruning_drops_events_older_than_the_retention_period(db: Any) -> None:
    old = Event.objects.create(
        type="service",
        op="update",
        streams=["staff"],
        created_at=timezone.now() - timedelta(days=4),
    )
    recent = Event.objects.create(type="service", op="update", streams=["staff"])
    assert tasks.prune_events.call_local() == 1
    assert not Event.objects.filter(pk=old.pk).exists()
    assert Event.objects.filter(pk=recent.pk).exists()
