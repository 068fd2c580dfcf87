"""Telling the people of an incident what happened to it: everyone affected and following
hears of the desk's public updates and of its resolution (in-app notifications; email and the
other channels of the notification issue build on this).

Confidential incidents are told to staff only: requesters may be recorded on one, but only
staff may know of it. A constant number of queries, however many people there are.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db.models import Q, QuerySet

from hashdesk.accounts.models import User
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
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


def service_subscribers(service_ids: Collection[int]) -> Q:
    """People who follow any of the services on the wall, or the hashtag bound to one of them."""
    from hashdesk.wall.choices import FollowKind
    from hashdesk.wall.models import Follow, Hashtag

    hashtags = Hashtag.objects.filter(service_id__in=service_ids).values("pk")
    return Q(
        pk__in=Follow.objects.filter(kind=FollowKind.SERVICE, target_id__in=service_ids).values(
            "user_id"
        )
    ) | Q(
        pk__in=Follow.objects.filter(kind=FollowKind.HASHTAG, target_id__in=hashtags).values(
            "user_id"
        )
    )


def major_audience(incident: Incident, service_ids: Collection[int]) -> QuerySet[User]:
    """Who hears of a major incident (PRODUCT.md story 3): everyone affected and following, and
    — when the incident is public — the subscribers of the announced services (its own and the
    dependents ``announced_service_ids`` chose), each once; a confidential one reaches staff
    only, and a confidential service's followers are heard only when they are staff."""
    involved = involved_people(incident)
    if incident.visibility != Visibility.PUBLIC or is_confidential(incident):
        condition = involved
    else:
        levels = dict(Service.objects.filter(pk__in=service_ids).values_list("pk", "visibility"))
        open_ids = [pk for pk in service_ids if levels.get(pk) != Visibility.CONFIDENTIAL]
        closed_ids = [pk for pk in service_ids if levels.get(pk) == Visibility.CONFIDENTIAL]
        condition = involved | service_subscribers(open_ids)
        if closed_ids:
            staff = Q(pk__in=User.objects.filter(staff_condition()).values("pk"))
            condition |= service_subscribers(closed_ids) & staff
    people = User.objects.filter(condition, is_active=True)
    if is_confidential(incident):
        people = people.filter(pk__in=User.objects.filter(staff_condition()).values("pk"))
    return people


def tell_major_audience(
    incident: Incident,
    actor: User | None,
    service_ids: Collection[int],
    *,
    kind: str,
    title: str,
    body: str,
) -> None:
    """One notification to each person of :func:`major_audience` (not the one who acted): one
    query for the people, one insert of notifications and one of outbox rows, however many."""
    people = major_audience(incident, service_ids)
    if actor is not None:
        people = people.exclude(pk=actor.pk)
    do_notify_many(
        people.order_by("pk"), kind=kind, title=title, body=body, url=incident_url(incident)
    )


def excerpt(text: str, limit: int = 280) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
