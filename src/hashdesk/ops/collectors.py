"""Metrics read from the database at scrape time (the same in every process, so not counted
per process): the outbox backlog, which is what an operator alerts on."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hashdesk.core.models import OutboxMessage, OutboxStatus


class OutboxCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        by_status = GaugeMetricFamily(
            "hashdesk_outbox_messages", "Outbox messages by status", labels=["status"]
        )
        counts = dict(
            OutboxMessage.objects.values_list("status").annotate(n=Count("id")).order_by()
        )
        for status in OutboxStatus.values:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status

        oldest = OutboxMessage.objects.filter(status=OutboxStatus.PENDING).aggregate(
            oldest=Min("created_at")
        )["oldest"]
        age = GaugeMetricFamily(
            "hashdesk_outbox_oldest_pending_seconds",
            "Age of the oldest undelivered outbox message (0 when none)",
        )
        age.add_metric([], (timezone.now() - oldest).total_seconds() if oldest else 0.0)
        yield age
