"""The major-incident banner: ``{% major_banner %}`` at the top of every page of the shell, and
``{% service_major_banner service %}`` on a service's page for majors on it or on what it
depends on.

One query per request for signed-in people (shared by both tags), none for anonymous visitors;
the service banner reads the dependency graph only while a major incident is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template
from django.http import HttpRequest
from django.utils import timezone

from hashdesk.catalog.graph import upstream_services
from hashdesk.catalog.models import Service
from hashdesk.core.visibility import is_signed_in
from hashdesk.incidents.major import open_major_incidents, update_overdue
from hashdesk.incidents.models import Incident

register = template.Library()

TEMPLATE = "incidents/includes/major_banner.html"
# Where the request keeps the open major incidents once read, for the second tag on a page.
_CACHE = "_hashdesk_open_majors"


@dataclass(frozen=True)
class BannerItem:
    incident: Incident
    overdue: bool
    # On a service's page: the incident is on this very service (not on one it depends on).
    direct: bool = True


def _open_majors(request: HttpRequest | None) -> list[Incident]:
    user = getattr(request, "user", None)
    if request is None or not is_signed_in(user):
        return []
    if not hasattr(request, _CACHE):
        majors = list(open_major_incidents(user).select_related("service"))
        setattr(request, _CACHE, majors)
    cached: list[Incident] = getattr(request, _CACHE)
    return cached


@register.inclusion_tag(TEMPLATE, takes_context=True)
def major_banner(context: template.Context) -> dict[str, Any]:
    """Every open major incident the viewer may see."""
    now = timezone.now()
    majors = _open_majors(context.get("request"))
    return {"majors": [BannerItem(incident, update_overdue(incident, now)) for incident in majors]}


@register.inclusion_tag(TEMPLATE, takes_context=True)
def service_major_banner(context: template.Context, service: Service) -> dict[str, Any]:
    """Open major incidents on ``service`` or on a service it depends on."""
    majors = _open_majors(context.get("request"))
    if not majors:
        return {"majors": [], "service": service}
    # The graph is read only while a major incident is open.
    upstream = {other.pk for other in upstream_services(service)}
    now = timezone.now()
    items = [
        BannerItem(incident, update_overdue(incident, now), incident.service_id == service.pk)
        for incident in majors
        if incident.service_id == service.pk or incident.service_id in upstream
    ]
    return {"majors": items, "service": service}
