"""Digests: held notifications go out as one message per person and channel when due, once."""

from __future__ import annotations

from datetime import datetime, timedelta
from email import message_from_bytes, policy

import pytest
from django.utils import timezone

from hashdesk.core.models import OutboxMessage, OutboxStatus
from hashdesk.core.outbox import deliver_all_due
from hashdesk.notify import tasks
from hashdesk.notify.actions import do_notify
from hashdesk.notify.choices import Category, Channel, Digest
from hashdesk.notify.digests import send_due_digests
from hashdesk.notify.models import DigestEntry
from tests.notify.routing_support import chat_tool_offered, choose, quiet_now

pytestmark = pytest.mark.django_db


def tell(person, title, kind="change.scheduled"):
    return do_notify(person, kind=kind, title=title, body="Saturday 22:00.", url="/changes/")


def later() -> datetime:
    """After every digest due time the tests set up (a daily digest is at most a day away)."""
    return timezone.now() + timedelta(days=1, hours=2)


def test_nothing_is_sent_before_it_is_due(requester):
    choose(requester, Category.CHANGES, [Channel.EMAIL], Digest.DAILY)
    tell(requester, "Change in 3 days")

    assert send_due_digests(timezone.now()) == 0
    assert not OutboxMessage.objects.exists()
    assert DigestEntry.objects.get().sent_at is None


def test_due_entries_go_out_as_one_mail_and_only_once(requester, other_requester):
    choose(requester, Category.CHANGES, [Channel.EMAIL], Digest.DAILY)
    choose(other_requester, Category.CHANGES, [Channel.EMAIL], Digest.HOURLY)
    for title in ("Change in 3 days", "Change moved", "Change cancelled"):
        tell(requester, title)
    tell(other_requester, "Change in 1 hour")

    assert send_due_digests(later()) == 2
    assert send_due_digests(later()) == 0  # a second run sends nothing again

    mails = {m.recipient_id: m for m in OutboxMessage.objects.filter(channel="email")}
    assert set(mails) == {requester.pk, other_requester.pk}
    first = DigestEntry.objects.filter(user=requester).order_by("id").first()
    assert mails[requester.pk].idempotency_key == f"digest:{requester.pk}:email:{first.pk}"
    assert mails[requester.pk].summary == "[Hashdesk] Daily digest: 3 notifications"
    assert mails[other_requester.pk].summary == "[Hashdesk] Hourly digest: 1 notification"
    assert not DigestEntry.objects.filter(sent_at__isnull=True).exists()


def test_a_digest_reaches_a_real_mail_server(requester, smtp_server, settings):
    for name, value in smtp_server.settings().items():
        setattr(settings, name, value)
    choose(requester, Category.CHANGES, [Channel.EMAIL], Digest.DAILY)
    tell(requester, "Change in 3 days: VPN firmware")
    tell(requester, "Change starting now: VPN firmware")

    send_due_digests(later())
    report = deliver_all_due()

    assert len(report.sent) == 1
    [envelope] = smtp_server.mailbox.envelopes
    assert envelope.rcpt_tos == [requester.email]
    mail = message_from_bytes(envelope.content, policy=policy.default)
    assert mail["Subject"] == "[Hashdesk] Daily digest: 2 notifications"
    text = mail.get_body(("plain",)).get_content()
    assert "Change in 3 days: VPN firmware" in text
    assert "Change starting now: VPN firmware" in text
    assert OutboxMessage.objects.get().status == OutboxStatus.SENT


def test_what_arrived_in_quiet_hours_comes_as_while_you_were_away(requester):
    choose(requester, Category.INCIDENTS, [Channel.EMAIL], quiet=quiet_now(timezone.now()))
    do_notify(requester, kind="incident.update", title="VPN is slow")
    do_notify(requester, kind="incident.resolved", title="VPN is back")

    assert send_due_digests(later()) == 1

    mail = OutboxMessage.objects.get()
    assert mail.summary == "[Hashdesk] While you were away: 2 notifications"


def test_one_digest_per_person_and_channel(requester, administrator, settings):
    tool = chat_tool_offered(administrator, settings)
    choose(
        requester, Category.CHANGES, [Channel.EMAIL, Channel.CHAT], Digest.HOURLY, chat_tool=tool
    )
    tell(requester, "Change in 3 days")
    tell(requester, "Change moved")

    assert send_due_digests(later()) == 2

    chat = OutboxMessage.objects.get(channel="chat")
    assert chat.payload["tool_id"] == tool.pk
    assert chat.idempotency_key.startswith(f"digest:{requester.pk}:chat:")
    assert "Change moved" in str(chat.payload)
    assert OutboxMessage.objects.filter(channel="email").count() == 1


def test_an_inactive_person_gets_no_digest(requester):
    choose(requester, Category.CHANGES, [Channel.EMAIL], Digest.DAILY)
    tell(requester, "Change in 3 days")
    type(requester).objects.filter(pk=requester.pk).update(is_active=False)

    assert send_due_digests(later()) == 0
    assert not OutboxMessage.objects.exists()
    # Still marked: a person who comes back does not get a stale digest.
    assert not DigestEntry.objects.filter(sent_at__isnull=True).exists()


def test_the_periodic_task_sends_due_digests(requester):
    choose(requester, Category.CHANGES, [Channel.EMAIL], Digest.HOURLY)
    tell(requester, "Change in 1 hour")
    DigestEntry.objects.update(due_at=timezone.now() - timedelta(minutes=1))

    assert tasks.send_digests.call_local() == 1
    assert tasks.send_digests.call_local() == 0
    assert OutboxMessage.objects.count() == 1


def test_digest_task_runs_every_five_minutes():
    task = tasks.send_digests.task_class()
    moment = timezone.now().replace(minute=10, second=0, microsecond=0)

    assert task.validate_datetime(moment) is True
    assert task.validate_datetime(moment.replace(minute=11)) is False
