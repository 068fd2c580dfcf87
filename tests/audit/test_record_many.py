"""Appending many audit entries at once: the same chain as one at a time, at a fixed cost."""

from __future__ import annotations

import itertools

import pytest
from django.db import connection, transaction

from hashdesk.audit import trail
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog import actions as catalog_actions
from hashdesk.core.context import current_request_id

pytestmark = pytest.mark.django_db


def changes(count: int, actor=None, start: int = 0) -> list[trail.Change]:
    return [
        trail.Change(
            actor=actor,
            action="import.row",
            object_type="import.row",
            object_id=start + n,
            after={"row": start + n, "text": "Ünïcode, ok"},
        )
        for n in range(count)
    ]


def test_entries_are_chained_in_order_after_the_existing_ones(administrator):
    catalog_actions.do_create_service(administrator, name="Mail", hashtag="mail")
    head = AuditEntry.objects.order_by("-sequence").first()

    written = trail.record_many(changes(5, administrator))

    stored = list(AuditEntry.objects.filter(sequence__gt=head.sequence).order_by("sequence"))
    assert [e.pk for e in stored] == [e.pk for e in written]
    assert [e.sequence for e in stored] == list(range(head.sequence + 1, head.sequence + 6))
    assert stored[0].previous_hash == head.entry_hash
    for before, after in itertools.pairwise(stored):
        assert after.previous_hash == before.entry_hash
    assert [e.object_id for e in stored] == ["0", "1", "2", "3", "4"]
    assert stored[0].actor == administrator
    assert stored[0].actor_label == f"{administrator.email} (#{administrator.pk})"
    assert stored[0].request_id == current_request_id()
    assert trail.verify() == trail.VerifyResult(True, AuditEntry.objects.count())


def test_single_and_batched_entries_interleave_into_one_valid_chain(administrator):
    trail.record_many(changes(3))
    catalog_actions.do_create_service(administrator, name="Mail", hashtag="mail")
    trail.record_many(changes(2, start=3))
    trail.record(actor=None, action="import.done", object_type="import", object_id="")
    assert trail.verify() == trail.VerifyResult(True, AuditEntry.objects.count())


def test_a_batch_into_an_empty_trail_starts_from_the_genesis_hash():
    first, second = trail.record_many(changes(2))
    assert (first.sequence, first.previous_hash) == (1, trail.GENESIS_HASH)
    assert (second.sequence, second.previous_hash) == (2, first.entry_hash)
    assert trail.verify() == trail.VerifyResult(True, 2)


def test_an_altered_batched_row_is_caught_by_verify():
    trail.record_many(changes(4))
    AuditEntry.objects.filter(sequence=3).update(after={"row": 99})
    result = trail.verify()
    assert not result.ok and result.sequence == 3 and "altered" in result.problem


def test_the_cost_is_one_read_and_one_insert_whatever_the_count(query_count):
    trail.record_many(changes(1))

    def cost(count: int) -> list[str]:
        with query_count() as ctx:
            trail.record_many(changes(count))
        return [q["sql"].split()[0] for q in ctx.captured_queries]

    # PostgreSQL first takes the advisory lock that serialises writers of the chain.
    lock = ["SELECT"] if connection.vendor == "postgresql" else []
    assert cost(1) == cost(60) == [*lock, "SELECT", "INSERT"]


def test_nothing_to_append_costs_nothing(query_count):
    with query_count() as ctx:
        assert trail.record_many([]) == []
    assert len(ctx) == 0


def test_a_bad_entry_appends_none_of_the_batch():
    with pytest.raises(ValueError, match="object type"):
        trail.record_many([*changes(2), trail.Change(actor=None, action="x")])
    assert not AuditEntry.objects.exists()


def test_batched_rows_roll_back_with_the_change():
    with pytest.raises(RuntimeError), transaction.atomic():
        trail.record_many(changes(3))
        raise RuntimeError("crash after the write")
    assert not AuditEntry.objects.exists()
    trail.record_many(changes(1))
    assert AuditEntry.objects.get().sequence == 1
