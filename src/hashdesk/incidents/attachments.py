"""Files attached to incidents: what may be attached, where the bytes live, and the actions.

An attachment is accepted only when its name's extension is on the allow-list
(``settings.ATTACHMENT_TYPES``) **and** its content is what that extension promises (magic
bytes for images and PDF, the ZIP structure of office documents, valid UTF-8 for text). The
client's Content-Type is never trusted: the stored ``content_type`` is the one decided here.

The bytes are streamed into a private temporary file under ``settings.ATTACHMENTS_DIR`` while
their size (stopping at ``settings.ATTACHMENT_MAX_BYTES``) and SHA-256 are computed, then renamed
to a random ``storage_name`` that owes nothing to the uploader and nothing to the incident (a
merge moves an attachment by changing its ``incident`` only). A failure anywhere before the
commit removes the file, so no half-written attachment is left. Receiving, storing and serving
are ``core.uploads`` (shared with wall images); what may be attached is decided here.
docs/incidents.md, "Attachments".
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.core import uploads
from hashdesk.core.errors import (
    Forbidden,
    NotFound,
    UnsupportedMediaType,
    ValidationFailed,
)
from hashdesk.core.uploads import INCOMING as INCOMING
from hashdesk.core.uploads import (
    Received,
    clean_filename,
    extension,
    human_size,
    new_storage_name,
    receive,
    remove_after_commit,
)
from hashdesk.core.uploads import UploadSizeCap as UploadSizeCap
from hashdesk.core.uploads import storage_path as storage_path
from hashdesk.core.visibility import can_view, is_staff, visible_to
from hashdesk.incidents.actions import _lock, _note, _publish, _require_staff, _require_view
from hashdesk.incidents.choices import FINAL_STATES, TimelineKind
from hashdesk.incidents.models import Attachment, Incident

# --- What may be attached -----------------------------------------------------------------------

Sniffer = Callable[[Path, bytes], bool]


@dataclass(frozen=True)
class FileType:
    """A kind of file Hashdesk can verify: how it is served and how its content is checked.

    ``sniff`` looks at the stored file (and its first bytes); ``None`` means text, which is
    checked while the bytes stream in: it must be UTF-8 without NUL characters.
    """

    content_type: str
    label: str
    family: str
    sniff: Sniffer | None = None

    @property
    def is_text(self) -> bool:
        return self.sniff is None


def _starts_with(*signatures: bytes) -> Sniffer:
    return lambda path, head: head.startswith(signatures)


def _is_webp(path: Path, head: bytes) -> bool:
    return head[:4] == b"RIFF" and head[8:12] == b"WEBP"


# Reading a damaged or hostile ZIP can fail in many ways; each one means "not this document".
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    KeyError,
    OSError,
    EOFError,
    RuntimeError,
    NotImplementedError,
    ValueError,
    zlib.error,
)


def _office_open_xml(main_part: str) -> Sniffer:
    """A .docx/.xlsx/.pptx: a ZIP with the package's content types and its main part."""

    def sniff(path: Path, head: bytes) -> bool:
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(path) as archive:
                names = set(archive.namelist())
        except _ZIP_ERRORS:
            return False
        return "[Content_Types].xml" in names and main_part in names

    return sniff


def _open_document(mimetype: str) -> Sniffer:
    """An .odt/.ods/.odp: a ZIP whose ``mimetype`` member names the document type."""

    def sniff(path: Path, head: bytes) -> bool:
        if not head.startswith(b"PK\x03\x04"):
            return False
        try:
            with zipfile.ZipFile(path) as archive:
                member = archive.getinfo("mimetype")
                if member.file_size > 100:
                    return False
                return archive.read(member) == mimetype.encode()
        except _ZIP_ERRORS:
            return False

    return sniff


_IMAGES, _PDF, _TEXT, _OFFICE = "images", "PDF", "text and logs", "office documents"
_ODF = "application/vnd.oasis.opendocument."
_OOXML = "application/vnd.openxmlformats-officedocument."

