"""Uploaded files on disk: receiving, storing, removing and serving them (incident attachments,
wall images, and later chat files).

Bytes are streamed into a private temporary file under ``settings.ATTACHMENTS_DIR`` while their
size (stopping one byte over the caller's limit) and SHA-256 are computed; the caller checks the
content, then :meth:`Received.keep` renames the file to a random storage name that owes nothing
to the uploader. A failure before that removes the temporary file; a caller whose row is
written in a transaction removes the kept file when the transaction fails (see
``incidents.attachments``). Stored files are served only through :func:`file_response`, with
headers that keep a browser from running them. What a file may be is each caller's business.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import secrets
import tempfile
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.db import transaction
from django.http import FileResponse
from django.template.defaultfilters import filesizeformat

from hashdesk.core.errors import NotFound, PayloadTooLarge, ValidationFailed

logger = logging.getLogger(__name__)

FILENAME_MAX = 255
FALLBACK_FILENAME = "attachment"
# Enough of the start of a file for every signature callers check.
HEAD_BYTES = 64
# Temporary files of uploads in progress live in this subdirectory of ATTACHMENTS_DIR: on the
# same file system as the stored files (so the final rename is atomic), and never served.
INCOMING = ".incoming"
# What a served file may do in a browser: nothing. ``sandbox`` also gives it an opaque origin,
# so even a file a browser decided to render could not read this site's cookies or pages.
SERVED_CSP = "default-src 'none'; sandbox"


# --- Names --------------------------------------------------------------------------------------


def clean_filename(raw: str, fallback: str = FALLBACK_FILENAME) -> str:
    """The uploader's file name made safe to show and to put in Content-Disposition.

    Any directory part is dropped (``../../etc/passwd`` is ``passwd``), control and format
    characters go (including the right-to-left override that makes ``gnp.exe`` read as
    ``exe.png``), leading and trailing dots and spaces go, and the result keeps its extension
    within 255 characters. A name with nothing left becomes ``fallback``.
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = name.strip(" .")
    if len(name) > FILENAME_MAX:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            name = f"{stem[: FILENAME_MAX - len(ext) - 1].rstrip(' .')}.{ext}"
        else:
            name = name[:FILENAME_MAX].rstrip(" .")
    return name or fallback


def extension(filename: str) -> str:
    stem, dot, ext = filename.rpartition(".")
    return ext.lower() if dot and stem else ""


def human_size(size: int) -> str:
    """ "10 MB" for whole mebibytes (the usual limits), else Django's "1.5 MB"."""
    mebibyte = 1024 * 1024
    if size >= mebibyte and size % mebibyte == 0:
        return f"{size // mebibyte} MB"
    return str(filesizeformat(size))


# --- Where files live ---------------------------------------------------------------------------


def uploads_dir() -> Path:
    directory = Path(settings.ATTACHMENTS_DIR)
    (directory / INCOMING).mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def storage_path(storage_name: str) -> Path:
    """Where a stored file lives: fanned out over 256 subdirectories by its first two
    characters, so no directory grows to hundreds of thousands of entries."""
    return Path(settings.ATTACHMENTS_DIR) / storage_name[:2] / storage_name


def new_storage_name() -> str:
    """A random name (32 hex characters): it says nothing about the file or who sent it."""
    return secrets.token_hex(16)


def max_upload_bytes() -> int:
    """The most any one uploaded file may hold: ``ATTACHMENT_MAX_BYTES`` (UploadSizeCap keeps
    no more of a request's file), so narrower limits such as wall images' stay under it."""
    return int(settings.ATTACHMENT_MAX_BYTES)


class UploadSizeCap(FileUploadHandler):
    """The first upload handler (settings.FILE_UPLOAD_HANDLERS): passes on at most one byte
    more than ``ATTACHMENT_MAX_BYTES`` of each uploaded file.

    Django receives an upload whole before any view runs; without this a 5 GB upload would fill
    the temporary directory before being refused. With it the rest of an oversized file is read
    and dropped, and the action still sees that the file is too large (one byte over is enough).
    No upload anywhere in Hashdesk may be larger than an attachment.
    """

    received = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        room = max_upload_bytes() + 1 - self.received
        if room <= 0:
            return None
        chunk = raw_data[:room]
        self.received += len(chunk)
        return chunk

    def file_complete(self, file_size: int) -> None:
        # The next handler (memory or temporary file) builds the uploaded file.
        return None


