"""Changes and the people they concern, for the communication, feed and check tests.

A change is written as the record the change actions leave once it is scheduled (its chosen
services), so these tests drive ``announcements.plan`` themselves with a fake clock; the path
through the lifecycle (which calls plan) is tested end to end in test_feeds.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.changes.choices import AffectedReason, ChangeState
from hashdesk.changes.models import AffectedService, Change
from hashdesk.chat import actions as chat_actions
from hashdesk.chat.choices import RoomKind
from hashdesk.chat.models import Room
from hashdesk.incidents import actions as incident_actions
from hashdesk.wall import actions as wall_actions


def a_week_ahead() -> datetime:
    """Now, and a whole hour seven days ahead: far enough for every notice before the start."""
    return timezone.now().replace(minute=0, second=0, microsecond=0) + timedelta(days=7)


def scheduled_change(
    requester: User,
    services: Iterable[Service],
    start: datetime,
    *,
    hours: int = 2,
    state: str = ChangeState.SCHEDULED,
    time_zone: str = "UTC",
    summary: str = "Firmware upgrade of the VPN concentrator",
    owner: User | None = None,
) -> Change:
    change = Change.objects.create(
        summary=summary,
        state=state,
        requester=requester,
        owner=owner or requester,
        planned_start=start,
        planned_end=start + timedelta(hours=hours),
        time_zone=time_zone,
    )
    change.number = f"CHG-{change.pk:06d}"
    change.save(update_fields=["number"])
    AffectedService.objects.bulk_create(
        AffectedService(change=change, service=service, reason=AffectedReason.CHOSEN)
        for service in services
    )
    return change


def follows(person: User, service: Service) -> None:
    wall_actions.do_follow(person, "service", service)


def in_room_of(person: User, service: Service) -> None:
    chat_actions.do_join_room(person, Room.objects.get(kind=RoomKind.SERVICE, service=service))


def affected_by_incident_on(person: User, service: Service) -> None:
    incident_actions.do_create_incident(
        person, title="It is down", description="Since this morning.", service=service
    )