# Every type Hashdesk can verify, by lower-case extension. HASHDESK_ATTACHMENT_TYPES picks from
# these; SVG and HTML are deliberately absent (they can carry scripts).
KNOWN_TYPES: dict[str, FileType] = {
    "png": FileType("image/png", "PNG image", _IMAGES, _starts_with(b"\x89PNG\r\n\x1a\n")),
    "jpg": FileType("image/jpeg", "JPEG image", _IMAGES, _starts_with(b"\xff\xd8\xff")),
    "jpeg": FileType("image/jpeg", "JPEG image", _IMAGES, _starts_with(b"\xff\xd8\xff")),
    "gif": FileType("image/gif", "GIF image", _IMAGES, _starts_with(b"GIF87a", b"GIF89a")),
    "webp": FileType("image/webp", "WebP image", _IMAGES, _is_webp),
    "pdf": FileType("application/pdf", "PDF document", _PDF, _starts_with(b"%PDF-")),
    "txt": FileType("text/plain", "text file", _TEXT),
    "log": FileType("text/plain", "log file", _TEXT),
    "csv": FileType("text/csv", "CSV file", _TEXT),
    "json": FileType("application/json", "JSON file", _TEXT),
    "xml": FileType("application/xml", "XML file", _TEXT),
    "yaml": FileType("application/yaml", "YAML file", _TEXT),
    "yml": FileType("application/yaml", "YAML file", _TEXT),
    "md": FileType("text/markdown", "Markdown file", _TEXT),
    "docx": FileType(
        f"{_OOXML}wordprocessingml.document",
        "Word document",
        _OFFICE,
        _office_open_xml("word/document.xml"),
    ),
    "xlsx": FileType(
        f"{_OOXML}spreadsheetml.sheet",
        "Excel workbook",
        _OFFICE,
        _office_open_xml("xl/workbook.xml"),
    ),
    "pptx": FileType(
        f"{_OOXML}presentationml.presentation",
        "PowerPoint presentation",
        _OFFICE,
        _office_open_xml("ppt/presentation.xml"),
    ),
    "odt": FileType(f"{_ODF}text", "OpenDocument text", _OFFICE, _open_document(f"{_ODF}text")),
    "ods": FileType(
        f"{_ODF}spreadsheet",
        "OpenDocument spreadsheet",
        _OFFICE,
        _open_document(f"{_ODF}spreadsheet"),
    ),
    "odp": FileType(
        f"{_ODF}presentation",
        "OpenDocument presentation",
        _OFFICE,
        _open_document(f"{_ODF}presentation"),
    ),
}


def allowed_types() -> dict[str, FileType]:
    """The types HASHDESK_ATTACHMENT_TYPES allows (read at call time, so tests can change it)."""
    configured = [e.strip().lower().lstrip(".") for e in settings.ATTACHMENT_TYPES if e.strip()]
    unknown = sorted(set(configured) - KNOWN_TYPES.keys())
    if unknown:
        raise ImproperlyConfigured(
            f"HASHDESK_ATTACHMENT_TYPES names {', '.join(unknown)}, which Hashdesk cannot verify; "
            f"choose from {', '.join(sorted(KNOWN_TYPES))}."
        )
    return {ext: KNOWN_TYPES[ext] for ext in configured}


def type_for(filename: str) -> FileType | None:
    """The type a file name's extension stands for (None when Hashdesk knows none)."""
    return KNOWN_TYPES.get(extension(filename))


def served_content_type(attachment: Attachment) -> str:
    """The Content-Type a download is served with: text (verified UTF-8) says its charset."""
    text_types = {t.content_type for t in KNOWN_TYPES.values() if t.is_text}
    if attachment.content_type in text_types:
        return f"{attachment.content_type}; charset=utf-8"
    return attachment.content_type


@dataclass(frozen=True)
class Limits:
    """What the upload form tells people, derived from the settings."""

    max_bytes: int
    max_size: str
    families: list[str]
    accept: str

    @property
    def summary(self) -> str:
        return f"Max {self.max_size}; {', '.join(self.families)}."


def upload_limits() -> Limits:
    types = allowed_types()
    families: list[str] = []
    for file_type in types.values():
        if file_type.family not in families:
            families.append(file_type.family)
    return Limits(
        max_bytes=settings.ATTACHMENT_MAX_BYTES,
        max_size=human_size(settings.ATTACHMENT_MAX_BYTES),
        families=families,
        accept=",".join(f".{ext}" for ext in types),
    )


# --- Storage (core.uploads; the names stay importable from here) ------------------------------


def _receive(upload: UploadedFile, filename: str, file_type: FileType) -> Received:
    """Stream ``upload`` into a private temporary file, refusing it as soon as it is too large
    and, at the end, unless its content is what its name says."""
    received = receive(
        upload, filename, max_bytes=settings.ATTACHMENT_MAX_BYTES, text=file_type.is_text
    )
    try:
        if file_type.sniff is None:
            content_matches = received.is_text
        else:
            content_matches = file_type.sniff(received.path, received.head)
        if not content_matches:
            raise UnsupportedMediaType(
                f"{filename} is not a {file_type.label}: its content does not match its name.",
                field="file",
            )
    except BaseException:
        received.discard()
        raise
    return received


# --- Reading ------------------------------------------------------------------------------------


def visible_attachments(user: User, incident: Incident) -> QuerySet[Attachment]:
    """The incident's attachments ``user`` may see, oldest first, with their uploaders."""
    return visible_to(
        user, Attachment.objects.filter(incident=incident).select_related("uploaded_by")
    ).order_by("created_at", "id")


def may_attach(user: User, incident: Incident) -> bool:
    """Whether the upload form belongs on the incident's page for ``user``."""
    return can_view(user, incident) and incident.state not in FINAL_STATES


def attachment_snapshot(attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "incident_id": attachment.incident_id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "is_public": attachment.is_public,
    }


