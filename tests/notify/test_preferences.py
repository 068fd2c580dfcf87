"""Preferences: defaults, one query for many people, quiet hours in a person's own zone, the
page (with its bad input) and the API."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from hashdesk.audit.models import AuditEntry
from hashdesk.notify.choices import Category, Channel, Digest, category_of
from hashdesk.notify.models import NotificationPreference, NotificationSettings
from hashdesk.notify.preferences import (
    DEFAULTS,
    digest_due,
    preferences_for,
    quiet_until,
)
from tests.api.support import ApiCaller, assert_problem, raw_token
from tests.conftest import PASSWORD
from tests.notify.routing_support import chat_tool_offered, choose, webhook_of

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")


def api_as(person) -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person)}"})


def signed_in(person) -> Client:
    client = Client()
    assert client.login(username=person.email, password=PASSWORD)
    return client


# --- Defaults and the one query -----------------------------------------------------------------


def test_defaults_mail_what_matters_and_keep_the_rest_in_the_app():
    assert {c for c, p in DEFAULTS.items() if Channel.EMAIL in p.channels} == {
        Category.MAJOR,
        Category.INCIDENTS,
        Category.CHANGES,
        Category.PROBLEMS,
        Category.MENTIONS,
        Category.CHAT,
        Category.ACCOUNT,
    }
    assert DEFAULTS[Category.MENTIONS].digest == Digest.HOURLY
    assert DEFAULTS[Category.KNOWLEDGE].channels == frozenset()
    assert set(DEFAULTS) == set(Category.values)


def test_preferences_of_many_people_in_one_query(
    requester, other_requester, django_assert_num_queries
):
    choose(requester, Category.CHANGES, [], Digest.IMMEDIATE)
    choose(other_requester, Category.MAJOR, [Channel.EMAIL], Digest.DAILY)

    with django_assert_num_queries(1):
        prefs = preferences_for([requester.pk, other_requester.pk])

    assert prefs[requester.pk][Category.CHANGES].channels == frozenset()
    assert prefs[requester.pk][Category.MAJOR] == DEFAULTS[Category.MAJOR]
    assert prefs[other_requester.pk][Category.MAJOR].digest == Digest.DAILY


# --- Quiet hours --------------------------------------------------------------------------------


def quiet(start: time, end: time) -> NotificationSettings:
    return NotificationSettings(quiet_start=start, quiet_end=end)


@pytest.mark.parametrize(
    ("local_now", "until"),
    [
        (datetime(2026, 11, 28, 23, 30), datetime(2026, 11, 29, 7, 0)),
        (datetime(2026, 11, 29, 0, 10), datetime(2026, 11, 29, 7, 0)),
        (datetime(2026, 11, 29, 6, 59), datetime(2026, 11, 29, 7, 0)),
        (datetime(2026, 11, 28, 22, 0), datetime(2026, 11, 29, 7, 0)),
        (datetime(2026, 11, 29, 7, 0), None),
        (datetime(2026, 11, 28, 21, 59), None),
        (datetime(2026, 11, 28, 12, 0), None),
    ],
)
def test_quiet_hours_across_midnight_in_the_persons_zone(local_now, until):
    settings = quiet(time(22, 0), time(7, 0))
    now_utc = local_now.replace(tzinfo=MADRID).astimezone(ZoneInfo("UTC"))

    ends = quiet_until(settings, now_utc, MADRID)

    if until is None:
        assert ends is None
    else:
        assert ends == until.replace(tzinfo=MADRID)
        # 07:00 in Madrid is 06:00 UTC in winter: the zone is the person's, not the server's.
        assert ends.astimezone(ZoneInfo("UTC")).hour == 6


def test_a_window_within_one_day_and_no_window():
    lunch = quiet(time(12, 0), time(13, 0))
    at = datetime(2026, 11, 28, 12, 30, tzinfo=MADRID)
    assert quiet_until(lunch, at, MADRID) == datetime(2026, 11, 28, 13, 0, tzinfo=MADRID)
    assert quiet_until(lunch, at.replace(hour=13), MADRID) is None
    assert quiet_until(quiet(time(9, 0), time(9, 0)), at, MADRID) is None
    assert quiet_until(None, at, MADRID) is None


def test_digests_fall_due_at_the_hour_and_at_eight_but_never_in_quiet_hours():
    at = datetime(2026, 11, 28, 14, 20, tzinfo=MADRID)
    assert digest_due(Digest.HOURLY, None, at, MADRID) == at.replace(hour=15, minute=0)
    assert digest_due(Digest.DAILY, None, at, MADRID) == datetime(2026, 11, 29, 8, 0, tzinfo=MADRID)
    late_sleeper = quiet(time(23, 0), time(9, 30))
    assert digest_due(Digest.DAILY, late_sleeper, at, MADRID) == datetime(
        2026, 11, 29, 9, 30, tzinfo=MADRID
    )
    night = datetime(2026, 11, 28, 23, 40, tzinfo=MADRID)
    assert digest_due(Digest.HOURLY, late_sleeper, night, MADRID) == datetime(
        2026, 11, 29, 9, 30, tzinfo=MADRID
    )


# --- The page -----------------------------------------------------------------------------------


def form_data(**changes):
    data = {}
    for category, preference in DEFAULTS.items():
        for channel in preference.channels:
            data[f"{category}-{channel}"] = "on"
        data[f"{category}-digest"] = preference.digest
    data["urgent_breaks_quiet"] = "on"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_the_page_shows_a_labelled_table_and_links(requester):
    response = signed_in(requester).get("/notifications/preferences/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Notification preferences</h1>" in html
    for _category, label in Category.choices:
        assert label in html
    assert 'name="major-email" id="id_major-email" checked' in html
    assert (
        '<label for="id_major-email" class="visually-hidden">Email for major incidents</label>'
        in html
    )
    assert 'type="time"' in html
    assert 'href="/notifications/webhooks/"' in html


def test_saving_stores_channels_rhythm_quiet_hours_and_audits(requester):
    response = signed_in(requester).post(
        "/notifications/preferences/",
        form_data(
            **{
                "changes-email": None,
                "mentions-digest": Digest.DAILY,
                "quiet_start": "22:00",
                "quiet_end": "07:00",
                "urgent_breaks_quiet": None,
            }
        ),
    )

    assert response.status_code == 302
    prefs = preferences_for([requester.pk])[requester.pk]
    assert prefs[Category.CHANGES].channels == frozenset()
    assert prefs[Category.MENTIONS].digest == Digest.DAILY
    settings = NotificationSettings.objects.get(user=requester)
    assert (settings.quiet_start, settings.quiet_end) == (time(22, 0), time(7, 0))
    assert settings.urgent_breaks_quiet is False
    entry = AuditEntry.objects.get(action="notify.preferences_save")
    assert entry.after["quiet_start"] == "22:00:00"
    assert entry.before["categories"]["changes"]["channels"] == ["email"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quiet_end": "07:00"}, "Quiet hours need both a start and an end"),
        ({"quiet_start": "07:00", "quiet_end": "07:00"}, "cannot start and end at the same time"),
        ({"incidents-webhook": "on"}, "You have no active webhook"),
        ({"incidents-chat": "on"}, "Choose the chat tool"),
        ({"major-digest": "weekly"}, "Select a valid choice"),
        ({"quiet_start": "25:00", "quiet_end": "07:00"}, "Enter a valid time"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_saved(requester, changes, message):
    response = signed_in(requester).post("/notifications/preferences/", form_data(**changes))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert not NotificationPreference.objects.exists()
    assert not NotificationSettings.objects.exists()
    assert not AuditEntry.objects.filter(action="notify.preferences_save").exists()


def test_the_chat_tool_choice_offers_only_tools_offered_to_people(
    requester, administrator, settings
):
    offered = chat_tool_offered(administrator, settings)
    hidden = chat_tool_offered(administrator, settings, offered=False)
    client = signed_in(requester)

    html = client.get("/notifications/preferences/").content.decode()
    assert offered.name in html and hidden.name not in html

    response = client.post(
        "/notifications/preferences/",
        form_data(**{"chat_tool": str(hidden.pk), "incidents-chat": "on"}),
    )
    assert response.status_code == 400
    response = client.post(
        "/notifications/preferences/",
        form_data(**{"chat_tool": str(offered.pk), "incidents-chat": "on", "chat_handle": "@kim"}),
    )
    assert response.status_code == 302
    assert NotificationSettings.objects.get(user=requester).chat_tool == offered


def test_webhook_channel_once_a_webhook_exists(requester, settings):
    webhook_of(requester, settings)

    response = signed_in(requester).post(
        "/notifications/preferences/", form_data(**{"incidents-webhook": "on"})
    )

    assert response.status_code == 302
    prefs = preferences_for([requester.pk])[requester.pk]
    assert prefs[Category.INCIDENTS].channels == {Channel.EMAIL, Channel.WEBHOOK}


def test_both_pages_are_linked_from_the_notifications_page_and_the_user_menu(requester):
    html = signed_in(requester).get("/notifications/").content.decode()

    assert html.count('href="/notifications/preferences/"') == 2
    assert html.count('href="/notifications/subscriptions/"') == 2


def test_signed_out_visitors_are_sent_to_sign_in():
    response = Client().get("/notifications/preferences/")
    assert response.status_code == 302
    assert "/accounts/sign-in/" in response["Location"]


# --- The API ------------------------------------------------------------------------------------


def test_api_reads_the_defaults(requester):
    api = api_as(requester)

    response = api.get("/api/v1/notification-preferences")

    assert response.status_code == 200
    body = response.json()
    by_category = {row["category"]: row for row in body["categories"]}
    assert by_category["major"] == {
        "category": "major",
        "label": "Major incidents",
        "channels": ["email"],
        "digest": "immediate",
    }
    assert body["quiet_start"] is None and body["urgent_breaks_quiet"] is True
    assert body["time_zone"] == "UTC"


def test_api_saves_some_categories_and_keeps_the_others(requester):
    api = api_as(requester)

    response = api.request(
        "PUT",
        "/api/v1/notification-preferences",
        {
            "categories": {"changes": {"channels": [], "digest": "immediate"}},
            "quiet_start": "22:30",
            "quiet_end": "06:45",
        },
    )

    assert response.status_code == 200, response.content
    body = response.json()
    by_category = {row["category"]: row for row in body["categories"]}
    assert by_category["changes"]["channels"] == []
    assert by_category["incidents"]["channels"] == ["email"]
    assert (body["quiet_start"], body["quiet_end"]) == ("22:30:00", "06:45:00")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"categories": {"major": {"channels": ["pigeon"]}}}, "major"),
        ({"categories": {"gossip": {"channels": []}}}, "gossip"),
        ({"categories": {"major": {"channels": ["webhook"]}}}, "major"),
        ({"categories": {"major": {"channels": [], "digest": "weekly"}}}, "major-digest"),
        ({"quiet_start": "22:00"}, "quiet_end"),
    ],
)
def test_api_refuses_bad_input_with_problem_details(requester, payload, field):
    api = api_as(requester)

    response = api.request("PUT", "/api/v1/notification-preferences", payload)

    assert_problem(response, 422)
    assert field in {error["field"] for error in response.json()["errors"]}
    assert not NotificationPreference.objects.exists()
    assert not NotificationSettings.objects.exists()


@pytest.mark.parametrize(
    ("kind", "category"),
    [
        ("incident.major_declared", Category.MAJOR),
        ("incident.official_update", Category.MAJOR),
        ("incident.update", Category.INCIDENTS),
        ("insights.burst", Category.INCIDENTS),
        ("change.start", Category.CHANGES),
        ("known_error", Category.PROBLEMS),
        ("problem.recurrence", Category.PROBLEMS),
        ("wall.mention", Category.MENTIONS),
        ("wall.reply", Category.MENTIONS),
        ("chat.mention", Category.MENTIONS),
        ("chat.message", Category.CHAT),
        ("wall.reputation", Category.KNOWLEDGE),
        ("knowledge.review_due", Category.KNOWLEDGE),
        ("account.token_created", Category.ACCOUNT),
        ("webhook.disabled", Category.ACCOUNT),
    ],
)
def test_every_kind_the_product_sends_falls_in_its_category(kind: str, category: str) -> None:
    # Unknown kinds fall back to "My account" (emailed by default): each source's kind is
    # listed here so that a new one is placed on purpose.
    assert category_of(kind) == category
