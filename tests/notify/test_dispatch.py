"""Dispatch: every notification reaches the channels its recipient chose, at once, in a digest or
after quiet hours — in the transaction that created it, at a constant number of queries."""

from __future__ import annotations

import re

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hashdesk.core.models import OutboxMessage
from hashdesk.notify.actions import Notice, do_notify, do_notify_many, do_send_notices
from hashdesk.notify.choices import Category, Channel, Digest
from hashdesk.notify.models import DigestEntry, Notification
from hashdesk.notify.preferences import digest_due, zone_of
from tests.notify.routing_support import (
    chat_tool_offered,
    choose,
    held_channels,
    out_channels,
    quiet_now,
    webhook_of,
)

pytestmark = pytest.mark.django_db

EMAIL, CHAT, WEBHOOK = Channel.EMAIL, Channel.CHAT, Channel.WEBHOOK


def tell(person, kind="incident.update", title="VPN is back"):
    return do_notify(person, kind=kind, title=title, body="It works again.", url="/incidents/")


# --- Defaults -----------------------------------------------------------------------------------


def test_by_default_an_incident_update_is_mailed_at_once(requester):
    notification = tell(requester)

    message = OutboxMessage.objects.get(recipient=requester)
    assert message.channel == "email"
    assert message.idempotency_key == f"email:n{notification.pk}"
    assert message.target == requester.email
    assert message.kind == "incident.update"
    assert not DigestEntry.objects.exists()


def test_by_default_knowledge_news_stays_in_the_app(requester):
    tell(requester, kind="knowledge.article_published")

    assert Notification.objects.filter(recipient=requester).count() == 1
    assert not OutboxMessage.objects.exists()
    assert not DigestEntry.objects.exists()


def test_by_default_mentions_wait_for_the_hourly_digest(requester):
    notification = tell(requester, kind="wall.mention", title="Kim mentioned you")

    entry = DigestEntry.objects.get(user=requester)
    assert entry.channel == "email" and entry.notification == notification
    due = entry.due_at
    assert due > timezone.now() and (due.minute, due.second) == (0, 0)
    assert not OutboxMessage.objects.exists()


# --- The matrix ---------------------------------------------------------------------------------

MATRIX = [
    # (kind, channels, digest, in quiet hours, urgent breaks quiet, sent now, held)
    ("incident.update", {EMAIL}, Digest.IMMEDIATE, False, True, [EMAIL], []),
    ("incident.update", {EMAIL, WEBHOOK}, Digest.IMMEDIATE, False, True, [EMAIL, WEBHOOK], []),
    ("incident.update", {EMAIL, CHAT}, Digest.IMMEDIATE, False, True, [CHAT, EMAIL], []),
    (
        "incident.update",
        {EMAIL, CHAT, WEBHOOK},
        Digest.DAILY,
        False,
        True,
        [WEBHOOK],
        [CHAT, EMAIL],
    ),
    ("incident.update", {EMAIL}, Digest.HOURLY, False, True, [], [EMAIL]),
    ("incident.update", {EMAIL, CHAT}, Digest.IMMEDIATE, True, True, [], [CHAT, EMAIL]),
    ("incident.update", {WEBHOOK}, Digest.IMMEDIATE, True, True, [WEBHOOK], []),
    ("incident.major_declared", {EMAIL, CHAT}, Digest.IMMEDIATE, True, True, [CHAT, EMAIL], []),
    ("incident.official_update", {EMAIL}, Digest.IMMEDIATE, True, False, [], [EMAIL]),
    ("incident.major_resolved", {EMAIL}, Digest.DAILY, True, True, [], [EMAIL]),
    ("incident.update", set(), Digest.IMMEDIATE, False, True, [], []),
]


@pytest.mark.parametrize(("kind", "channels", "digest", "quiet", "urgent", "sent", "held"), MATRIX)
def test_dispatch_matrix(
    requester, administrator, settings, kind, channels, digest, quiet, urgent, sent, held
):
    from hashdesk.notify.choices import category_of

    tool = chat_tool_offered(administrator, settings)
    webhook_of(requester, settings)
    window = quiet_now(timezone.now().astimezone(zone_of(requester))) if quiet else None
    choose(
        requester,
        category_of(kind),
        channels,
        digest,
        quiet=window,
        urgent_breaks_quiet=urgent,
        chat_tool=tool,
    )

    notification = tell(requester, kind=kind)

    assert Notification.objects.filter(recipient=requester).count() == 1
    assert out_channels(requester) == sent
    assert held_channels(requester) == held
    for entry in DigestEntry.objects.filter(user=requester):
        assert entry.notification == notification
        assert entry.due_at > timezone.now()


def test_held_in_quiet_hours_until_they_end(requester):
    now = timezone.now()
    start, end = quiet_now(now)
    choose(requester, Category.INCIDENTS, {EMAIL}, quiet=(start, end))

    tell(requester)

    entry = DigestEntry.objects.get(user=requester)
    assert entry.due_at.time().replace(tzinfo=None) == end
    assert now < entry.due_at <= now + timezone.timedelta(hours=1, minutes=1)


def test_a_daily_digest_is_due_at_eight_in_the_persons_zone(requester):
    requester.time_zone = "Asia/Tokyo"
    requester.save(update_fields=["time_zone"])
    choose(requester, Category.CHANGES, {EMAIL}, Digest.DAILY)

    tell(requester, kind="change.scheduled")

    entry = DigestEntry.objects.get(user=requester)
    local = entry.due_at.astimezone(zone_of(requester))
    assert (local.hour, local.minute) == (8, 0)
    assert entry.due_at == digest_due(Digest.DAILY, None, entry.created_at, zone_of(requester))


# --- Who gets nothing ---------------------------------------------------------------------------


