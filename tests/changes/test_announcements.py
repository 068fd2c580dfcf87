"""Announcing changes by themselves: planned notices, sending each once, moves, cancellations,
start and completion, and who is told (docs/changes.md, "Communication")."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.changes import announcements
from hashdesk.changes.choices import ChangeState
from hashdesk.changes.models import Change, ChangeAnnouncement
from hashdesk.notify.models import Notification
from hashdesk.wall.choices import PostKind
from hashdesk.wall.models import Post
from tests.changes.comms_support import (
    a_week_ahead,
    affected_by_incident_on,
    follows,
    in_room_of,
    scheduled_change,
)

pytestmark = pytest.mark.django_db


def told(person: User, kind: str | None = None) -> list[Notification]:
    found = Notification.objects.filter(recipient=person, kind__startswith="change.")
    if kind is not None:
        found = found.filter(kind=kind)
    return list(found.order_by("pk"))


def planned(change: Change) -> list[tuple[str, int, Any]]:
    return list(
        ChangeAnnouncement.objects.filter(change=change, sent_at__isnull=True)
        .order_by("due_at")
        .values_list("moment", "sequence", "due_at")
    )


def schedule(change: Change, now: Any) -> ChangeAnnouncement | None:
    return announcements.plan(change, "scheduled", now=now)


def test_scheduling_tells_people_now_and_plans_three_days_one_hour_and_the_start(
    requester: User, vpn_agent: User, other_requester: User, vpn_service: Service
) -> None:
    start = a_week_ahead()
    now = start - timedelta(days=7)
    follows(requester, vpn_service)
    change = scheduled_change(vpn_agent, [vpn_service], start, time_zone="Europe/Madrid")

    sent = schedule(change, now)

    assert sent is not None and sent.moment == "scheduled" and sent.sent_at == now
    assert sent.recipients == 1
    assert planned(change) == [
        ("before_3d", 0, start - timedelta(days=3)),
        ("before_1h", 0, start - timedelta(hours=1)),
        ("start", 0, start),
    ]
    [notice] = told(requester)
    assert notice.kind == "change.scheduled"
    assert notice.title == f"Planned change: {change.number} {change.summary}"
    # Local time with its zone, and what is affected.
    local = start.astimezone(announcements.ZoneInfo("Europe/Madrid"))
    assert f"{local:%a %d %b %Y %H:%M}" in notice.body
    assert "Europe/Madrid" in notice.body
    assert "Affects: VPN." in notice.body
    assert notice.url == f"/changes/{change.number}/"
    assert told(other_requester) == []
    # The service's timeline carries it as the desk speaking, by the change's owner.
    [post] = Post.objects.filter(service=vpn_service)
    assert post.kind == PostKind.OFFICIAL and post.author == vpn_agent
    assert change.summary in post.body


def test_a_notice_due_later_is_not_planned_when_its_time_has_passed(
    vpn_agent: User, vpn_service: Service
) -> None:
    start = a_week_ahead()
    change = scheduled_change(vpn_agent, [vpn_service], start)

    schedule(change, start - timedelta(hours=5))

    assert [moment for moment, _, _ in planned(change)] == ["before_1h", "start"]


def test_announce_before_follows_the_setting(
    settings: Any, vpn_agent: User, vpn_service: Service
) -> None:
    settings.CHANGE_ANNOUNCE_BEFORE = [timedelta(hours=24), timedelta(minutes=30)]
    start = a_week_ahead()
    change = scheduled_change(vpn_agent, [vpn_service], start)

    schedule(change, start - timedelta(days=7))

    assert [moment for moment, _, _ in planned(change)] == ["before_1d", "before_30m", "start"]


def test_due_notices_are_sent_once(
    requester: User, vpn_agent: User, vpn_service: Service, capture_events: Callable[[], Any]
) -> None:
    start = a_week_ahead()
    follows(requester, vpn_service)
    change = scheduled_change(vpn_agent, [vpn_service], start)
    schedule(change, start - timedelta(days=7))

    assert announcements.send_due(start - timedelta(days=4)) == 0
    with capture_events() as events:
        assert announcements.send_due(start - timedelta(days=3)) == 1
    assert announcements.send_due(start - timedelta(days=3)) == 0
    assert announcements.send_due(start - timedelta(hours=2)) == 0

    assert [n.kind for n in told(requester)] == ["change.scheduled", "change.before_3d"]
    assert told(requester)[-1].title == f"Change in 3 days: {change.number} {change.summary}"
    # The person's live notification and the new post on the service's timeline.
    assert {event.type for event in events} == {"notification", "wall_post"}
    assert announcements.send_due(start - timedelta(minutes=59)) == 1
    assert announcements.send_due(start) == 1
    assert [n.kind for n in told(requester)][-2:] == ["change.before_1h", "change.start"]


def test_a_notice_the_worker_reaches_only_after_the_start_is_dropped(
    requester: User, vpn_agent: User, vpn_service: Service
) -> None:
    start = a_week_ahead()
    follows(requester, vpn_service)
    change = scheduled_change(vpn_agent, [vpn_service], start)
    schedule(change, start - timedelta(days=7))

    assert announcements.send_due(start + timedelta(minutes=5)) == 1  # only the start

    assert [n.kind for n in told(requester)] == ["change.scheduled", "change.start"]
    assert planned(change) == []


def test_a_move_is_announced_with_what_changed_and_replans(
    requester: User, vpn_agent: User, vpn_service: Service
) -> None:
    start = a_week_ahead()
    now = start - timedelta(days=7)
    follows(requester, vpn_service)
    change = scheduled_change(vpn_agent, [vpn_service], start, time_zone="Europe/Madrid")
    schedule(change, now)
    old = (change.planned_start, change.planned_end)
    assert old[0] is not None and old[1] is not None
    change.planned_start = start + timedelta(days=1)
    change.planned_end = start + timedelta(days=1, hours=2)
    change.sequence = 1
    change.save()

    announcements.plan(change, "moved", now=now + timedelta(hours=1), moved_from=(old[0], old[1]))

    notice = told(requester)[-1]
    assert notice.kind == "change.moved"
    zone = announcements.ZoneInfo("Europe/Madrid")
    assert (
        f"Moved from {old[0].astimezone(zone):%a %d %b %Y %H:%M}" in notice.body
        and f"to {change.planned_start.astimezone(zone):%a %d %b %Y %H:%M}" in notice.body
    )
    # The old plan's notices are gone; the new plan has its own.
    assert planned(change) == [
        ("before_3d", 1, change.planned_start - timedelta(days=3)),
        ("before_1h", 1, change.planned_start - timedelta(hours=1)),
        ("start", 1, change.planned_start),
    ]
    # Nothing of the old plan fires (its 3 days before was due now).
    assert announcements.send_due(start - timedelta(days=3)) == 0


def test_a_move_without_the_old_times_reads_them_from_the_old_plan(
    requester: User, vpn_agent: User, vpn_service: Service
) -> None:
    start = a_week_ahead()
    follows(requester, vpn_service)
    change = scheduled_change(vpn_agent, [vpn_service], start)
    schedule(change, start - timedelta(days=7))
    change.planned_start, change.planned_end = (
        start + timedelta(hours=3),
        start + timedelta(hours=5),
    )
    change.sequence = 1
    change.save()

    announcements.plan(change, "moved", now=start - timedelta(days=6))

    assert f"Moved from {start:%a %d %b %Y %H:%M}" in told(requester)[-1].body


def test_a_cancellation_is_announced_and_drops_what_was_planned(
    requester: User, vpn_agent: User, vpn_service: Service
) -> None:
    start = a_week_ahead()
    follows(requester, vpn_service)
    change = scheduled_change(vpn_agent, [vpn_service], start)
    schedule(change, start - timedelta(days=7))
    change.state, change.sequence = ChangeState.CANCELLED, 1
    change.save()

    announcements.plan(change, "cancelled", now=start - timedelta(days=6))

    notice = told(requester)[-1]
    assert notice.kind == "change.cancelled"
    assert "will not happen" in notice.body
    assert planned(change) == []
    assert announcements.send_due(start) == 0


def test_start_completion_and_failure_are_announced_once(
    requester: User, vpn_agent: User, vpn_service: Service, sso_service: Service
) -> None:
    start = a_week_ahead()
    follows(requester, vpn_service)
    change = scheduled_change(vpn_agent, [vpn_service], start)
    schedule(change, start - timedelta(days=7))
    change.state = ChangeState.IMPLEMENTING
    change.save()

    announcements.plan(change, "started", now=start - timedelta(minutes=10))
    assert announcements.send_due(start) == 0  # the start was told already
    change.state = ChangeState.REVIEW
    change.save()
    announcements.plan(change, "completed", now=start + timedelta(hours=1))
    assert announcements.plan(change, "completed", now=start + timedelta(hours=1)) is None

    assert [n.kind for n in told(requester)] == [
        "change.scheduled",
        "change.start",
        "change.done",
    ]
    assert "Did it break anything for you?" in told(requester)[-1].body

    other = scheduled_change(vpn_agent, [vpn_service], start, state=ChangeState.FAILED)
    announcements.plan(other, "failed", now=start + timedelta(hours=1))
    assert told(requester)[-1].kind == "change.failed"


def test_everyone_who_uses_or_follows_an_affected_service_is_told_once(
    make_person: Callable[..., User],
    requester: User,
    other_requester: User,
    vpn_agent: User,
    vpn_service: Service,
    sso_service: Service,
) -> None:
    start = a_week_ahead()
    follower = requester
    follows(follower, vpn_service)
    in_room_of(follower, sso_service)  # twice concerned, told once
    affected = other_requester
    affected_by_incident_on(affected, sso_service)
    member = make_person("room.member@example.test")
    in_room_of(member, vpn_service)
    gone = make_person("gone@example.test")
    follows(gone, vpn_service)
    gone.is_active = False
    gone.save()
    bystander = make_person("bystander@example.test")
    follows(bystander, Service.objects.create(name="Printing", slug="print", hashtag="print"))
    change = scheduled_change(vpn_agent, [vpn_service, sso_service], start)

    sent = schedule(change, start - timedelta(days=7))

    assert sent is not None and sent.recipients == 3
    for person in (follower, affected, member):
        assert [n.kind for n in told(person)] == ["change.scheduled"], person
    assert told(gone) == [] and told(bystander) == []
    assert "Affects: Single sign-on, VPN." in told(member)[0].body
    # One official post on each affected service's timeline.
    assert Post.objects.filter(kind=PostKind.OFFICIAL).count() == 2


def test_people_affected_by_an_old_incident_are_not_told(
    other_requester: User, vpn_agent: User, vpn_service: Service
) -> None:
    affected_by_incident_on(other_requester, vpn_service)
    start = a_week_ahead()
    change = scheduled_change(vpn_agent, [vpn_service], start)

    announcements.plan(change, "scheduled", now=start + timedelta(days=91))

    assert told(other_requester) == []


def test_a_change_on_a_confidential_service_is_told_to_staff_only(
    requester: User,
    vpn_agent: User,
    change_manager: User,
    vpn_service: Service,
    security_service: Service,
) -> None:
    start = a_week_ahead()
    follows(requester, vpn_service)
    follows(vpn_agent, vpn_service)
    # Reported there before the service was made confidential.
    security_service.visibility = "internal"
    security_service.save()
    affected_by_incident_on(requester, security_service)
    security_service.visibility = "confidential"
    security_service.save()
    change = scheduled_change(change_manager, [vpn_service, security_service], start)

    schedule(change, start - timedelta(days=7))

    assert told(requester) == []
    assert [n.kind for n in told(vpn_agent)] == ["change.scheduled"]
    # Not on the public service's timeline: only where staff alone may read it.
    assert list(Post.objects.values_list("service__slug", flat=True)) == [security_service.slug]


def test_sending_costs_the_same_for_3_and_30_people(
    make_person: Callable[..., User],
    vpn_agent: User,
    vpn_service: Service,
    sso_service: Service,
    django_assert_num_queries: Any,
) -> None:
    start = a_week_ahead()
    due = start - timedelta(hours=1)
    few = scheduled_change(vpn_agent, [vpn_service], start, summary="Few")
    many = scheduled_change(vpn_agent, [sso_service], start, summary="Many")
    for index in range(30):
        person = make_person(f"person{index}@example.test")
        follows(person, vpn_service if index < 3 else sso_service)
    for change in (few, many):
        ChangeAnnouncement.objects.create(change=change, moment="before_1h", due_at=start)

    def cost(change: Change) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        ChangeAnnouncement.objects.filter(change=change).update(due_at=due)
        ChangeAnnouncement.objects.exclude(change=change).update(due_at=start)
        with CaptureQueriesContext(connection) as queries:
            assert announcements.send_due(due) == 1
        return len(queries)

    few_cost = cost(few)
    many_cost = cost(many)

    assert ChangeAnnouncement.objects.get(change=many).recipients == 27
    assert few_cost == many_cost
    with django_assert_num_queries(1):
        assert announcements.send_due(due) == 0


def test_unknown_events_are_refused(vpn_agent: User, vpn_service: Service) -> None:
    change = scheduled_change(vpn_agent, [vpn_service], a_week_ahead())
    with pytest.raises(ValueError):
        announcements.plan(change, "postponed")


def test_the_minute_task_sends_what_is_due(
    requester: User, vpn_agent: User, vpn_service: Service
) -> None:
    from hashdesk.changes.tasks import send_due_change_announcements

    follows(requester, vpn_service)
    change = scheduled_change(vpn_agent, [vpn_service], a_week_ahead())
    ChangeAnnouncement.objects.create(
        change=change, moment="before_3d", due_at=change.created_at - timedelta(minutes=1)
    )

    assert send_due_change_announcements.call_local() == 1
    assert [n.kind for n in told(requester)] == ["change.before_3d"]
