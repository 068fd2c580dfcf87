"""The minute job of live burst detection (insights/bursts/live.py): which reports count on which
stream, the detectors fed bucket by bucket and resumed from the database, the guards on sparse
counts, and the probable incident raised (or extended) with its reports, event and notices."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.chat import actions as chat_actions
from hashdesk.chat.models import Room
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.choices import Channel
from hashdesk.insights.bursts import live, promote
from hashdesk.insights.bursts.detector import StreamingDetector
from hashdesk.insights.choices import ItemKind, ProbableState
from hashdesk.insights.models import DetectorState, ProbableIncident, ProbableReport
from hashdesk.notify.models import Notification
from hashdesk.wall import actions as wall_actions
from hashdesk.wall.models import Post

BURST = [
    "#wifi down in building B",
    "No #wifi in building B since 10",
    "#wifi building B keeps dropping",
    "#wifi dead on floor 2 of building B",
    "building B #wifi down for everyone here",
    "#wifi in building B is down again",
]


@pytest.fixture
def wifi_service(db: Any, network_team: Any) -> Service:
    return catalog_actions.do_create_service(
        None, name="Wi-Fi", hashtag="wifi", owner_team=network_team, visibility=Visibility.PUBLIC
    )


@pytest.fixture
def building_b(make_person: Callable[..., User]) -> list[User]:
    return [make_person(f"building.b{n}@example.test", roles=[Role.REQUESTER]) for n in range(6)]


def _soon() -> Any:
    return timezone.now() + timedelta(seconds=1)


def test_six_posts_from_six_people_raise_one_probable_incident(
    wifi_service: Service, building_b: list[User], vpn_agent: User, capture_events: Any
) -> None:
    posts = [
        wall_actions.do_post(person, body=text)
        for person, text in zip(building_b, BURST, strict=True)
    ]
    with capture_events() as events:
        summary = live.run_minute(_soon())

    assert summary.raised == 1
    probable = ProbableIncident.objects.get()
    assert probable.stream == f"service:{wifi_service.pk}"
    assert probable.service == wifi_service and probable.hashtag == "wifi"
    assert probable.state == ProbableState.OPEN
    assert probable.title == "Burst on #wifi: 6 reports in 5 minutes, usually 0"
    assert probable.reports == 6 and probable.score >= 0.5 and probable.expected < 0.5
    assert set(ProbableReport.objects.values_list("kind", "object_id")) == {
        (ItemKind.POST, post.pk) for post in posts
    }
    raised = [e for e in events if e.type == "probable_incident"]
    assert [(e.op, e.streams) for e in raised] == [("create", ["staff"])]
    assert raised[0].payload["probable"]["title"] == probable.title
    # Told to the agents of the service's team, once, with a link to the page.
    notice = Notification.objects.get(kind=promote.NOTICE_KIND)
    assert notice.recipient == vpn_agent and notice.url.startswith("/insights/bursts/")
    # The stream's detector was kept: fed 14 days of zeros up to the detection window.
    state = DetectorState.objects.get(stream=probable.stream)
    assert state.fed_until <= summary.bursts[0].window_start
    assert StreamingDetector.from_state(
        {k: v for k, v in state.state.items() if k != live.LAST_REPORT_KEY}
    ).expected(state.fed_until) == pytest.approx(0.0)


def test_the_next_minute_extends_the_open_one_and_tells_nobody_again(
    wifi_service: Service, building_b: list[User], vpn_agent: User, capture_events: Any
) -> None:
    for person, text in zip(building_b[:5], BURST, strict=False):
        wall_actions.do_post(person, body=text)
    live.run_minute(_soon())
    wall_actions.do_post(building_b[5], body=BURST[5])
    with capture_events() as events:
        summary = live.run_minute(_soon() + timedelta(seconds=30))

    assert (summary.raised, summary.extended) == (0, 1)
    probable = ProbableIncident.objects.get()
    assert probable.reports == 6 and probable.items.count() == 6
    assert [e.op for e in events if e.type == "probable_incident"] == ["update"]
    assert Notification.objects.filter(kind=promote.NOTICE_KIND).count() == 1
    # Nothing new: nothing happens.
    with capture_events() as events:
        assert live.run_minute(_soon() + timedelta(seconds=40)).extended == 0
    assert not [e for e in events if e.type == "probable_incident"]


def test_a_dismissed_burst_is_not_raised_again_by_the_same_posts(
    wifi_service: Service, building_b: list[User], vpn_agent: User
) -> None:
    for person, text in zip(building_b, BURST, strict=True):
        wall_actions.do_post(person, body=text)
    live.run_minute(_soon())
    promote.do_dismiss_probable(vpn_agent, ProbableIncident.objects.get())
    assert live.run_minute(_soon() + timedelta(seconds=30)).raised == 0
    assert ProbableIncident.objects.count() == 1


@pytest.mark.parametrize("people, posts", [(2, 6), (6, 3)])
def test_sparse_counts_need_enough_reports_from_enough_people(
    wifi_service: Service, building_b: list[User], people: int, posts: int
) -> None:
    for n in range(posts):
        wall_actions.do_post(building_b[n % people], body=f"{BURST[n]} ({n})")
    summary = live.run_minute(_soon())
    assert summary.bursts == [] and not ProbableIncident.objects.exists()


def test_the_poisson_guard_keeps_a_busy_stream_from_bursting_on_its_usual_count() -> None:
    assert live.poisson_surprise(6, 0.0) < 1e-4  # silent stream: six reports are news
    assert live.poisson_surprise(6, 5.0) > 0.3  # five a window is usual: six are not
    assert not live.is_burst(6, 6, 1.0, 5.0)
    assert live.is_burst(6, 6, 1.0, 0.2)
    assert not live.is_burst(6, 6, 0.1, 0.2)


def test_what_counts_as_a_report_on_which_stream(
    wifi_service: Service,
    sso_service: Service,
    building_b: list[User],
    requester: User,
    vpn_agent: User,
) -> None:
    start = timezone.now() - timedelta(seconds=1)
    top = wall_actions.do_post(building_b[0], body="#wifi gone, #printers too")
    wall_actions.do_post(building_b[1], body="me too", reply_to=top)  # a reply
    deleted = wall_actions.do_post(building_b[2], body="#wifi again")
    wall_actions.do_delete_post(building_b[2], deleted)
    hidden = wall_actions.do_post(building_b[3], body="#wifi argh")
    wall_actions.do_hide_post(vpn_agent, hidden, "rude")
    wall_actions.do_announce(vpn_agent, "#wifi maintenance tonight")  # not a report
    emailed = incident_actions.do_create_incident(
        requester, title="Wifi", description="by mail", service=wifi_service, source=Channel.EMAIL
    )
    incident_actions.do_create_incident(
        requester, title="SSO", description="promoted", service=sso_service, source=Channel.WALL
    )
    room = Room.objects.get(kind="service", service=wifi_service)
    chat_actions.do_join_room(building_b[4], room)
    said = chat_actions.do_send_message(
        building_b[4], room, body="anyone else without wifi?"
    ).message

    found = {
        (r.stream, r.kind, r.object_id)
        for r in live.collect_reports(start, timezone.now() + timedelta(seconds=1))
    }
    assert found == {
        (f"service:{wifi_service.pk}", ItemKind.POST, top.pk),
        ("tag:printers", ItemKind.POST, top.pk),
        (f"service:{wifi_service.pk}", ItemKind.INCIDENT, emailed.pk),
        (f"service:{wifi_service.pk}", ItemKind.CHAT, said.pk),
    }


def test_detectors_are_fed_every_bucket_once_and_resume_from_the_database(
    wifi_service: Service, building_b: list[User]
) -> None:
    post = wall_actions.do_post(building_b[0], body="#wifi slow")
    Post.objects.filter(pk=post.pk).update(created_at=timezone.now() - timedelta(days=2))
    # One minute into a bucket, so the 20-second step below stays inside it whatever the clock says.
    now = live.floor_bucket(timezone.now()) + timedelta(minutes=1)
    first = live.run_minute(now)
    assert first.streams_fed == 1
    assert first.buckets_fed == live.ACTIVE // live.BUCKET
    state = DetectorState.objects.get()
    again = live.run_minute(now + timedelta(seconds=20))
    assert again.buckets_fed == 0  # same bucket: nothing new to feed
    later = live.run_minute(now + timedelta(minutes=10))
    assert later.buckets_fed == 2
    state.refresh_from_db()
    assert state.fed_until == live.floor_bucket(now + timedelta(minutes=5))


def test_the_minute_job_reads_and_writes_in_bulk(
    wifi_service: Service, building_b: list[User], query_count: Any
) -> None:
    now = timezone.now()
    rows = [
        DetectorState(
            stream=f"tag:topic{n}",
            state={live.LAST_REPORT_KEY: (now - timedelta(days=1)).isoformat()},
            fed_until=live.floor_bucket(now - timedelta(minutes=30)),
        )
        for n in range(40)
    ]
    DetectorState.objects.bulk_create(rows[:10])
    with query_count() as small:
        live.run_minute(now)
    DetectorState.objects.bulk_create(rows[10:])
    DetectorState.objects.filter(stream__startswith="tag:").update(
        fed_until=live.floor_bucket(now - timedelta(minutes=30))
    )
    with query_count() as big:
        summary = live.run_minute(now)
    assert summary.streams_fed == 40
    assert len(big) == len(small)
    assert (
        DetectorState.objects.filter(fed_until=live.floor_bucket(now - live.BUCKET)).count() == 40
    )


def test_a_stream_quiet_for_14_days_is_no_longer_fed_nor_read_for(
    wifi_service: Service, building_b: list[User]
) -> None:
    now = timezone.now()
    DetectorState.objects.create(
        stream="tag:old",
        state={live.LAST_REPORT_KEY: (now - timedelta(days=15)).isoformat()},
        fed_until=live.floor_bucket(now - timedelta(hours=20)),
    )
    earlier = wall_actions.do_post(building_b[0], body="#wifi flaky")
    Post.objects.filter(pk=earlier.pk).update(created_at=now - timedelta(hours=2))
    summary = live.run_minute(now)
    assert summary.streams_fed == 0
    # Its old feed position does not widen the reports read: only the detection window.
    assert summary.reports == 0


def test_the_worker_runs_it_every_minute(
    wifi_service: Service, building_b: list[User], vpn_agent: User
) -> None:
    from hashdesk.insights.bursts import tasks

    task = tasks.detect_bursts.s()
    minute = timezone.now().replace(second=0, microsecond=0)
    assert all(task.validate_datetime(minute + timedelta(minutes=n)) for n in range(7))
    for person, text in zip(building_b, BURST, strict=True):
        wall_actions.do_post(person, body=text)
    assert tasks.detect_bursts.call_local() == 1
    assert ProbableIncident.objects.count() == 1
