"""Who a change concerns: the people who use or follow its affected services (docs/changes.md,
"Communication"), and the people who watch a change (changes.watching).

Someone uses or follows a service when they follow it on the wall, were affected by an incident
on it in the last ``INCIDENT_MEMORY`` (the reporter and everyone who said "me too"), or are in
its chat room. The same rule picks the recipients of announcements and the changes of a
person's calendar feed, so what people are told and what their calendar shows agree.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.changes.models import Change, ChangeWatcher
from hashdesk.chat.choices import RoomKind
from hashdesk.chat.models import Membership
from hashdesk.core.visibility import staff_condition
from hashdesk.incidents.models import AffectedUser
from hashdesk.wall.choices import FollowKind
from hashdesk.wall.models import Follow

INCIDENT_MEMORY = timedelta(days=90)


def is_restricted(services: Collection[Service]) -> bool:
    """A change on a confidential service is staff business: only staff may see it
    (changes.visibility), so only staff are told about it."""
    return any(service.visibility == Visibility.CONFIDENTIAL for service in services)


def _followers(service_ids: Collection[int]) -> QuerySet[Follow]:
    return Follow.objects.filter(kind=FollowKind.SERVICE, target_id__in=service_ids)


def _recently_affected(service_ids: Collection[int], since: datetime) -> QuerySet[AffectedUser]:
    return AffectedUser.objects.filter(
        incident__service_id__in=service_ids, incident__created_at__gte=since
    )


def _room_members(service_ids: Collection[int]) -> QuerySet[Membership]:
    return Membership.objects.filter(room__kind=RoomKind.SERVICE, room__service_id__in=service_ids)


def people_concerned(
    services: Collection[Service], *, now: datetime | None = None, change: Change | None = None
) -> QuerySet[User]:
    """Active people who use or follow any of ``services`` — and, given the ``change``, who
    watch it — each once, and who may see them all (staff only when one is confidential).
    One query when evaluated."""
    ids = [service.pk for service in services]
    since = (now or timezone.now()) - INCIDENT_MEMORY
    concerned = (
        Q(pk__in=_followers(ids).values("user_id"))
        | Q(pk__in=_recently_affected(ids, since).values("user_id"))
        | Q(pk__in=_room_members(ids).values("user_id"))
    )
    if change is not None:
        concerned |= Q(pk__in=ChangeWatcher.objects.filter(change=change).values("user_id"))
    people = User.objects.filter(is_active=True).filter(concerned)
    if is_restricted(services):
        # A subquery, not a join on roles: a join would repeat people with several roles.
        people = people.filter(pk__in=User.objects.filter(staff_condition()).values("pk"))
    return people.order_by("pk")


def services_of(person: User, *, now: datetime | None = None) -> QuerySet[Service]:
    """The services ``person`` uses or follows (the same rule, seen from the person)."""
    since = (now or timezone.now()) - INCIDENT_MEMORY
    return Service.objects.filter(
        Q(pk__in=Follow.objects.filter(kind=FollowKind.SERVICE, user=person).values("target_id"))
        | Q(
            pk__in=AffectedUser.objects.filter(user=person, incident__created_at__gte=since).values(
                "incident__service_id"
            )
        )
        | Q(
            pk__in=Membership.objects.filter(user=person, room__kind=RoomKind.SERVICE).values(
                "room__service_id"
            )
        )
    )