# --- Receiving and keeping ----------------------------------------------------------------------


@dataclass
class Received:
    """A file on disk: a private temporary file until :meth:`keep` renames it to its storage
    path. ``head`` is its first bytes (for signatures); ``is_text`` whether it is UTF-8 text
    without NUL characters (only computed when asked for)."""

    path: Path
    size: int
    sha256: str
    head: bytes = b""
    is_text: bool = False

    def keep(self, storage_name: str) -> Path:
        """Move the file to ``storage_name``'s path. Call it once the row naming the file
        exists (so a clash of names cannot replace a stored file); from then on the caller's
        clean-up removes the file at its final path."""
        final_path = storage_path(storage_name)
        final_path.parent.mkdir(mode=0o700, exist_ok=True)
        os.replace(self.path, final_path)
        self.path = final_path
        return final_path

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def receive(upload: UploadedFile, filename: str, *, max_bytes: int, text: bool = False) -> Received:
    """Stream ``upload`` into a private temporary file, refusing it as soon as it is larger
    than ``max_bytes`` (PayloadTooLarge) or, at the end, empty (ValidationFailed). ``text``
    also checks whether the content is UTF-8 without NUL characters (``Received.is_text``)."""
    fd, name = tempfile.mkstemp(dir=uploads_dir() / INCOMING, prefix="upload-")
    path = Path(name)
    try:
        digest = hashlib.sha256()
        size = 0
        head = b""
        decoder = codecs.getincrementaldecoder("utf-8")() if text else None
        is_text = text
        with os.fdopen(fd, "wb") as out:
            for chunk in upload.chunks():
                size += len(chunk)
                if size > max_bytes:
                    raise PayloadTooLarge(
                        f"{filename} is larger than {human_size(max_bytes)}.",
                        field="file",
                        max_bytes=max_bytes,
                    )
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                if decoder is not None and is_text:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        is_text = False
                    is_text = is_text and b"\x00" not in chunk
                digest.update(chunk)
                out.write(chunk)
            if decoder is not None and is_text:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    is_text = False
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise ValidationFailed(f"{filename} is empty.", field="file")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Received(path=path, size=size, sha256=digest.hexdigest(), head=head, is_text=is_text)


def write_new(write: Callable[[IO[bytes]], None]) -> Received:
    """A file the server makes itself (a re-encoded image): ``write`` fills a private temporary
    file, whose size and SHA-256 are then measured. Removed again if ``write`` fails."""
    fd, name = tempfile.mkstemp(dir=uploads_dir() / INCOMING, prefix="derived-")
    path = Path(name)
    try:
        with os.fdopen(fd, "w+b") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
            out.seek(0)
            digest = hashlib.sha256()
            size = 0
            while chunk := out.read(1024 * 1024):
                size += len(chunk)
                digest.update(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Received(path=path, size=size, sha256=digest.hexdigest())


def remove_after_commit(storage_name: str) -> None:
    """Delete a stored file once the transaction that removed its row commits (a rollback
    keeps both)."""
    path = storage_path(storage_name)
    transaction.on_commit(lambda: path.unlink(missing_ok=True))


# --- Serving ------------------------------------------------------------------------------------


def open_stored(storage_name: str, *, what: str, missing: str) -> IO[bytes]:
    """The stored bytes, opened for reading; NotFound(``missing``) and an error in the log if
    the file is gone, which only an operator's mistake or a lost disk can cause."""
    path = storage_path(storage_name)
    try:
        return path.open("rb")
    except FileNotFoundError:
        logger.error("%s has no stored file at %s", what, path)
        raise NotFound(missing) from None


def file_response(
    stream: IO[bytes], *, filename: str, content_type: str, inline: bool
) -> FileResponse:
    """A stored file with the headers every download gets: saved (or shown, ``inline``) as
    ``content_type`` and nothing else (``nosniff``), sandboxed, not embeddable by other sites,
    and personal to the viewer (it passed a permission check): no shared cache may keep it,
    and the browser asks again, so a file that became invisible is not served from its cache.
    """
    response = FileResponse(
        stream, as_attachment=not inline, filename=filename, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SERVED_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-cache"
    return response
