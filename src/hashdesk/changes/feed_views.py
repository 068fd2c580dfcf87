"""The calendar feeds as ``text/calendar`` (docs/changes.md, "Calendar feeds").

``calendar.ics`` and the per-service feed use the browser session (a signed-in person
subscribing from the same browser, or downloading); the personal feed is opened by its secret
alone, as calendar clients send no cookies. An unknown or revoked secret answers 404, as does a
service one may not see.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from hashdesk.catalog.models import Service
from hashdesk.changes import feeds
from hashdesk.core.visibility import visible_to
from hashdesk.web.requests import current_user

CONTENT_TYPE = "text/calendar; charset=utf-8"


def _ics(text: str, filename: str) -> HttpResponse:
    response = HttpResponse(text, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    # A feed is per person: no shared cache may keep it.
    response["Cache-Control"] = "private, no-cache"
    return response


@login_required
@require_GET
def all_changes(request: HttpRequest) -> HttpResponse:
    changes = feeds.all_changes(current_user(request))
    return _ics(feeds.calendar(changes, name="Changes"), "changes.ics")


@login_required
@require_GET
def service_changes(request: HttpRequest, slug: str) -> HttpResponse:
    viewer = current_user(request)
    service = visible_to(viewer, Service.objects.filter(slug=slug)).first()
    if service is None:
        raise Http404("No such service.")
    changes = feeds.service_changes(viewer, service)
    return _ics(feeds.calendar(changes, name=f"Changes: {service.name}"), f"{slug}.ics")


@require_GET
def personal_feed(request: HttpRequest, secret: str) -> HttpResponse:
    person = feeds.feed_owner(secret)
    if person is None:
        raise Http404("No such feed.")
    changes = feeds.my_changes(person)
    return _ics(feeds.calendar(changes, name="Changes that affect me"), "my-changes.ics")
