"""Reading an import file into rows: CSV or JSON, UTF-8 (a BOM is tolerated), with limits.

A file is refused as a whole (``ValidationFailed``, 422; ``PayloadTooLarge``, 413) when it
cannot be read, is too big, has too many rows or its header names columns the kind does not
know; rows that can be read are checked one by one afterwards (``importers``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from hashdesk.core.errors import PayloadTooLarge, ValidationFailed

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 2000
FORMATS = ("csv", "json")


@dataclass(frozen=True)
class Row:
    """One record of the file. ``number`` is what a person looks for in the file: the line
    of a CSV file (the header is line 1), the position of a JSON item counted from 1."""

    number: int
    values: dict[str, Any]


def guess_format(filename: str, declared: str = "") -> str:
    """``declared`` when given, else from the file name's extension."""
    fmt = (declared or (filename.rsplit(".", 1)[-1] if "." in filename else "")).lower()
    if fmt not in FORMATS:
        raise ValidationFailed("Upload a .csv or a .json file.", field="file")
    return fmt


def read_rows(
    data: bytes, fmt: str, *, columns: Collection[str], required: Collection[str]
) -> list[Row]:
    """The rows of ``data``; every header/key must be one of ``columns`` and ``required``
    ones must be present."""
    if len(data) > MAX_FILE_BYTES:
        raise PayloadTooLarge(
            f"The file is {len(data)} bytes; the limit is {MAX_FILE_BYTES}.", field="file"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationFailed(
            f"The file is not UTF-8 (byte {error.start} cannot be read).", field="file"
        ) from error
    if "\x00" in text:
        raise ValidationFailed("The file contains NUL characters.", field="file")
    rows = _read_csv(text) if fmt == "csv" else _read_json(text)
    if not rows:
        raise ValidationFailed("The file has no rows.", field="file")
    if len(rows) > MAX_ROWS:
        raise PayloadTooLarge(
            f"The file has {len(rows)} rows; the limit is {MAX_ROWS}.", field="file"
        )
    names = set().union(*(row.values.keys() for row in rows))
    unknown = sorted(names - set(columns))
    if unknown:
        raise ValidationFailed(
            f"Unknown column {unknown[0]!r}; the columns are {', '.join(columns)}.",
            field="file",
        )
    missing = [name for name in required if name not in names]
    if missing:
        raise ValidationFailed(f"The column {missing[0]!r} is required.", field="file")
    return rows


def _read_csv(text: str) -> list[Row]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            return []
        header = [name.strip() for name in header]
        if len(set(header)) != len(header) or "" in header:
            raise ValidationFailed("The header names each column once.", field="file")
        rows = []
        for values in reader:
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(header):
                raise ValidationFailed(
                    f"Line {reader.line_num} has {len(values)} fields; the header has "
                    f"{len(header)}.",
                    field="file",
                )
            rows.append(Row(reader.line_num, dict(zip(header, values, strict=True))))
            if len(rows) > MAX_ROWS:
                break
    except csv.Error as error:
        raise ValidationFailed(
            f"The CSV file cannot be read at line {reader.line_num}: {error}.", field="file"
        ) from error
    return rows


def _read_json(text: str) -> list[Row]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValidationFailed(
            f"The JSON file cannot be read at line {error.lineno}: {error.msg}.", field="file"
        ) from error
    if isinstance(document, dict) and isinstance(document.get("items"), list):
        document = document["items"]
    if not isinstance(document, list):
        raise ValidationFailed(
            'A JSON file holds a list of objects (or {"items": [...]}).', field="file"
        )
    rows = []
    for position, item in enumerate(document[: MAX_ROWS + 1], start=1):
        if not isinstance(item, dict):
            raise ValidationFailed(f"Item {position} is not an object.", field="file")
        rows.append(Row(position, item))
    return rows
