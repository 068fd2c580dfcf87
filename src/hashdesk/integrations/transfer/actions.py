"""Writes of the import pages: staging a checked file, applying it, forgetting old ones."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.core import ratelimit
from hashdesk.core.errors import NotFound
from hashdesk.integrations.transfer.importers import ImportReport, import_file
from hashdesk.integrations.transfer.models import StagedImport

STAGED_FOR = timedelta(hours=1)


def check_import(
    actor: User | None, kind: str, data: bytes, fmt: str, *, dry_run: bool, filename: str = ""
) -> ImportReport:
    """``importers.import_file``, rate limited per person (imports are heavy)."""
    if actor is not None:
        ratelimit.hit("transfer_import", str(actor.pk))
    return import_file(actor, kind, data, fmt, dry_run=dry_run, filename=filename)


def do_stage_import(
    actor: User, kind: str, data: bytes, fmt: str, *, filename: str
) -> tuple[StagedImport, ImportReport]:
    """Dry-run the file and keep it, with its report, for :func:`do_apply_staged_import`.
    (The rate limit counts before any transaction, so a refused file still counts.)"""
    report = check_import(actor, kind, data, fmt, dry_run=True, filename=filename)
    with transaction.atomic():
        StagedImport.objects.filter(created_at__lt=timezone.now() - STAGED_FOR).delete()
        staged = StagedImport.objects.create(
            actor=actor,
            kind=kind,
            format=fmt,
            filename=filename[:200],
            data=data,
            report=report.as_dict(),
        )
    return staged, report


def staged_import_for(actor: User, pk: int) -> StagedImport:
    """One of ``actor``'s own staged imports, still fresh; anyone else's reads as missing."""
    staged = StagedImport.objects.filter(
        pk=pk, actor=actor, created_at__gte=timezone.now() - STAGED_FOR
    ).first()
    if staged is None:
        raise NotFound("This checked import has expired or does not exist; upload it again.")
    return staged


def do_apply_staged_import(actor: User, pk: int) -> ImportReport:
    """Apply the file the administrator reviewed (its own all-or-nothing transaction); it is
    forgotten once applied."""
    staged = staged_import_for(actor, pk)
    report = check_import(
        actor,
        staged.kind,
        bytes(staged.data),
        staged.format,
        dry_run=False,
        filename=staged.filename,
    )
    with transaction.atomic():
        if report.applied:
            staged.delete()
        else:
            staged.report = report.as_dict()
            staged.save(update_fields=["report"])
    return report
