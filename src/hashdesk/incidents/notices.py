"""Telling the people of an incident what happened to it: everyone affected and following
hears of the desk's public updates and of its resolution (in-app notifications; email and the
other channels of the notification issue build on this).

Confidential incidents are told to staff only: requesters may be recorded on one, but only
staff may know of it. A constant number of queries, however many people there are.
"""

from __future__ import annotations

from django.db.models import Q

from hashdesk.accounts.models import User
from hashdesk.core.visibility import staff_condition
from hashdesk.incidents.linking import incident_url, is_confidential
from hashdesk.incidents.models import AffectedUser, Incident, IncidentFollower
from hashdesk.notify.actions import do_notify_many


def involved_people(incident: Incident) -> Q:
    return Q(pk__in=AffectedUser.objects.filter(incident=incident).values("user_id")) | Q(
        pk__in=IncidentFollower.objects.filter(incident=incident).values("user_id")
    )


def tell_involved(
    incident: Incident, actor: User | None, *, kind: str, title: str, body: str
) -> None:
    """One notification to each affected person and follower (not the one who acted)."""
    people = User.objects.filter(involved_people(incident), is_active=True)
    if actor is not None:
        people = people.exclude(pk=actor.pk)
    if is_confidential(incident):
        people = people.filter(pk__in=User.objects.filter(staff_condition()).values("pk"))
    do_notify_many(people, kind=kind, title=title, body=body, url=incident_url(incident))


def excerpt(text: str, limit: int = 280) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
