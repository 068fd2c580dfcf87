"""Attachment endpoints: list, upload (multipart), download and remove an incident's files.

Lookups go through ``core.visibility``: an incident or attachment the caller may not see is a
404, whatever the operation. Uploads and removals call ``incidents.attachments``, the same
actions the incident page calls, so the size limit (413), the type rules (415) and the
permissions read the same everywhere. docs/api.md, "Attachments".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse
from django.urls import reverse
from ninja import File, Form, Query, Router, Status, UploadedFile
from pydantic import Field

from hashdesk.accounts.models import User
from hashdesk.api.auth import acting_user
from hashdesk.api.pagination import Keyset, PageParams, paginate
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, ObjectId, Output, with_errors
from hashdesk.core.errors import NotFound
from hashdesk.core.visibility import visible_to
from hashdesk.incidents import attachments
from hashdesk.incidents.api import incident_for
from hashdesk.incidents.attachment_views import attachment_response
from hashdesk.incidents.models import Attachment
from hashdesk.incidents.schemas import PersonRef

router = Router(tags=["incidents"])

# Oldest first, as on the incident page.
ATTACHMENT_ORDER = Keyset(("created_at", "id"))
UPLOAD_ERRORS = (*WRITE_ERRORS, 415)


class AttachmentOut(Output):
    id: int
    filename: str = Field(description="The uploader's file name, cleaned of paths and controls.")
    content_type: str = Field(description="Decided by the server from the verified content.")
    size: int = Field(description="In bytes.")
    sha256: str = Field(description="SHA-256 of the content, hex.")
    is_public: bool = Field(description="False for internal files, which only staff see.")
    uploaded_by: PersonRef | None = Field(description="None for the system.")
    created_at: datetime
    download_url: str = Field(description="This API's address of the file's content.")
    web_url: str = Field(description="The download link of the incident page.")


class AttachmentPage(Output):
    items: list[AttachmentOut]
    next_cursor: str | None


def _out(attachment: Attachment, number: str) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "is_public": attachment.is_public,
        "uploaded_by": attachment.uploaded_by,
        "created_at": attachment.created_at,
        "download_url": reverse(
            "api:download_attachment", kwargs={"number": number, "attachment_id": attachment.pk}
        ),
        "web_url": reverse(
            "incidents:attachment", args=[number, attachment.pk, attachment.filename]
        ),
    }


def _attachments(user: User, number: str) -> tuple[str, QuerySet[Attachment]]:
    incident = incident_for(user, number)
    rows = visible_to(
        user, Attachment.objects.filter(incident=incident).select_related("uploaded_by")
    )
    return str(incident.number), rows


def _attachment(user: User, number: str, attachment_id: int) -> tuple[str, Attachment]:
    found, rows = _attachments(user, number)
    attachment = rows.filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound("No such attachment.")
    return found, attachment


@router.get(
    "incidents/{number}/attachments", response=with_errors({200: AttachmentPage}, READ_ERRORS)
)
def list_attachments(
    request: HttpRequest, response: HttpResponse, number: str, params: Query[PageParams]
) -> dict[str, Any]:
    """The incident's files you may see, oldest first (internal ones only for staff)."""
    found, rows = _attachments(acting_user(request), number)
    page = paginate(request, response, rows, ATTACHMENT_ORDER, params)
    page["items"] = [_out(attachment, found) for attachment in page["items"]]
    return page


@router.post(
    "incidents/{number}/attachments", response=with_errors({201: AttachmentOut}, UPLOAD_ERRORS)
)
def add_attachment(
    request: HttpRequest,
    number: str,
    file: File[UploadedFile],
    internal: Form[bool] = False,
) -> Status[dict[str, Any]]:
    """Attach a file (multipart/form-data, field ``file``); ``internal=true`` (staff) makes it
    visible to staff only. Too large: 413; a type that is not allowed, or content that does
    not match the name: 415; empty: 422."""
    user = acting_user(request)
    incident = incident_for(user, number)
    attachment = attachments.do_add_attachment(user, incident, upload=file, public=not internal)
    return Status(201, _out(attachment, str(incident.number)))


@router.get(
    "incidents/{number}/attachments/{int:attachment_id}/content",
    response=with_errors({200: None}, READ_ERRORS),
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file, with the content type decided at upload.",
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def download_attachment(request: HttpRequest, number: str, attachment_id: ObjectId) -> FileResponse:
    """The file's bytes, served as a download (images inline) with ``nosniff`` and a
    sandboxing Content-Security-Policy."""
    _, attachment = _attachment(acting_user(request), number, attachment_id)
    return attachment_response(attachment)


@router.delete(
    "incidents/{number}/attachments/{int:attachment_id}",
    response=with_errors({204: None}, WRITE_ERRORS),
)
def remove_attachment(request: HttpRequest, number: str, attachment_id: ObjectId) -> Status[None]:
    """Remove a file: staff, or the person who attached it while the incident is open."""
    user = acting_user(request)
    _, attachment = _attachment(user, number, attachment_id)
    attachments.do_remove_attachment(user, attachment)
    return Status(204, None)
