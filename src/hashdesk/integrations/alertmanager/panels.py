"""The incident page's "Publish" panel (``incidents.panels``, registered in ``apps.py``).

An open incident opened by a receiver with the human gate, and not public yet, shows the
staff a notice that it is hidden from the wall and the status page, with a *Publish* button
that posts to ``views.publish`` and comes back to the page. Requesters never see it; a public,
resolved or closed incident costs no query, any other incident viewed by staff one.
"""

from __future__ import annotations

from django.http import HttpRequest

from hashdesk.catalog.choices import Visibility
from hashdesk.core.visibility import is_staff
from hashdesk.incidents.choices import OPEN_STATES
from hashdesk.incidents.models import Incident
from hashdesk.incidents.panels import DetailPanel, Panel
from hashdesk.integrations.alertmanager.models import AlertGroup

TEMPLATE = "alertmanager/incident_panel.html"


def publish_panel(request: HttpRequest, incident: Incident) -> Panel | None:
    # Changing the visibility is staff business (incidents.actions.do_update_incident).
    if not is_staff(request.user):
        return None
    if incident.state not in OPEN_STATES or incident.visibility == Visibility.PUBLIC:
        return None
    group = (
        AlertGroup.objects.filter(incident=incident, receiver__human_gate=True)
        .select_related("receiver")
        .first()
    )
    if group is None:
        return None
    return Panel(TEMPLATE, {"receiver": group.receiver})


PUBLISH_PANEL = DetailPanel(key="alertmanager-publish", render=publish_panel, order=10)
