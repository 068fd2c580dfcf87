"""Images for wall posts (docs/api.md, "Wall images"; docs/wall.md, "Images").

As with Mastodon's media attachments, an image is uploaded first and then named by id in
``media_ids`` when posting (``POST /wall/posts``, ``/wall/posts/batch``). Lookups go through
``core.visibility`` (an image is seen where its post is; one not on a post yet, by its uploader
only); every write calls ``wall.media``, the same actions the composer page calls.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import File, Form, Router, Status, UploadedFile

from hashdesk.accounts.models import User
from hashdesk.api.auth import acting_user
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, ObjectId, with_errors
from hashdesk.core.errors import NotFound
from hashdesk.core.visibility import visible_to
from hashdesk.wall import media
from hashdesk.wall.models import MediaAttachment
from hashdesk.wall.schemas import MediaOut, MediaUpdate

router = Router(tags=["wall"])

UPLOAD_ERRORS = (*WRITE_ERRORS, 415)


def media_for(user: User, media_id: int) -> MediaAttachment:
    """Image ``media_id`` if ``user`` may see it."""
    found = visible_to(user, MediaAttachment.objects.all()).filter(pk=media_id).first()
    if found is None:
        raise NotFound("No such image.")
    return found


@router.post("wall/media", response=with_errors({201: MediaOut}, UPLOAD_ERRORS))
def upload_media(
    request: HttpRequest,
    file: File[UploadedFile],
    description: Form[str] = "",
) -> Status[dict[str, Any]]:
    """Upload an image for a post to come (multipart/form-data, field ``file``; optional
    ``description``, the alternative text). PNG, JPEG, GIF or WebP, decided by the content;
    stored re-encoded without metadata (EXIF, GPS). Not such an image: 415; too large (bytes
    or pixels): 413; damaged: 422. Rate limited per person (429). Attach it with ``media_ids``
    within a day, or it is removed."""
    user = acting_user(request)
    image = media.do_upload_media(user, file, description=description)
    return Status(201, media.media_snapshot(image))


@router.get("wall/media/{int:media_id}", response=with_errors({200: MediaOut}, READ_ERRORS))
def get_media(request: HttpRequest, media_id: ObjectId) -> dict[str, Any]:
    """An image you may see: one on a post you may see, or your own upload."""
    return media.media_snapshot(media_for(acting_user(request), media_id))


@router.put("wall/media/{int:media_id}", response=with_errors({200: MediaOut}, WRITE_ERRORS))
def update_media(request: HttpRequest, media_id: ObjectId, payload: MediaUpdate) -> dict[str, Any]:
    """Change an image's description (its uploader only)."""
    user = acting_user(request)
    image = media.do_update_media(user, media_for(user, media_id), description=payload.description)
    return media.media_snapshot(image)