def test_inactive_people_and_people_without_an_address_get_no_mail(requester, other_requester):
    type(requester).objects.filter(pk=requester.pk).update(is_active=False)
    type(other_requester).objects.filter(pk=other_requester.pk).update(email="")
    requester.refresh_from_db()
    other_requester.refresh_from_db()

    do_notify_many([requester, other_requester], kind="incident.update", title="Back")

    assert Notification.objects.count() == 2
    assert not OutboxMessage.objects.exists()


def test_a_chat_tool_no_longer_offered_carries_nothing(requester, administrator, settings):
    tool = chat_tool_offered(administrator, settings)
    choose(requester, Category.INCIDENTS, {CHAT}, chat_tool=tool)
    type(tool).objects.filter(pk=tool.pk).update(offered_to_people=False)

    tell(requester)

    assert out_channels(requester) == []


def test_a_chat_delivery_mentions_the_persons_handle(requester, administrator, settings):
    tool = chat_tool_offered(administrator, settings)
    choose(requester, Category.INCIDENTS, {CHAT}, chat_tool=tool, handle="@kim")

    notification = tell(requester)

    message = OutboxMessage.objects.get(recipient=requester)
    assert message.channel == "chat"
    assert message.payload["tool_id"] == tool.pk
    assert message.idempotency_key == f"chat:t{tool.pk}:n{notification.pk}"
    assert "kim" in str(message.payload)


def test_webhooks_receive_only_their_categories(requester, settings):
    changes_only = webhook_of(requester, settings, categories=[Category.CHANGES])
    everything = webhook_of(requester, settings)
    choose(requester, Category.INCIDENTS, {WEBHOOK})
    choose(requester, Category.CHANGES, {WEBHOOK})

    incident = tell(requester)
    change = tell(requester, kind="change.scheduled")

    keys = set(OutboxMessage.objects.values_list("idempotency_key", flat=True))
    assert keys == {
        f"webhook:e{everything.pk}:n{incident.pk}",
        f"webhook:e{everything.pk}:n{change.pk}",
        f"webhook:e{changes_only.pk}:n{change.pk}",
    }


def test_a_disabled_webhook_alerts_its_owner_by_mail_not_by_itself(requester, settings):
    endpoint = webhook_of(requester, settings)
    choose(requester, Category.ACCOUNT, {EMAIL, WEBHOOK})
    type(endpoint).objects.filter(pk=endpoint.pk).update(is_active=False)

    tell(requester, kind="webhook.disabled", title="Your webhook was switched off")

    assert out_channels(requester) == [EMAIL]


# --- One transaction, constant queries ----------------------------------------------------------


def test_a_rolled_back_notice_leaves_no_notification_and_no_outbox_row(requester, settings):
    choose(requester, Category.MENTIONS, {EMAIL})  # immediate
    webhook_of(requester, settings)
    choose(requester, Category.INCIDENTS, {EMAIL, WEBHOOK}, Digest.HOURLY)

    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction.atomic():
        tell(requester, kind="wall.mention")
        tell(requester)
        raise Refused

    assert not Notification.objects.exists()
    assert not OutboxMessage.objects.exists()
    assert not DigestEntry.objects.exists()


def _queries_for(people, kind="incident.update"):
    with CaptureQueriesContext(connection) as ctx:
        do_send_notices(Notice(recipient=p, kind=kind, title="Back") for p in people)
    return [query["sql"] for query in ctx.captured_queries]


def _reads(queries):
    """The tables read, in order (PostgreSQL's advisory locks count as reads of the lock)."""
    return [
        found.group(1) if (found := re.search(r" FROM (\S+)", sql)) else sql.split("(")[0]
        for sql in queries
        if sql.startswith("SELECT")
    ]


def _inserts(queries):
    """The tables written, whatever the dialect ("INSERT OR IGNORE INTO", "INSERT INTO")."""
    return {re.search(r"INTO (\S+)", sql).group(1) for sql in queries if sql.startswith("INSERT")}


def test_dispatch_costs_the_same_for_one_and_for_two_hundred(make_person, settings):
    people = [make_person(f"person{i}@example.test") for i in range(201)]
    # Even: a webhook at once and email in a daily digest; odd: the default, email at once.
    for person in people[::2]:
        webhook_of(person, settings)
        choose(person, Category.INCIDENTS, {EMAIL, WEBHOOK}, Digest.DAILY)

    one = _queries_for(people[:1])
    many = _queries_for(people[1:])

    # The same reads (preferences, settings, webhooks, unread counts) whatever the number;
    # each table is written by one bulk INSERT, which SQLite alone splits by its limit on
    # parameters per statement (PostgreSQL sends exactly as many queries for 200 as for one).
    assert _reads(many) == _reads(one)
    assert [table for table in _reads(one) if "notify_" in table] == [
        '"notify_notification"',  # the unread counts
        '"notify_notificationpreference"',
        '"notify_notificationsettings"',
        '"notify_webhookendpoint"',
    ]
    assert _inserts(many) == _inserts(one)
    if connection.vendor == "postgresql":
        assert len(many) == len(one)
    assert OutboxMessage.objects.filter(channel="webhook").count() == 101
    assert OutboxMessage.objects.filter(channel="email").count() == 100
    assert DigestEntry.objects.filter(channel="email").count() == 101


def test_every_notice_sends_its_live_event(requester, other_requester, capture_events):
    with capture_events() as events:
        do_notify_many([requester, other_requester], kind="incident.update", title="Back")

    notices = [e for e in events if e.type == "notification"]
    assert len(notices) == 2
    assert {tuple(e.streams) for e in notices} == {
        (f"user:{requester.pk}",),
        (f"user:{other_requester.pk}",),
    }
