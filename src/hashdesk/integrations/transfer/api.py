"""``POST /api/v1/imports/{kind}`` and ``GET /api/v1/exports/{list}``.

See docs/integrations/transfer.md.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from ninja import Router, Status
from pydantic import BaseModel

from hashdesk.api.auth import acting_user
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, Output, with_errors
from hashdesk.core.errors import UnsupportedMediaType, ValidationFailed
from hashdesk.integrations.transfer.actions import check_import
from hashdesk.integrations.transfer.exports import export_list
from hashdesk.integrations.transfer.parsing import MAX_FILE_BYTES, guess_format

router = Router(tags=["import and export"])

MEDIA_TYPES = {"text/csv": "csv", "application/json": "json"}


class RowErrorOut(BaseModel):
    row: int
    field: str
    message: str


class ImportReportOut(Output):
    kind: str
    dry_run: bool
    applied: bool
    total: int
    valid: int
    rejected: int
    errors: list[RowErrorOut]


def _upload(request: HttpRequest) -> tuple[bytes, str, str]:
    """The file and its format: a multipart ``file`` field, or the body itself sent as
    ``text/csv`` or ``application/json``."""
    media_type = (request.content_type or "").lower()
    if media_type == "multipart/form-data":
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationFailed("Send the file in the field named file.", field="file")
        name = upload.name or ""
        return upload.read(MAX_FILE_BYTES + 1), guess_format(name), name
    fmt = MEDIA_TYPES.get(media_type)
    if fmt is None:
        raise UnsupportedMediaType(
            "Send text/csv, application/json or multipart/form-data with a file field."
        )
    return request.body, fmt, f"upload.{fmt}"


@router.post(
    "imports/{kind}",
    # 415: a body that is neither CSV, JSON nor a multipart upload.
    response=with_errors({200: ImportReportOut, 201: ImportReportOut}, (*WRITE_ERRORS, 415)),
    openapi_extra={
        "requestBody": {
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            }
        }
    },
)
def import_data(
    request: HttpRequest, kind: str, dry_run: bool = False
) -> Status[dict[str, Any]] | dict[str, Any]:
    """Import services, people or historical incidents (administrators). With
    ``dry_run=true`` every row is checked and nothing is written (200). Otherwise the file is
    written whole (201) or, when any row is rejected, not at all: 422 naming each row."""
    user = acting_user(request)
    data, fmt, name = _upload(request)
    report = check_import(user, kind, data, fmt, dry_run=dry_run, filename=name)
    if report.errors and not dry_run:
        raise ValidationFailed(
            f"{report.rejected} of {report.total} rows were rejected; nothing was imported.",
            errors=[
                {
                    "field": f"rows[{e.row}].{e.field}" if e.field else f"rows[{e.row}]",
                    "message": e.message,
                    "location": "file",
                }
                for e in report.errors
            ],
            report=report.as_dict(),
        )
    return Status(201, report.as_dict()) if report.applied else report.as_dict()


@router.get("exports/{name}", response=with_errors({200: Any}, READ_ERRORS))
def export_data(request: HttpRequest, name: str, format: str = "csv") -> HttpResponseBase:
    """Any list (incidents, services, people, changes, problems, articles) as CSV or JSON,
    streamed, with the list page's filters as query parameters and your visibility applied."""
    return export_list(acting_user(request), name, request.GET, format)
