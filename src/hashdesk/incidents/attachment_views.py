"""Attachment pages: the upload form's target on the incident page, and downloads.

A download is looked up through ``core.visibility`` by incident number, id and file name, so
an attachment the viewer may not see (internal, or on an incident they may not see) is a 404.
Files are served so that a browser never runs them: as downloads (images inline), with
``nosniff`` and a sandboxing Content-Security-Policy. The upload's rules and its errors come
from ``incidents.attachments``; the page shows each refusal as a message.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from hashdesk.core.errors import DomainError, NotFound
from hashdesk.core.uploads import file_response
from hashdesk.core.visibility import visible_to
from hashdesk.incidents.attachments import do_add_attachment, open_stored, served_content_type
from hashdesk.incidents.models import Attachment, Incident
from hashdesk.web.forms import raise_if_forbidden
from hashdesk.web.requests import current_user


def attachment_response(attachment: Attachment) -> FileResponse:
    """The stored bytes with the headers every download gets (the pages and the API)."""
    return file_response(
        open_stored(attachment),
        filename=attachment.filename,
        content_type=served_content_type(attachment),
        # Images are shown in the browser; everything else is saved, never opened in place.
        inline=attachment.content_type.startswith("image/"),
    )


@login_required
@require_POST
def upload(request: HttpRequest, number: str) -> HttpResponse:
    user = current_user(request)
    incident = get_object_or_404(visible_to(user, Incident.objects.all()), number=number)
    back = reverse("incidents:detail", args=[incident.number]) + "#attachments"
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a file to attach.")
        return redirect(back)
    internal = request.POST.get("internal", "") in {"1", "on", "true"}
    try:
        attachment = do_add_attachment(user, incident, upload=upload, public=not internal)
    except DomainError as error:
        raise_if_forbidden(error)
        messages.error(request, error.detail)
    else:
        note = " as an internal file (staff only)" if not attachment.is_public else ""
        messages.success(request, f"{attachment.filename} is attached{note}.")
    return redirect(back)


@login_required
@require_safe
def download(request: HttpRequest, number: str, pk: int, filename: str) -> HttpResponseBase:
    user = current_user(request)
    attachment = get_object_or_404(
        visible_to(user, Attachment.objects.all()),
        pk=pk,
        incident__number=number,
        filename=filename,
    )
    try:
        return attachment_response(attachment)
    except NotFound as error:
        raise Http404(error.detail) from None
