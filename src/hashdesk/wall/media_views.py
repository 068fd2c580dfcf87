"""The file of a wall image (docs/wall.md, "Images"): ``/wall/media/<id>/<filename>``.

Looked up through ``core.visibility`` by id and file name, so an image the viewer may not see
(its post hidden, deleted, of another team or a confidential service; another person's upload
not on a post yet) is a 404, and so is every image for someone not signed in. The viewer is the
browser session, or a personal token in ``Authorization: Bearer`` (API clients fetching the
``url`` of a post's media); a presented token decides alone, as in the API. A signed
``?link=`` (``media.media_link``, in the Mastodon API's statuses) opens the image without
either, for a day, while its post stays up. Served inline with
``core.uploads``' headers: ``nosniff``, a sandboxing Content-Security-Policy, private caching.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_safe

from hashdesk.accounts.tokens import authenticate_token
from hashdesk.core import uploads
from hashdesk.core.errors import NotFound
from hashdesk.core.visibility import visible_to
from hashdesk.wall import media
from hashdesk.wall import visibility as wall_visibility
from hashdesk.wall.models import MediaAttachment


def _viewer(request: HttpRequest) -> Any:
    header = request.headers.get("Authorization", "")
    if not header:
        return request.user
    scheme, _, raw = header.partition(" ")
    token = authenticate_token(raw.strip()) if scheme.lower() == "bearer" else None
    return token.user if token is not None else AnonymousUser()


@require_safe
def download(request: HttpRequest, media_id: int, filename: str) -> HttpResponseBase:
    link = request.GET.get("link")
    if link is not None:
        # A signed link (media.media_link) stands for the viewer it was handed to.
        if not media.link_opens(media_id, link):
            raise Http404("No such image.")
        images = MediaAttachment.objects.filter(wall_visibility.linked_media())
    else:
        images = visible_to(_viewer(request), MediaAttachment.objects.all())
    image = images.filter(pk=media_id, filename=filename).first()
    if image is None:
        raise Http404("No such image.")
    try:
        stream = uploads.open_stored(
            image.storage_name,
            what=f"wall image {image.pk}",
            missing="The file of this image is missing; tell the service desk.",
        )
    except NotFound as error:
        raise Http404(error.detail) from None
    response = uploads.file_response(
        stream, filename=image.filename, content_type=image.content_type, inline=True
    )
    if link is not None:
        # Browser apps on their own origin show it in an <img>; the signed link is the
        # permission, so the same-origin rule of other files would only break them.
        response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response
