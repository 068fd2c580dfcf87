"""Calendar feeds of changes, read back with the ``icalendar`` package as calendar clients read
them (docs/changes.md, "Calendar feeds")."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import icalendar
import pytest
from django.test import Client

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.changes import actions, feeds
from hashdesk.changes.choices import ChangeState, ChangeType
from hashdesk.changes.models import CalendarFeed, Change, ChangeTemplate
from hashdesk.core.errors import NotFound
from hashdesk.notify.models import Notification
from tests.api.support import ApiCaller, assert_problem, raw_token
from tests.changes.comms_support import a_week_ahead, follows, scheduled_change
from tests.changes.core_support import new_change

pytestmark = pytest.mark.django_db


def events_of(response: Any) -> dict[str, Any]:
    """The VEVENTs of a feed by UID, after checking it is a calendar with CRLF lines."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    text = response.content.decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    parsed = icalendar.Calendar.from_ical(text)
    return {str(event["UID"]): event for event in parsed.walk("VEVENT")}


def signed_in(person: User) -> Client:
    client = Client()
    client.force_login(person)
    return client


def secret_feed(person: User) -> str:
    return f"/changes/feeds/{feeds.do_create_feed(person)}.ics"


def test_a_reschedule_and_a_cancellation_update_the_same_event(
    requester: User, vpn_agent: User, vpn_service: Service
) -> None:
    """Story 5: a change made, scheduled, moved and cancelled through the change actions; the
    person's secret feed follows it, and they are told each time."""
    follows(requester, vpn_service)
    template = ChangeTemplate.objects.create(name="Concentrator firmware", backout_plan="Revert.")
    template.services.set([vpn_service])
    start = a_week_ahead()
    change = new_change(
        vpn_agent,
        [vpn_service],
        type=ChangeType.STANDARD,
        template=template,
        summary="Firmware upgrade of the VPN concentrator",
        planned_start=start,
        planned_end=start + timedelta(hours=2),
        time_zone="Europe/Madrid",
    )
    change = actions.do_transition(
        vpn_agent, change, ChangeState.SCHEDULED, expected_version=change.version
    )
    feed = secret_feed(requester)
    anonymous = Client()

    [(uid, event)] = events_of(anonymous.get(feed)).items()
    assert uid == f"{change.number}@127.0.0.1"
    assert event["SEQUENCE"] == 0
    assert event["STATUS"] == "CONFIRMED"
    assert event.decoded("DTSTART") == start
    assert str(event["SUMMARY"]) == f"{change.number} Firmware upgrade of the VPN concentrator"
    assert str(event["URL"]).endswith(f"/changes/{change.number}/")

    moved_to = start + timedelta(days=1)
    change = actions.do_update_change(
        vpn_agent,
        change,
        expected_version=change.version,
        planned_start=moved_to,
        planned_end=moved_to + timedelta(hours=3),
    )
    [(same_uid, event)] = events_of(anonymous.get(feed)).items()
    assert same_uid == uid
    assert event["SEQUENCE"] == 1
    assert event.decoded("DTSTART") == moved_to
    assert event.decoded("DTEND") == moved_to + timedelta(hours=3)

    actions.do_transition(
        vpn_agent,
        change,
        ChangeState.CANCELLED,
        expected_version=change.version,
        notes="Vendor withdrew the firmware.",
    )
    [(same_uid, event)] = events_of(anonymous.get(feed)).items()
    assert same_uid == uid
    assert event["STATUS"] == "CANCELLED"
    assert event["SEQUENCE"] == 2

    kinds = Notification.objects.filter(recipient=requester).order_by("pk")
    assert list(kinds.values_list("kind", flat=True)) == [
        "change.scheduled",
        "change.moved",
        "change.cancelled",
    ]


def test_a_personal_feed_lists_only_changes_that_affect_the_person(
    requester: User, vpn_agent: User, vpn_service: Service, sso_service: Service
) -> None:
    follows(requester, vpn_service)
    start = a_week_ahead()
    theirs = scheduled_change(vpn_agent, [vpn_service], start)
    scheduled_change(vpn_agent, [sso_service], start, summary="Someone else's")
    scheduled_change(vpn_agent, [vpn_service], start, state=ChangeState.DRAFT, summary="Draft")

    listed = events_of(Client().get(secret_feed(requester)))

    assert list(listed) == [f"{theirs.number}@127.0.0.1"]


