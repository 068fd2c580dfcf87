"""Downloads of files shared in chat rooms (``/chat/attachments/<id>/<filename>``).

Looked up through ``core.visibility`` by id and file name: a file is seen with its message, an
unsent one by its uploader only; anything else is a 404. Served by ``core.uploads`` so that a
browser never runs it (downloads, images inline; ``nosniff``, a sandboxing policy).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_safe

from hashdesk.chat.messages import attachment_response
from hashdesk.chat.models import ChatAttachment
from hashdesk.core.errors import NotFound
from hashdesk.core.visibility import visible_to
from hashdesk.web.requests import current_user


@login_required
@require_safe
def download(request: HttpRequest, attachment_id: int, filename: str) -> HttpResponseBase:
    attachment = get_object_or_404(
        visible_to(current_user(request), ChatAttachment.objects.all()),
        pk=attachment_id,
        filename=filename,
    )
    try:
        return attachment_response(attachment)
    except NotFound as error:
        raise Http404(error.detail) from None
