"""Mastodon's media endpoints over the wall's images (docs/integrations/mastodon.md, "Media").

An app uploads an image first (``POST /api/v1/media`` or ``/api/v2/media``) and names it in
``media_ids[]`` when posting, as it would on Mastodon. Every write is the wall's own action
(``wall.media``: checked, re-encoded without metadata, audited), so an image sent from a
Mastodon app is stored exactly like one from the composer page or the wall's API. Processing is
synchronous, so the v2 upload answers 200 with its ``url`` (Mastodon's 202 means "still
processing"). ``focus`` is checked and then ignored: the wall keeps no focal point.
"""

from __future__ import annotations

import math
from typing import Any, BinaryIO, cast

from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError

from hashdesk.core.errors import NotFound, UnsupportedMediaType
from hashdesk.integrations.mastodon import entities, responses
from hashdesk.integrations.mastodon.responses import Caller, MastodonError, endpoint
from hashdesk.wall import media
from hashdesk.wall.api_media import media_for
from hashdesk.wall.models import MediaAttachment

# Mastodon asks for write:media (or write) for every media endpoint, reading included.
WRITE_MEDIA = {"GET": "write:media", "POST": "write:media", "PUT": "write:media"}


def _invalid(message: str) -> MastodonError:
    return MastodonError(422, f"Validation failed: {message}")


def check_focus(raw: Any) -> tuple[float, float] | None:
    """``focus`` as Mastodon takes it: ``"x,y"``, each between -1.0 and 1.0 (None if absent)."""
    text = str(raw or "").strip()
    if not text:
        return None
    try:
        x, y = (float(part) for part in text.split(","))
    except ValueError:  # not numbers, or not two of them
        x = y = math.nan
    if not all(-1.0 <= value <= 1.0 for value in (x, y)):  # NaN compares false
        raise _invalid("focus must be two numbers between -1.0 and 1.0, as x,y")
    return x, y


def _own_media(caller: Caller, media_id: str) -> MediaAttachment:
    """The caller's own image ``media_id``, on a post or waiting for one; anyone else's (even
    one on a post they may read) is 404, as on Mastodon."""
    if not media_id.isdigit() or len(media_id) > 18:
        raise NotFound("No such image.")
    found = media_for(caller.person, int(media_id))
    if found.uploader_id != caller.person.pk:
        raise NotFound("No such image.")
    return found


def _put_params(request: HttpRequest) -> Any:
    """A PUT's parameters: Django parses form bodies of POST requests only."""
    if request.content_type == "multipart/form-data":
        # A ``thumbnail`` (Mastodon's, for audio and video) is received and dropped.
        try:
            # The request streams its own body (Django reads POST uploads the same way).
            data, _files = request.parse_file_upload(request.META, cast(BinaryIO, request))
        except MultiPartParserError as exc:
            raise _invalid("the multipart body could not be read") from exc
        return data
    if request.content_type == "application/x-www-form-urlencoded":
        return QueryDict(request.body, encoding=request.encoding)
    return responses.params(request)


@endpoint("POST", scope=WRITE_MEDIA)
def media_upload(request: HttpRequest, caller: Caller) -> HttpResponse:
    """``POST /api/v1/media`` and ``/api/v2/media`` (multipart ``file``, ``description``,
    ``focus``) → the MediaAttachment, processed already (200 from both)."""
    person = caller.person
    check_focus(request.POST.get("focus"))
    upload = request.FILES.get("file")
    if upload is None:
        raise _invalid("file must be an image sent as multipart/form-data")
    try:
        image = media.do_upload_media(
            person, upload, description=str(request.POST.get("description") or "")
        )
    except UnsupportedMediaType as exc:
        # Mastodon refuses a file of the wrong type with 422, not 415.
        raise _invalid(exc.detail) from None
    return responses.ok(entities.media_attachment(image))


@endpoint("GET", "PUT", scope=WRITE_MEDIA)
def media_detail(request: HttpRequest, caller: Caller, media_id: str) -> HttpResponse:
    """``GET /api/v1/media/:id``: your image; ``PUT`` (``description``, ``focus``) changes its
    description through the wall's action (on a post too: its audience sees the update)."""
    image = _own_media(caller, media_id)
    if request.method == "PUT":
        values = _put_params(request)
        check_focus(values.get("focus"))
        if "description" in values:
            image = media.do_update_media(
                caller.person, image, description=str(values.get("description") or "")
            )
    return responses.ok(entities.media_attachment(image))
