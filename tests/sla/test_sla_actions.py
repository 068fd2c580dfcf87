"""Calendars and SLA policies in the database: defaults, lookup precedence, actions, visibility."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from hashdesk.audit.models import AuditEntry
from hashdesk.core.errors import Conflict, Forbidden, ValidationFailed
from hashdesk.core.visibility import can_view, visible_to
from hashdesk.sla import actions
from hashdesk.sla.business_time import add_business_minutes
from hashdesk.sla.models import BusinessCalendar, Holiday, SlaPolicy, policy_for

WEEKDAYS_9_TO_5 = [(day, time(9), time(17)) for day in range(5)]


def make_calendar(name: str = "Support hours", **kwargs) -> BusinessCalendar:
    kwargs.setdefault("periods", WEEKDAYS_9_TO_5)
    return actions.do_create_calendar(None, name=name, **kwargs)


@pytest.mark.django_db
def test_the_defaults_cover_every_priority():
    standard = BusinessCalendar.objects.get(name="Standard business hours")
    always = BusinessCalendar.objects.get(name="24x7")
    assert standard.time_zone == "Europe/London"
    assert standard.snapshot().minutes_per_week == 5 * 600
    assert always.snapshot().minutes_per_week == 7 * 24 * 60
    targets = {
        p.priority: (p.calendar.name, p.response_minutes, p.resolution_minutes)
        for p in SlaPolicy.objects.select_related("calendar")
    }
    assert targets == {
        1: ("24x7", 15, 240),
        2: ("Standard business hours", 30, 480),
        3: ("Standard business hours", 240, 1800),
        4: ("Standard business hours", 480, 3000),
        5: ("Standard business hours", 1800, 6000),
    }


@pytest.mark.django_db
def test_a_service_policy_wins_over_the_general_one(vpn_service, sso_service, query_count):
    vpn_p2 = actions.do_create_sla_policy(
        None,
        name="VPN P2",
        priority=2,
        service=vpn_service,
        calendar=make_calendar(),
        response_minutes=10,
        resolution_minutes=120,
    )
    general_p2 = SlaPolicy.objects.get(priority=2, service=None)
    with query_count() as queries:
        found = policy_for(2, vpn_service)
    assert found == vpn_p2 and len(queries) == 1
    assert found.calendar.name == "Support hours"  # loaded with the policy
    assert policy_for(2, sso_service) == general_p2
    assert policy_for(2, None) == general_p2
    assert policy_for(3, vpn_service) == SlaPolicy.objects.get(priority=3, service=None)
    # An inactive policy does not apply: the general one takes over again.
    actions.do_update_sla_policy(None, vpn_p2, is_active=False)
    assert policy_for(2, vpn_service) == general_p2


@pytest.mark.django_db
def test_create_calendar_records_audit_and_tells_staff(administrator, capture_events):
    with capture_events() as events:
        calendar = actions.do_create_calendar(
            administrator,
            name="Night desk",
            time_zone="Asia/Tokyo",
            periods=[(0, time(22), time(0)), (0, time(0), time(6))],
        )
    assert calendar.snapshot().periods[0] == ((0, 360), (1320, 1440))
    entry = AuditEntry.objects.get(action="calendar.create")
    assert entry.actor == administrator
    assert entry.after["periods"][1]["hours"] == "22:00-24:00"
    assert [(e.type, e.op, e.streams) for e in events] == [
        ("business_calendar", "create", ["staff"])
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "periods",
    [
        [(0, time(10), time(9))],
        [(0, time(9), time(9))],
        [(7, time(9), time(17))],
        [(1, time(9), time(12)), (1, time(11), time(14))],
        [(2, time(0), time(0)), (2, time(8), time(9))],
    ],
)
def test_bad_working_periods_are_refused_and_change_nothing(administrator, periods):
    calendar = make_calendar()
    with pytest.raises(ValidationFailed) as caught:
        actions.do_set_working_periods(administrator, calendar, periods)
    assert caught.value.field == "periods"
    assert calendar.snapshot().minutes_per_week == 5 * 480


@pytest.mark.django_db
def test_setting_periods_replaces_them(administrator):
    calendar = make_calendar()
    actions.do_set_working_periods(
        administrator, calendar, [(5, time(10), time(14)), (5, time(8), time(10))]
    )
    assert calendar.snapshot().periods == ((),) * 5 + (((480, 600), (600, 840)), ())
    with pytest.raises(ValidationFailed):
        actions.do_set_working_periods(administrator, calendar, [])


@pytest.mark.django_db
def test_calendar_names_and_time_zones_are_checked(administrator):
    make_calendar()
    with pytest.raises(Conflict):
        make_calendar("support HOURS")
    with pytest.raises(ValidationFailed) as caught:
        make_calendar("Mars base", time_zone="Mars/Olympus_Mons")
    assert caught.value.field == "time_zone"
    assert not BusinessCalendar.objects.filter(name="Mars base").exists()


@pytest.mark.django_db
def test_holidays_are_unique_per_calendar_and_move_due_times(administrator):
    calendar = make_calendar(time_zone="UTC")
    thursday = datetime(2026, 12, 24, 16, tzinfo=UTC)
    assert add_business_minutes(calendar.snapshot(), thursday, 120) == datetime(
        2026, 12, 25, 10, tzinfo=UTC
    )
    actions.do_add_holiday(administrator, calendar, date=date(2026, 12, 25), name="Christmas")
    assert add_business_minutes(calendar.snapshot(), thursday, 120) == datetime(
        2026, 12, 28, 10, tzinfo=UTC
    )
    with pytest.raises(Conflict):
        actions.do_add_holiday(administrator, calendar, date=date(2026, 12, 25), name="Again")
    with pytest.raises(ValidationFailed):
        actions.do_add_holiday(administrator, calendar, date=date(2026, 12, 26), name=" ")
    assert Holiday.objects.filter(calendar=calendar).count() == 1


@pytest.mark.django_db
def test_policy_validation(administrator, vpn_service):
    calendar = make_calendar()
    base = dict(name="VPN", priority=1, service=vpn_service, calendar=calendar)
    bad = [
        ({"response_minutes": 0, "resolution_minutes": 60}, "response_minutes"),
        ({"response_minutes": 60, "resolution_minutes": 30}, "resolution_minutes"),
        ({"response_minutes": 5, "resolution_minutes": 60, "warning_share": 1.0}, "warning_share"),
        ({"response_minutes": 5, "resolution_minutes": 60, "warning_share": 0}, "warning_share"),
        ({"response_minutes": 5, "resolution_minutes": 60, "priority": 6}, "priority"),
    ]
    for fields, field in bad:
        with pytest.raises(ValidationFailed) as caught:
            actions.do_create_sla_policy(administrator, **{**base, **fields})
        assert caught.value.field == field, fields
    assert not SlaPolicy.objects.filter(service=vpn_service).exists()


@pytest.mark.django_db
def test_one_policy_per_priority_and_service(administrator, vpn_service):
    calendar = make_calendar()
    with pytest.raises(Conflict):
        actions.do_create_sla_policy(
            administrator,
            name="Second P1",
            priority=1,
            calendar=calendar,
            response_minutes=5,
            resolution_minutes=60,
        )
    fields = dict(calendar=calendar, priority=1, response_minutes=5, resolution_minutes=60)
    actions.do_create_sla_policy(administrator, name="VPN P1", service=vpn_service, **fields)
    with pytest.raises(Conflict):
        actions.do_create_sla_policy(administrator, name="VPN P1b", service=vpn_service, **fields)


@pytest.mark.django_db
def test_a_calendar_without_periods_cannot_carry_a_policy(administrator, vpn_service):
    empty = actions.do_create_calendar(administrator, name="Never open")
    with pytest.raises(ValidationFailed) as caught:
        actions.do_create_sla_policy(
            administrator,
            name="Impossible",
            priority=4,
            service=vpn_service,
            calendar=empty,
            response_minutes=5,
            resolution_minutes=60,
        )
    assert caught.value.field == "calendar"


@pytest.mark.django_db
def test_update_policy_audits_and_refuses_identity_changes(administrator, capture_events):
    policy = SlaPolicy.objects.get(priority=3, service=None)
    with capture_events() as events:
        actions.do_update_sla_policy(
            administrator, policy, resolution_minutes=1200, warning_share=0.5
        )
    policy.refresh_from_db()
    assert (policy.resolution_minutes, policy.warning_share) == (1200, 0.5)
    entry = AuditEntry.objects.get(action="sla_policy.update")
    assert entry.before["resolution_minutes"] == 1800 and entry.after["warning_share"] == 0.5
    assert [(e.type, e.op) for e in events] == [("sla_policy", "update")]
    for field in ("priority", "service"):
        with pytest.raises(ValidationFailed) as caught:
            actions.do_update_sla_policy(administrator, policy, **{field: None})
        assert caught.value.field == field
    with pytest.raises(ValidationFailed):
        actions.do_update_sla_policy(administrator, policy, response_minutes=2000)
    policy.refresh_from_db()
    assert policy.response_minutes == 240


@pytest.mark.django_db
def test_only_administrators_change_service_levels(requester, vpn_agent):
    calendar = BusinessCalendar.objects.get(name="24x7")
    policy = SlaPolicy.objects.get(priority=1, service=None)
    audit_rows = AuditEntry.objects.count()
    for person in (requester, vpn_agent):
        with pytest.raises(Forbidden):
            actions.do_create_calendar(person, name="Mine", periods=WEEKDAYS_9_TO_5)
        with pytest.raises(Forbidden):
            actions.do_set_working_periods(person, calendar, WEEKDAYS_9_TO_5)
        with pytest.raises(Forbidden):
            actions.do_add_holiday(person, calendar, date=date(2026, 1, 1), name="Day off")
        with pytest.raises(Forbidden):
            actions.do_update_sla_policy(person, policy, response_minutes=600)
        with pytest.raises(Forbidden):
            actions.do_create_sla_policy(
                person,
                name="Mine",
                priority=5,
                calendar=calendar,
                response_minutes=1,
                resolution_minutes=2,
            )
    assert AuditEntry.objects.count() == audit_rows
    policy.refresh_from_db()
    assert policy.response_minutes == 15


@pytest.mark.django_db
def test_staff_see_service_levels_and_requesters_do_not(requester, vpn_agent):
    policy = SlaPolicy.objects.get(priority=1, service=None)
    assert can_view(vpn_agent, policy)
    assert visible_to(vpn_agent, BusinessCalendar.objects.all()).count() == 2
    assert not can_view(requester, policy)
    assert not can_view(None, policy)
    assert not visible_to(requester, BusinessCalendar.objects.all()).exists()
