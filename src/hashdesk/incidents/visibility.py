"""Visibility rules for incidents (registered with hashdesk.core.visibility).

Staff see every incident. A signed-in requester sees, on services they may see and never when
the incident is confidential: what they reported, are affected by or follow, and incidents
marked public. Anonymous visitors see none (the status page shows its own announcements).
"""

from django.db.models import Q

from hashdesk.catalog.choices import Visibility
from hashdesk.core import visibility
from hashdesk.incidents.models import (
    AffectedUser,
    Attachment,
    Incident,
    IncidentFollower,
    IncidentLink,
    SavedView,
    TimelineEntry,
)


@visibility.register(Incident)
def incidents_visible(user: visibility.Viewer) -> Q:
    if visibility.is_staff(user):
        return Q()
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    # Subqueries rather than joins: joining the many-valued relations would repeat rows.
    involved = (
        Q(reporter_id=user.pk)
        | Q(pk__in=AffectedUser.objects.filter(user_id=user.pk).values("incident_id"))
        | Q(pk__in=IncidentFollower.objects.filter(user_id=user.pk).values("incident_id"))
        | Q(visibility=Visibility.PUBLIC)
    )
    return (
        involved
        & ~Q(visibility=Visibility.CONFIDENTIAL)
        & Q(service__visibility__in=visibility.visibility_levels(user))
    )


def _visible_incident_ids(user: visibility.Viewer) -> Q:
    return Q(incident__in=Incident.objects.filter(incidents_visible(user)).values("pk"))


@visibility.register(TimelineEntry)
def timeline_visible(user: visibility.Viewer) -> Q:
    if visibility.is_staff(user):
        return Q()
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    # Work notes and other internal entries are staff only, whatever the incident.
    return Q(is_public=True) & _visible_incident_ids(user)


@visibility.register(AffectedUser)
def affected_visible(user: visibility.Viewer) -> Q:
    if visibility.is_staff(user):
        return Q()
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    return _visible_incident_ids(user)


@visibility.register(IncidentFollower)
def followers_visible(user: visibility.Viewer) -> Q:
    return affected_visible(user)


@visibility.register(Attachment)
def attachments_visible(user: visibility.Viewer) -> Q:
    if visibility.is_staff(user):
        return Q()
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    # Internal attachments, like work notes, are staff only.
    return Q(is_public=True) & _visible_incident_ids(user)


@visibility.register(IncidentLink)
def links_visible(user: visibility.Viewer) -> Q:
    if visibility.is_staff(user):
        return Q()
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    # A link shows only when the viewer may see both ends.
    seen = Incident.objects.filter(incidents_visible(user)).values("pk")
    return Q(from_incident__in=seen) & Q(to_incident__in=seen)


@visibility.register(SavedView)
def saved_views_visible(user: visibility.Viewer) -> Q:
    # Saved views are personal: each person sees their own.
    if not visibility.is_signed_in(user):
        return Q(pk__in=[])
    return Q(owner_id=user.pk)
