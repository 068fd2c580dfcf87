"""Which event a rendered page reflects, so its live connection resumes from exactly there.

A page is the state up to some event id; its browser then connects to the event server with
that id (``body[data-last-event-id]``, read by live.js) and receives every later event. Reading
the id *before* the view reads its data keeps that promise: anything committed after the id is
delivered, and at worst an event already reflected in the page arrives once more, which page
modules treat as "may have changed". :func:`live_page` does that for a view; pages without it
read the id while rendering, which is good enough for the shell's bell.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse

from hashdesk.core.models import Event

ATTRIBUTE = "hashdesk_last_event_id"


def newest_event_id() -> int | None:
    """The newest event's id; None when the log is empty (everything pruned, or a new install).

    With None the browser says hello without an id and starts from the server's present: an
    empty log has no id to resume from that the server would accept.
    """
    return Event.objects.order_by("-id").values_list("id", flat=True).first()


def live_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            setattr(request, ATTRIBUTE, newest_event_id())
        return view(request, *args, **kwargs)

    return wrapper


def last_event_id(request: HttpRequest) -> int | None:
    if hasattr(request, ATTRIBUTE):
        value: int | None = getattr(request, ATTRIBUTE)
        return value
    return newest_event_id()
