"""Images on wall posts (docs/wall.md, "Images"): uploaded first, then attached to a post by id,
as Mastodon clients do with media attachments.

An upload is accepted when its content is a PNG, JPEG, GIF or WebP image (its name and the
client's Content-Type are never trusted), at most ``WALL_MEDIA_MAX_BYTES`` and
``MEDIA_MAX_PIXELS``, and Pillow can decode it. It is then **re-encoded**: what is stored is
the pixels and nothing else, so EXIF (GPS position, camera serial numbers), XMP and comments
never leave the uploader's device through Hashdesk. The EXIF orientation is applied first, so
the picture stays the right way up. Animated GIF and WebP keep every frame (re-saved, with
their timing), within the same pixel budget counted over all frames. The colour profile (ICC)
is kept: it says nothing about the person, and dropping it would change the colours.

Receiving and storing are ``core.uploads``; attaching is part of posting (``wall.ingest``): a
post takes up to ``MEDIA_PER_POST_MAX`` of its author's unattached uploads. Who may see an
image is who may see its post (``wall.visibility``); an unattached one, its uploader only.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.core import signing
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from PIL import Image, ImageOps, ImageSequence

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.core import ratelimit, uploads
from hashdesk.core.errors import (
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from hashdesk.core.visibility import can_view, is_signed_in
from hashdesk.wall.models import MediaAttachment

MEDIA_PER_POST_MAX = 4
# Decoded pixels one upload may hold (all frames of an animation together): 40 megapixels is a
# large phone photo; a few kilobytes of compressed zeros must not become gigabytes of memory.
MEDIA_MAX_PIXELS = 40_000_000
DESCRIPTION_MAX = 1_500
# Uploads never attached to a post are removed after this long (wall.tasks).
UNATTACHED_TTL = timedelta(hours=24)
FALLBACK_FILENAME = "image"

# Pillow's format name → the content type served and the file name extension it implies.
FORMATS: dict[str, tuple[str, str]] = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
}
EXTENSIONS = {"png": "PNG", "jpg": "JPEG", "jpeg": "JPEG", "gif": "GIF", "webp": "WEBP"}
ALLOWED = "PNG, JPEG, GIF or WebP"
# Everything Pillow may raise on a damaged or hostile file: each one means "not an image".
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)


def max_bytes() -> int:
    """The size limit of one image: ``WALL_MEDIA_MAX_BYTES``, never above what any upload may
    hold (``ATTACHMENT_MAX_BYTES``, where the server stops keeping a request's file)."""
    return min(int(settings.WALL_MEDIA_MAX_BYTES), uploads.max_upload_bytes())


def sniff(head: bytes) -> str | None:
    """The image format the first bytes announce (Pillow's name), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return None


def media_url(media: MediaAttachment) -> str:
    return reverse("wall:media", args=[media.pk, media.filename])


# How long a signed image link opens its image (media_link).
LINK_MAX_AGE = timedelta(days=1)
_LINK_SALT = "hashdesk.wall.media-link"


def media_link(media: MediaAttachment) -> str:
    """The image's address for a client that cannot send a session or a token with it: Mastodon
    apps load a status's pictures as plain GETs, as on a Mastodon server's public files.

    It carries a signature of the image's id, good for :data:`LINK_MAX_AGE`, and is handed out
    only in answers to someone who may see the image. Until then it opens the image to whoever
    holds it, as long as its post is neither deleted nor hidden (``wall.visibility.linked_media``).
    """
    signed = signing.TimestampSigner(salt=_LINK_SALT).sign(str(media.pk))
    return f"{media_url(media)}?link={signed.split(':', 1)[1]}"


def link_opens(media_id: int, link: str) -> bool:
    """Whether ``link`` (the ``link`` parameter of a media_link) was signed for this image and
    has not expired."""
    try:
        signing.TimestampSigner(salt=_LINK_SALT).unsign(f"{media_id}:{link}", max_age=LINK_MAX_AGE)
    except signing.BadSignature:
        return False
    return True


def media_snapshot(media: MediaAttachment) -> dict[str, Any]:
    """An image as posts show it (Mastodon's media attachment fields). No smaller preview is
    made: ``preview_url`` is the image itself, which pages scale down with width and height."""
    url = media_url(media)
    return {
        "id": media.pk,
        "type": "image",
        "url": url,
        "preview_url": url,
        "description": media.description,
        "width": media.width,
        "height": media.height,
        "content_type": media.content_type,
    }


def _audit(media: MediaAttachment) -> dict[str, Any]:
    return {
        "id": media.pk,
        "post_id": media.post_id,
        "filename": media.filename,
        "content_type": media.content_type,
        "size": media.size,
        "sha256": media.sha256,
        "width": media.width,
        "height": media.height,
        "description": media.description,
    }


# --- Checking and re-encoding -------------------------------------------------------------------


def _check_description(text: str | None) -> str:
    description = (text or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise ValidationFailed(
            f"A description is at most {DESCRIPTION_MAX:,} characters.", field="description"
        )
    return description


def _named_for(filename: str, image_format: str) -> str:
    """The file name with an extension that says what the file is (``photo`` → ``photo.jpg``;
    a JPEG sent as ``photo.png`` → ``photo.png.jpg``), so a saved copy opens as what it is."""
    if EXTENSIONS.get(uploads.extension(filename)) == image_format:
        return filename
    name = f"{filename}.{FORMATS[image_format][1]}"
    return uploads.clean_filename(name[-uploads.FILENAME_MAX :], FALLBACK_FILENAME)


def _too_many_pixels(filename: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"{filename} has more than {MEDIA_MAX_PIXELS // 1_000_000} megapixels.",
        field="file",
        max_pixels=MEDIA_MAX_PIXELS,
    )


def _frames(image: Image.Image, filename: str) -> Iterator[Image.Image]:
    """Each frame, decoded one at a time, stopping as soon as the pixel budget is spent (the
    frame count alone would need decoding them all)."""
    spent = 0
    for frame in ImageSequence.Iterator(image):
        spent += frame.width * frame.height
        if spent > MEDIA_MAX_PIXELS:
            raise _too_many_pixels(filename)
        yield frame.copy()


def _clean(image: Image.Image, image_format: str) -> Image.Image:
    """The pixels alone: no EXIF, XMP or comments left in ``info`` for the encoder to copy."""
    # The modes each encoder takes (a CMYK JPEG, a palette WebP frame are converted).
    if image_format == "JPEG" and image.mode not in {"RGB", "L"}:
        image = image.convert("RGB")
    if image_format == "WEBP" and image.mode not in {"RGB", "RGBA"}:
        alpha = "A" in image.mode or "transparency" in image.info
        image = image.convert("RGBA" if alpha else "RGB")
    keep: dict[str | tuple[int, int], Any] = {
        key: image.info[key] for key in ("transparency",) if key in image.info
    }
    image.info = keep
    return image


def _reencode(path: Any, image_format: str, filename: str) -> tuple[uploads.Received, int, int]:
    """Decode the image at ``path`` and write it again without metadata; its new file, width
    and height. ValidationFailed if it is not a decodable image of the format it announced."""
    with warnings.catch_warnings():
        # Pillow warns (rather than refuses) between its own limit and twice that.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path, formats=[image_format]) as image:
                if image.width * image.height > MEDIA_MAX_PIXELS:
                    raise _too_many_pixels(filename)
                icc = image.info.get("icc_profile")
                options: dict[str, Any] = {"format": image_format}
                if icc:
                    options["icc_profile"] = icc
                if getattr(image, "is_animated", False):
                    loop = image.info.get("loop", 0)
                    frames, durations = [], []
                    for frame in _frames(image, filename):
                        durations.append(frame.info.get("duration", 100))
                        frames.append(_clean(frame, image_format))
                    options |= {
                        "save_all": True,
                        "append_images": frames[1:],
                        "duration": durations,
                        "loop": loop,
                    }
                    first = frames[0]
                else:
                    image.load()
                    first = _clean(ImageOps.exif_transpose(image), image_format)
                if image_format == "JPEG":
                    options["quality"] = 90
                width, height = first.size

                def write(out: IO[bytes]) -> None:
                    first.save(out, **options)

                return uploads.write_new(write), width, height
        except PayloadTooLarge:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(filename) from None
        except _DECODE_ERRORS:
            raise ValidationFailed(
                f"{filename} could not be read as an image; it may be damaged.", field="file"
            ) from None


# --- Actions ------------------------------------------------------------------------------------


def _require_signed_in(actor: User | None) -> User:
    if actor is None or not is_signed_in(actor):
        raise Forbidden("Sign in to use the wall.")
    return actor


def do_upload_media(
    actor: User | None, file: UploadedFile, *, description: str = ""
) -> MediaAttachment:
    """Store an image for a post to come (unattached until then; see ``remove_unattached``).

    Rate limited per person (``wall_media``). Not an image of an allowed type: 415; too large
    (bytes or pixels): 413; not decodable: 422. The bytes are received and re-encoded outside
    the transaction (on SQLite it would hold the only write lock); the row and audit entry are
    written in one, and any failure removes the files.
    """
    uploader = _require_signed_in(actor)
    ratelimit.hit("wall_media", str(uploader.pk))
    description = _check_description(description)
    filename = uploads.clean_filename(file.name or "", FALLBACK_FILENAME)
    received = uploads.receive(file, filename, max_bytes=max_bytes())
    try:
        image_format = sniff(received.head)
        if image_format is None:
            raise UnsupportedMediaType(
                f"{filename} is not a {ALLOWED} image.",
                field="file",
                allowed=sorted({ext for _, ext in FORMATS.values()}),
            )
        encoded, width, height = _reencode(received.path, image_format, filename)
    finally:
        received.discard()
    try:
        named = _named_for(filename, image_format)
        return _record(uploader, encoded, named, image_format, width, height, description)
    except BaseException:
        encoded.discard()
        raise


@transaction.atomic
def _record(
    uploader: User,
    encoded: uploads.Received,
    filename: str,
    image_format: str,
    width: int,
    height: int,
    description: str,
) -> MediaAttachment:
    media = MediaAttachment.objects.create(
        uploader=uploader,
        storage_name=uploads.new_storage_name(),
        filename=filename,
        content_type=FORMATS[image_format][0],
        size=encoded.size,
        sha256=encoded.sha256,
        width=width,
        height=height,
        description=description,
    )
    encoded.keep(media.storage_name)
    # No event: an unattached image is its uploader's alone; its post's events carry it.
    trail.record(actor=uploader, action="wall.media_upload", obj=media, after=_audit(media))
    return media


@transaction.atomic
def do_update_media(
    actor: User | None, media: MediaAttachment, *, description: str
) -> MediaAttachment:
    """Change an image's description (alt text): its uploader only, while it waits for a post
    or is on their post. A post showing it tells its audience (event ``update``)."""
    from hashdesk.wall.actions import _publish

    editor = _require_signed_in(actor)
    if not can_view(editor, media):
        raise NotFound("No such image.")
    if media.uploader_id != editor.pk:
        raise Forbidden("Only the person who uploaded an image can describe it.")
    media = (
        MediaAttachment.objects.select_for_update(of=("self",))
        .select_related("post")
        .get(pk=media.pk)
    )
    text = _check_description(description)
    if text == media.description:
        return media
    before = _audit(media)
    media.description = text
    media.save(update_fields=["description"])
    trail.record(
        actor=editor, action="wall.media_update", obj=media, before=before, after=_audit(media)
    )
    if media.post is not None:
        _publish(media.post, "update")
    return media


def do_upload_for_post(
    actor: User | None, files: Sequence[UploadedFile], *, description: str = ""
) -> list[MediaAttachment]:
    """The composer page's images, uploaded before its post is made: all of them or none (a
    refused one removes those stored before it). More than a post takes is refused first."""
    if len(files) > MEDIA_PER_POST_MAX:
        raise ValidationFailed(
            f"A post has at most {MEDIA_PER_POST_MAX} images.", field="media_ids"
        )
    stored: list[MediaAttachment] = []
    try:
        for file in files:
            stored.append(do_upload_media(actor, file, description=description))
    except BaseException:
        if actor is not None:
            discard_uploads(actor, stored)
        raise
    return stored


def unattached_for(uploader: User, ids: Iterable[int]) -> dict[int, MediaAttachment]:
    """``uploader``'s images among ``ids`` that wait for a post (one query)."""
    return MediaAttachment.objects.filter(
        pk__in=list(ids), uploader=uploader, post__isnull=True
    ).in_bulk()


def discard_uploads(uploader: User, media: Iterable[MediaAttachment]) -> None:
    """Remove images a page uploaded for a post that was then refused (rows, then files)."""
    ids = [item.pk for item in media if item.uploader_id == uploader.pk and item.post_id is None]
    if ids:
        _remove(uploader, MediaAttachment.objects.filter(pk__in=ids, uploader=uploader))


def remove_unattached(now: datetime) -> int:
    """Remove uploads never attached to a post within ``UNATTACHED_TTL`` (rows, then their
    files once the deletion commits). The worker runs it (wall.tasks); returns how many."""
    return _remove(None, MediaAttachment.objects.filter(created_at__lt=now - UNATTACHED_TTL))


@transaction.atomic
def _remove(actor: User | None, candidates: QuerySet[MediaAttachment]) -> int:
    """Delete the ``candidates`` not on a post, with an audit entry each (``actor`` None: the
    system), and their files after the commit. A row attached to a post meanwhile (where the
    database cannot lock rows) stays, and so does its file."""
    found = list(candidates.filter(post__isnull=True).select_for_update(of=("self",)))
    if not found:
        return 0
    removed, _ = MediaAttachment.objects.filter(
        pk__in=[item.pk for item in found], post__isnull=True
    ).delete()
    kept = set(
        MediaAttachment.objects.filter(pk__in=[item.pk for item in found]).values_list(
            "pk", flat=True
        )
    )
    gone = [item for item in found if item.pk not in kept]
    trail.record_many(
        trail.Change(
            actor=actor,
            action="wall.media_remove",
            obj=item,
            before=_audit(item),
        )
        for item in gone
    )
    for item in gone:
        uploads.remove_after_commit(item.storage_name)
    return removed
