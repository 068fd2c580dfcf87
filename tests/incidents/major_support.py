"""Helpers shared by the tests of links, merges and major incidents."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hashdesk.audit.models import AuditEntry
from hashdesk.core.models import Event
from hashdesk.incidents.models import TimelineEntry


def _counts() -> tuple[int, int, int]:
    return TimelineEntry.objects.count(), AuditEntry.objects.count(), Event.objects.count()


@contextmanager
def nothing_written() -> Iterator[None]:
    """Fails if the block wrote a timeline entry, an audit row or an event: a refused action
    changes nothing."""
    before = _counts()
    yield
    assert _counts() == before
