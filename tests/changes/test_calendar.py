"""The change calendar: who sees which changes, per service, by day in the viewer's zone."""

from __future__ import annotations

import json
from datetime import date
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from hashdesk.catalog import actions as catalog_actions
from hashdesk.changes import calendar
from hashdesk.changes.choices import ChangeState
from hashdesk.changes.windows import do_create_window
from hashdesk.core.errors import ValidationFailed
from tests.api.support import ApiCaller, assert_problem, raw_token
from tests.changes.schedule_support import at, plan_change

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")
MADRID = ZoneInfo("Europe/Madrid")
CALENDAR = "/api/v1/changes/calendar"


@pytest.fixture
def remote_desktop(vpn_service):
    service = catalog_actions.do_create_service(
        None, name="Remote desktop", hashtag="rdp", visibility="public"
    )
    catalog_actions.do_add_dependency(None, service, vpn_service)
    return service


def numbers(entries):
    return [entry.number for entry in entries]


def test_requesters_see_scheduled_changes_on_services_they_may_see(
    requester, vpn_agent, vpn_service, security_service
):
    scheduled = plan_change(vpn_agent, [vpn_service], at(10, 9), at(10, 12))
    planning = plan_change(vpn_agent, [vpn_service], at(10, 9), at(10, 12), state="authorise")
    secret = plan_change(vpn_agent, [security_service], at(11, 9), at(11, 12))
    plan_change(vpn_agent, [vpn_service], at(10, 9), at(10, 12), state=ChangeState.CANCELLED)
    plan_change(vpn_agent, [vpn_service], at(20, 9), at(20, 12))  # after the range

    seen = calendar.changes_between(requester, at(1, 0), at(15, 0))
    seen_by_staff = calendar.changes_between(vpn_agent, at(1, 0), at(15, 0))

    assert list(seen) == [scheduled]
    assert sorted(seen_by_staff, key=lambda c: c.pk) == [scheduled, planning, secret]


def test_a_service_calendar_includes_changes_that_affect_it_through_dependencies(
    vpn_agent, vpn_service, sso_service, remote_desktop
):
    vpn_change = plan_change(vpn_agent, [vpn_service], at(10, 9), at(10, 12), summary="VPN")
    rdp_change = plan_change(vpn_agent, [remote_desktop], at(9, 9), at(9, 12))
    plan_change(vpn_agent, [sso_service], at(10, 9), at(10, 12))

    changes, _windows = calendar.agenda(vpn_agent, at(1, 0), at(15, 0), service=remote_desktop)

    assert numbers(changes) == [rdp_change.number, vpn_change.number]
    assert changes[1].services == ("VPN",)


def test_a_month_is_whole_weeks_with_changes_on_the_viewers_days(
    vpn_agent, change_manager, vpn_service
):
    # 23:30 to 01:30 UTC is 00:30 to 02:30 in Madrid (CET): one day there, two in UTC.
    late = plan_change(vpn_agent, [vpn_service], at(10, 23, 30), at(11, 1, 30))
    do_create_window(
        change_manager, kind="freeze", name="Month end", starts_at=at(30, 0), ends_at=at(31, 0)
    )

    in_utc = calendar.month(vpn_agent, 2031, 3, zone=UTC)
    in_madrid = calendar.month(vpn_agent, 2031, 3, zone=MADRID)

    days = [day for week in in_utc.weeks for day in week]
    assert all(len(week) == 7 for week in in_utc.weeks)
    assert days[0].day == date(2031, 2, 24) and not days[0].in_range  # March 1st is a Saturday
    assert days[-1].day == date(2031, 4, 6) and not days[-1].in_range
    by_day = {day.day: day for day in days}
    assert numbers(by_day[date(2031, 3, 10)].changes) == [late.number]
    assert numbers(by_day[date(2031, 3, 11)].changes) == [late.number]
    assert [w.name for w in by_day[date(2031, 3, 30)].windows] == ["Month end"]
    assert by_day[date(2031, 3, 31)].windows == []  # it ends at midnight
    madrid_days = {day.day: day for week in in_madrid.weeks for day in week}
    assert madrid_days[date(2031, 3, 10)].changes == []
    assert numbers(madrid_days[date(2031, 3, 11)].changes) == [late.number]


def test_a_week_runs_monday_to_sunday(vpn_agent, vpn_service):
    change = plan_change(vpn_agent, [vpn_service], at(12, 9), at(12, 10))

    days = calendar.week(vpn_agent, date(2031, 3, 13), zone=UTC)

    assert [day.day for day in days][0::6] == [date(2031, 3, 10), date(2031, 3, 16)]
    assert [numbers(day.changes) for day in days] == [[], [], [change.number], [], [], [], []]


@pytest.mark.parametrize("changes", [3, 30])
def test_a_month_costs_four_queries_however_many_changes(
    changes, vpn_agent, change_manager, vpn_service, sso_service, django_assert_num_queries
):
    for index in range(changes):
        plan_change(vpn_agent, [vpn_service, sso_service], at(1 + index % 28, 9), at(2, 10, 0, 4))
    do_create_window(
        change_manager, kind="freeze", name="Freeze", starts_at=at(10, 0), ends_at=at(12, 0)
    )
    assert vpn_agent.roles  # read once per person and request; not part of the calendar

    with django_assert_num_queries(4):
        month = calendar.month(vpn_agent, 2031, 3, zone=UTC)

    last = {day.day: day for week in month.weeks for day in week}[date(2031, 3, 31)]
    assert len(last.changes) == changes
    assert last.changes[0].services == ("Single sign-on", "VPN")


def test_a_range_ends_after_it_starts_and_is_at_most_a_year(vpn_agent):
    with pytest.raises(ValidationFailed):
        calendar.changes_between(vpn_agent, at(10, 0), at(10, 0))
    with pytest.raises(ValidationFailed):
        calendar.changes_between(vpn_agent, at(1, 0, month=1), at(1, 0, month=1).replace(year=2033))


# --- API ----------------------------------------------------------------------------------------


def test_api_calendar_lists_changes_and_windows_of_a_service(
    requester, vpn_agent, change_manager, vpn_service, sso_service
):
    vpn_change = plan_change(vpn_agent, [vpn_service], at(10, 9), at(10, 12), summary="Certs")
    plan_change(vpn_agent, [sso_service], at(10, 9), at(10, 12))
    do_create_window(
        change_manager, kind="freeze", name="Freeze", starts_at=at(10, 0), ends_at=at(12, 0)
    )
    reader = ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(requester, 'read')}"})

    answer = reader.get(
        CALENDAR,
        data={"from": "2031-03-01T00:00:00Z", "to": "2031-04-01T00:00:00Z", "service": "vpn"},
    )

    assert answer.status_code == 200, answer.content
    body = json.loads(answer.content)
    assert [(c["number"], c["summary"], c["services"]) for c in body["changes"]] == [
        (vpn_change.number, "Certs", ["VPN"])
    ]
    assert [w["name"] for w in body["windows"]] == ["Freeze"]
    hidden = reader.get(
        CALENDAR,
        data={"from": "2031-03-01T00:00:00Z", "to": "2031-04-01T00:00:00Z", "service": "nope"},
    )
    assert_problem(hidden, 404)