# --- Actions ------------------------------------------------------------------------------------


def do_add_attachment(
    actor: User | None, incident: Incident, *, upload: UploadedFile, public: bool = True
) -> Attachment:
    """Attach ``upload`` to ``incident``; ``public=False`` makes it internal (staff only).

    Anyone who may see an open incident may attach to it; closed and cancelled incidents (and
    so merged ones) take nothing more. The cheap checks come first, then the bytes are copied to
    disk *outside* the transaction (on SQLite a write transaction locks the whole database, and
    copying 10 MB should not hold it), then the row, timeline entry, audit row and event are
    written in one transaction that re-checks the incident under its lock. If anything after the
    copy fails, the file is removed.
    """
    _require_view(actor, incident)
    if not public:
        _require_staff(actor, "add internal attachments")
    if incident.state in FINAL_STATES:
        raise ValidationFailed(
            f"{incident.number} is {incident.get_state_display().lower()}: "
            "nothing more can be attached.",
            field="file",
        )
    filename = clean_filename(upload.name or "")
    types = allowed_types()
    file_type = types.get(extension(filename))
    if file_type is None:
        ext = extension(filename)
        raise UnsupportedMediaType(
            f"{filename}: {f'.{ext} files' if ext else 'files without an extension'} "
            f"cannot be attached. Allowed: {', '.join(f'.{e}' for e in types)}.",
            field="file",
            allowed=sorted(types),
        )
    received = _receive(upload, filename, file_type)
    try:
        return _record_attachment(actor, incident, received, filename, file_type, public)
    except BaseException:
        received.discard()
        raise


@transaction.atomic
def _record_attachment(
    actor: User | None,
    incident: Incident,
    received: Received,
    filename: str,
    file_type: FileType,
    public: bool,
) -> Attachment:
    incident = _lock(incident, None)
    storage_name = new_storage_name()
    attachment = Attachment.objects.create(
        incident=incident,
        uploaded_by=actor if actor is not None and actor.is_authenticated else None,
        filename=filename,
        content_type=file_type.content_type,
        size=received.size,
        sha256=received.sha256,
        storage_name=storage_name,
        is_public=public,
    )
    # Renamed only once the row exists (so a clash of names cannot replace a stored file); from
    # here on, the caller's clean-up removes the file at its final path.
    received.keep(storage_name)
    entry = _note(
        incident,
        actor,
        TimelineKind.ATTACHMENT,
        public=attachment.is_public,
        id=attachment.pk,
        filename=attachment.filename,
        size=attachment.size,
    )
    incident.updated_at = timezone.now()
    incident.save(update_fields=["updated_at"])
    trail.record(
        actor=actor,
        action="incident.attachment_add",
        obj=incident,
        after=attachment_snapshot(attachment),
    )
    # Internal attachments are announced on the staff stream only.
    _publish(incident, "attachment", entry=entry, public=attachment.is_public)
    return attachment


@transaction.atomic
def do_remove_attachment(actor: User | None, attachment: Attachment) -> None:
    """Remove an attachment: staff, or the person who attached it while the incident is open.

    Staff may remove files from closed incidents too: a log with a password in it must be
    removable whenever it is found. The file is deleted after the commit, so a rollback keeps it.
    """
    if actor is not None and not can_view(actor, attachment):
        raise NotFound("No such attachment.")
    staff = actor is None or is_staff(actor)
    if not staff and (actor is None or attachment.uploaded_by_id != actor.pk):
        raise Forbidden("Only service desk staff or the person who attached a file can remove it.")
    incident = Incident.objects.select_for_update().get(pk=attachment.incident_id)
    if not staff and incident.state in FINAL_STATES:
        raise ValidationFailed(
            f"{incident.number} is {incident.get_state_display().lower()}: "
            "ask the service desk to remove the file."
        )
    before = attachment_snapshot(attachment)
    deleted, _ = Attachment.objects.filter(pk=attachment.pk).delete()
    if not deleted:
        raise NotFound("No such attachment.")
    entry = _note(
        incident,
        actor,
        TimelineKind.ATTACHMENT,
        public=attachment.is_public,
        id=before["id"],
        filename=attachment.filename,
        size=attachment.size,
        removed=True,
    )
    incident.updated_at = timezone.now()
    incident.save(update_fields=["updated_at"])
    trail.record(actor=actor, action="incident.attachment_remove", obj=incident, before=before)
    _publish(incident, "attachment", entry=entry, public=attachment.is_public)
    remove_after_commit(attachment.storage_name)


def open_stored(attachment: Attachment) -> IO[bytes]:
    """The stored bytes, opened for reading; NotFound (and an error in the log) if the file is
    missing, which only an operator's mistake or a lost disk can cause."""
    return uploads.open_stored(
        attachment.storage_name,
        what=f"attachment {attachment.pk}",
        missing="The file of this attachment is missing; tell the service desk.",
    )
