"""Writing and verifying the hash-chained audit trail.

``record`` (one entry) and ``record_many`` (a batch) are called by actions inside their
transaction. Appending needs the previous row's hash, so writers are serialised: SQLite already
serialises write transactions; on PostgreSQL an advisory transaction lock does it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Model

from hashdesk.audit.models import AuditEntry
from hashdesk.core.context import current_request_id

GENESIS_HASH = "0" * 64
AUDIT_CHAIN_LOCK = 0x4A5D_A0D1


def _canonical(value: Any) -> Any:
    """JSON-normalise so the hash does not depend on how a database returns the value."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True))


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds")


def compute_hash(entry: AuditEntry, previous_hash: str) -> str:
    content = {
        "sequence": entry.sequence,
        "occurred_at": _timestamp(entry.occurred_at),
        "actor_id": entry.actor_id,
        "actor_label": entry.actor_label,
        "action": entry.action,
        "object_type": entry.object_type,
        "object_id": entry.object_id,
        "object_repr": entry.object_repr,
        "before": _canonical(entry.before),
        "after": _canonical(entry.after),
        "request_id": entry.request_id,
        "previous_hash": previous_hash,
    }
    blob = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def actor_label(actor: Any) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return "system"
    return f"{actor.email} (#{actor.pk})"


@dataclass(frozen=True)
class Change:
    """One entry to append: what :func:`record` takes, for :func:`record_many`."""

    actor: Any
    action: str
    obj: Model | None = None
    object_type: str | None = None
    object_id: str | int | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


def record(
    *,
    actor: Any,
    action: str,
    obj: Model | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. Must run inside the transaction of the change it records."""
    with transaction.atomic():
        return record_many([Change(actor, action, obj, object_type, object_id, before, after)])[0]


def _subject(change: Change) -> tuple[str, str, str]:
    """The type, id and text of what ``change`` is about."""
    obj, object_type, object_id = change.obj, change.object_type, change.object_id
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = obj.pk if object_id is None else object_id
    if not object_type:
        raise ValueError("an audit entry needs an object type")
    object_repr = (str(obj) if obj is not None else "")[:200]
    return object_type, str(object_id if object_id is not None else ""), object_repr


def _entry(
    change: Change,
    subject: tuple[str, str, str],
    sequence: int,
    previous_hash: str,
    request_id: str,
) -> AuditEntry:
    actor = change.actor
    object_type, object_id, object_repr = subject
    entry = AuditEntry(
        sequence=sequence,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label(actor)[:200],
        action=change.action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        before=_canonical(change.before) if change.before is not None else None,
        after=_canonical(change.after) if change.after is not None else None,
        request_id=request_id,
        previous_hash=previous_hash,
    )
    # Round to what every database stores (microseconds), then hash.
    entry.occurred_at = entry.occurred_at.replace(microsecond=entry.occurred_at.microsecond)
    entry.entry_hash = compute_hash(entry, previous_hash)
    return entry


def record_many(changes: Iterable[Change]) -> list[AuditEntry]:
    """Append entries in order, each chained to the one before: one read of the chain's head
    and one INSERT however many there are (Django splits it only where SQLite's limit on
    parameters demands). :func:`record` appends through here too.

    Must run inside the transaction of the changes it records. No savepoint of its own: a
    failed append fails that transaction, which is what the caller wants.
    """
    changes = list(changes)
    if not changes:
        return []
    # Refuse a malformed entry before touching the database: nothing of the batch is written.
    subjects = [_subject(change) for change in changes]
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK])
        last = AuditEntry.objects.order_by("-sequence").only("sequence", "entry_hash").first()
        sequence = last.sequence if last else 0
        previous_hash = last.entry_hash if last else GENESIS_HASH
        request_id = current_request_id()
        entries = []
        for change, subject in zip(changes, subjects, strict=True):
            sequence += 1
            entry = _entry(change, subject, sequence, previous_hash, request_id)
            previous_hash = entry.entry_hash
            entries.append(entry)
        AuditEntry.objects.bulk_create(entries)
    return entries


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    problem: str = ""
    sequence: int | None = None


def verify(batch_size: int = 2000) -> VerifyResult:
    """Walk the chain in order and report the first altered, deleted or re-ordered row."""
    expected_previous = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    last_pk = 0
    while True:
        rows = list(AuditEntry.objects.filter(pk__gt=last_pk).order_by("pk")[:batch_size])
        if not rows:
            break
        for entry in rows:
            last_pk = entry.pk
            if entry.sequence != expected_sequence:
                if entry.sequence > expected_sequence:
                    problem = (
                        f"row {expected_sequence} is missing (deleted): the next row is "
                        f"{entry.sequence}"
                    )
                    return VerifyResult(False, checked, problem, expected_sequence)
                problem = f"row {entry.sequence} is out of order (expected {expected_sequence})"
                return VerifyResult(False, checked, problem, entry.sequence)
            if entry.previous_hash != expected_previous:
                problem = (
                    f"row {entry.sequence} does not follow row {entry.sequence - 1}: the chain "
                    "was re-ordered or a row before it was replaced"
                )
                return VerifyResult(False, checked, problem, entry.sequence)
            if compute_hash(entry, entry.previous_hash) != entry.entry_hash:
                problem = (
                    f"row {entry.sequence} was altered: its content no longer matches its hash"
                )
                return VerifyResult(False, checked, problem, entry.sequence)
            expected_previous = entry.entry_hash
            expected_sequence += 1
            checked += 1
    return VerifyResult(True, checked)
