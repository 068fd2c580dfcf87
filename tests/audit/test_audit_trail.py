"""The hash-chained audit trail: written by actions, and `hashdesk audit verify` finds tampering."""

from __future__ import annotations

import itertools

import pytest
from django.db import transaction

from hashdesk.audit import trail
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog import actions


@pytest.fixture
def chain(administrator):
    for i in range(5):
        actions.do_create_service(administrator, name=f"Service {i}", hashtag=f"svc{i}")
    return list(AuditEntry.objects.order_by("sequence"))


@pytest.mark.django_db
def test_entries_link_each_to_the_previous(chain):
    assert [e.sequence for e in chain] == list(range(1, len(chain) + 1))
    assert chain[0].previous_hash == trail.GENESIS_HASH
    for before, after in itertools.pairwise(chain):
        assert after.previous_hash == before.entry_hash
    assert trail.verify() == trail.VerifyResult(True, len(chain))


@pytest.mark.django_db
def test_an_altered_row_is_reported(chain):
    AuditEntry.objects.filter(sequence=4).update(after={"name": "forged"})
    result = trail.verify()
    assert not result.ok and result.sequence == 4 and "altered" in result.problem


@pytest.mark.django_db
def test_a_deleted_row_is_reported(chain):
    AuditEntry.objects.filter(sequence=3).delete()
    result = trail.verify()
    assert not result.ok and result.sequence == 3 and "missing" in result.problem


@pytest.mark.django_db
def test_a_deleted_last_row_is_invisible_but_a_rehashed_forgery_is_caught(chain):
    # Rewriting a row and recomputing its own hash still breaks the link to the next row.
    entry = AuditEntry.objects.get(sequence=2)
    entry.actor_label = "someone else"
    entry.entry_hash = trail.compute_hash(entry, entry.previous_hash)
    entry.save()
    result = trail.verify()
    assert not result.ok and result.sequence == 3 and "does not follow" in result.problem


@pytest.mark.django_db
def test_reordered_rows_are_reported(chain):
    AuditEntry.objects.filter(sequence=2).update(sequence=1000)
    AuditEntry.objects.filter(sequence=3).update(sequence=2)
    AuditEntry.objects.filter(sequence=1000).update(sequence=3)
    result = trail.verify()
    assert not result.ok and result.sequence == 2


@pytest.mark.django_db
def test_audit_rows_roll_back_with_the_change(administrator):
    audit_rows = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        actions.do_create_service(administrator, name="Doomed", hashtag="doomed")
        raise RuntimeError("crash after the write")
    assert AuditEntry.objects.count() == audit_rows