def test_a_revoked_or_replaced_secret_answers_404(requester: User) -> None:
    first = secret_feed(requester)
    second = secret_feed(requester)
    assert Client().get(first).status_code == 404
    assert Client().get(second).status_code == 200

    feeds.do_revoke_feed(requester)

    assert Client().get(second).status_code == 404
    assert Client().get("/changes/feeds/not-a-secret.ics").status_code == 404
    with pytest.raises(NotFound):
        feeds.do_revoke_feed(requester)


def test_only_a_hash_of_the_secret_is_kept(requester: User) -> None:
    secret = feeds.do_create_feed(requester)
    stored = CalendarFeed.objects.get(user=requester).secret_hash
    assert secret not in stored and stored == feeds.hash_secret(secret)


def test_the_signed_in_feed_lists_what_the_viewer_may_see(
    requester: User,
    vpn_agent: User,
    vpn_service: Service,
    security_service: Service,
) -> None:
    start = a_week_ahead()
    public = scheduled_change(vpn_agent, [vpn_service], start)
    secret = scheduled_change(vpn_agent, [security_service], start, summary="SIEM upgrade")
    draft = scheduled_change(vpn_agent, [vpn_service], start, state=ChangeState.DRAFT)

    assert Client().get("/changes/calendar.ics").status_code == 302  # sign in first
    as_requester = events_of(signed_in(requester).get("/changes/calendar.ics"))
    as_staff = events_of(signed_in(vpn_agent).get("/changes/calendar.ics"))

    assert set(as_requester) == {feeds.uid(public)}
    assert set(as_staff) == {feeds.uid(public), feeds.uid(secret)}
    assert feeds.uid(draft) not in as_staff  # not a commitment yet


def test_a_service_feed_lists_that_service_and_hides_confidential_ones(
    requester: User,
    vpn_agent: User,
    vpn_service: Service,
    sso_service: Service,
    security_service: Service,
) -> None:
    start = a_week_ahead()
    on_vpn = scheduled_change(vpn_agent, [vpn_service], start)
    scheduled_change(vpn_agent, [sso_service], start)

    listed = events_of(signed_in(requester).get("/changes/services/vpn/calendar.ics"))

    assert set(listed) == {feeds.uid(on_vpn)}
    hidden = f"/changes/services/{security_service.slug}/calendar.ics"
    assert signed_in(requester).get(hidden).status_code == 404
    assert signed_in(vpn_agent).get(hidden).status_code == 200


def test_text_is_escaped_and_long_lines_folded(vpn_agent: User, vpn_service: Service) -> None:
    summary = "Réseau; VPN, firmware \\ upgrade — " + "ü" * 80
    change = scheduled_change(vpn_agent, [vpn_service], a_week_ahead(), summary=summary[:200])
    change.description = "Line one\nLine two; with, punctuation"
    change.save()
    listed = Change.objects.filter(pk=change.pk).prefetch_related("affected__service")

    text = feeds.calendar(listed, name="Changes")

    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    [event] = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert str(event["SUMMARY"]) == f"{change.number} {summary[:200]}"
    assert "Line one\nLine two; with, punctuation" in str(event["DESCRIPTION"])
    assert "Affects: VPN" in str(event["DESCRIPTION"])


def test_feeds_through_the_api(requester: User) -> None:
    api = ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(requester)}"})

    created = api.post("/api/v1/changes/feed")
    assert created.status_code == 201, created.content
    url = json.loads(created.content)["url"]
    assert url.startswith("http://127.0.0.1:8000/changes/feeds/") and url.endswith(".ics")
    assert Client().get(url.removeprefix("http://127.0.0.1:8000")).status_code == 200

    assert api.delete("/api/v1/changes/feed").status_code == 204
    assert Client().get(url.removeprefix("http://127.0.0.1:8000")).status_code == 404
    assert_problem(api.delete("/api/v1/changes/feed"), 404)
