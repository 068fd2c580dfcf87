"""Incidents announced to subscribers without an account: the status page's email subscribers
and the organisation's chat-tool channels (hashdesk.notify.announcements; docs/incidents.md).

The incident actions call :func:`announce_incident` inside their transaction when a major
incident is declared, updated or resolved, and when an incident that shows on the status page
(P1 to P3, or major) is opened, gets a public update from the desk, or is resolved. Who may hear
of it follows the incident's visibility: a confidential incident (or one on a confidential
service) is announced to nobody here, an internal one only to receivers for signed-in people,
and a public incident on a public service to everyone.
"""

from __future__ import annotations

from collections.abc import Sequence

from hashdesk.catalog.choices import Visibility
from hashdesk.incidents.choices import Priority
from hashdesk.incidents.linking import incident_url, is_confidential
from hashdesk.incidents.models import Incident
from hashdesk.notify.announcements import Announcement, announce

# The least severe priority that still shows on the status page (status/states.py).
STATUS_PAGE_PRIORITY = Priority.P3

_TITLES = {
    "incident.opened": "New incident {number}: {title}",
    "incident.update": "Update on {number}: {title}",
    "incident.resolved": "Resolved: {number} {title}",
    "incident.major_declared": "Major incident {number}: {title}",
    "incident.official_update": "Update on {number}: {title}",
    "incident.major_resolved": "Resolved: {number} {title}",
}


def incident_audience(incident: Incident) -> str:
    """Who may hear of ``incident``: CONFIDENTIAL, INTERNAL, or PUBLIC (only a public incident
    on a public service)."""
    if is_confidential(incident):
        return Visibility.CONFIDENTIAL
    if (
        incident.visibility == Visibility.PUBLIC
        and incident.service.visibility == Visibility.PUBLIC
    ):
        return Visibility.PUBLIC
    return Visibility.INTERNAL


def shows_on_status_page(incident: Incident) -> bool:
    return incident.is_major or incident.priority <= STATUS_PAGE_PRIORITY


def announce_incident(
    incident: Incident,
    kind: str,
    *,
    key: str,
    body: str = "",
    service_ids: Sequence[int] | None = None,
) -> bool:
    """Announce ``kind`` of ``incident`` (one of the kinds in ``_TITLES``); ``body`` is text
    already redacted and public (an update's entry body, the resolution notes). ``key`` is
    unique per announcement and stable if the caller runs again. Returns whether it was
    offered to the receivers."""
    if kind not in _TITLES:
        raise ValueError(f"unknown incident announcement {kind!r}")
    if not shows_on_status_page(incident):
        return False
    audience = incident_audience(incident)
    if audience == Visibility.CONFIDENTIAL:
        return False
    if service_ids is None:
        # Imported here: incidents.major builds on the incident actions, which call this.
        from hashdesk.incidents.major import announced_service_ids

        service_ids = announced_service_ids(incident)
    announce(
        Announcement(
            kind=kind,
            key=key,
            service_ids=tuple(service_ids),
            title=_TITLES[kind].format(number=incident.number, title=incident.title),
            body=body,
            url=incident_url(incident),
            audience=audience,
            thread=f"incident/{incident.number}",
        )
    )
    return True


def resolution_key(incident: Incident, *, major: bool = False) -> str:
    """The announcement key of a resolution: a reopened incident resolved again is a new one."""
    moment = incident.resolved_at.timestamp() if incident.resolved_at else 0
    return f"incident:{incident.pk}:{'major_resolved' if major else 'resolved'}:{moment:.6f}"


def announce_opened(incidents: Sequence[Incident]) -> int:
    """``incident.opened`` for each newly recorded incident on a public service that shows on
    the status page; returns how many were announced. A new incident is internal unless
    recorded otherwise, so it reaches the receivers for signed-in people only."""
    announced = 0
    for incident in incidents:
        if incident.service.visibility != Visibility.PUBLIC or not shows_on_status_page(incident):
            continue
        announced += announce_incident(
            incident,
            "incident.opened",
            key=f"incident:{incident.pk}:opened",
            body=f"{incident.get_priority_display()} on {incident.service.name}.",
        )
    return announced
