"""Optimistic concurrency for records people edit (changes, problems): every write names the
version it was based on, and every change of the record bumps it (docs/api.md, "Errors")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone


def bump(record: Any, fields: list[str], now: datetime | None = None) -> None:
    """Save ``fields`` of ``record`` as a new version (``version`` + 1, ``updated_at``)."""
    record.version += 1
    record.updated_at = now or timezone.now()
    record.save(update_fields=[*dict.fromkeys(fields), "version", "updated_at"])
