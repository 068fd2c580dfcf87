"""``hashdesk import <kind> <file> [--dry-run]``: the import as the system (no person acts)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hashdesk.core.errors import DomainError
from hashdesk.integrations.transfer.importers import import_file
from hashdesk.integrations.transfer.parsing import MAX_FILE_BYTES, guess_format


def run_import(args: argparse.Namespace) -> int:
    """Exit 0 when the file is valid (and, without --dry-run, imported), 1 when rows were
    rejected (nothing written), 2 when the file itself cannot be read."""
    path = Path(args.file)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        report = import_file(
            None,
            args.kind,
            data,
            guess_format(path.name, args.format or ""),
            dry_run=args.dry_run,
            filename=path.name,
        )
    except OSError as error:
        print(f"Cannot read {path}: {error.strerror}", file=sys.stderr)
        return 2
    except DomainError as error:
        print(f"{path}: {error.detail}", file=sys.stderr)
        return 2
    for rejected in report.errors:
        print(f"row {rejected.row}: {rejected.field or '-'}: {rejected.message}", file=sys.stderr)
    verdict = (
        "imported"
        if report.applied
        else "checked, nothing written (dry run)"
        if report.dry_run
        else "NOT imported: correct the rejected rows"
    )
    print(
        f"{report.kind}: {report.total} rows, {report.valid} valid, "
        f"{report.rejected} rejected — {verdict}."
    )
    return 1 if report.errors else 0
