"""``{% change_suspects incident %}``: on an incident's page, for staff, the changes that may
have caused it — the correlation scores of changes/correlation.py, best first, with their parts —
so "last night's change" is in front of whoever triages this morning's calls. Nothing, and no
query, for anyone else."""

from __future__ import annotations

from typing import Any

from django import template

from hashdesk.changes.models import Change, ChangeIncident
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.incidents.models import Incident

register = template.Library()
# Below this a link is noise on the incident page (the change's review still lists it).
SHOWN_FROM = 0.4
SHOWN_MAX = 3


@register.inclusion_tag("changes/includes/incident_suspects.html", takes_context=True)
def change_suspects(context: dict[str, Any], incident: Incident) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not is_staff(user):
        return {"show": False}
    links = [
        link
        for link in ChangeIncident.objects.filter(
            incident=incident,
            change__in=visible_to(user, Change.objects.all()),
        )
        .select_related("change")
        .order_by("-confirmed", "-score", "id")[: SHOWN_MAX * 2]
        if not link.evidence.get("dismissed") and (link.confirmed or link.score >= SHOWN_FROM)
    ][:SHOWN_MAX]
    return {"show": bool(links), "links": links}
