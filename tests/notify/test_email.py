"""Notification mails through a real SMTP server (aiosmtpd): what arrives, how it threads, how
replies are matched, one SMTP session per batch, and what a refusing server does to delivery."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.test import override_settings
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.core import outbox
from hashdesk.core.models import DeliveryAttempt, OutboxMessage, OutboxStatus
from hashdesk.notify.actions import do_notify
from hashdesk.notify.email import (
    digest_email,
    notice_email,
    parse_reply_token,
    reply_token,
    status_email,
    thread_of,
)
from hashdesk.notify.models import Notification
from hashdesk.notify.unsubscribe import read_unsubscribe_token
from tests.servers import SmtpServer, free_port

# --- A scripted SMTP server: counts sessions, refuses or defers chosen recipients ---------------


@dataclass
class ScriptedMailbox:
    """An aiosmtpd handler that answers RCPT for chosen addresses with a chosen reply, can drop
    the connection at the start of a session's second mail, and counts SMTP sessions (EHLO)."""

    answers: dict[str, str] = field(default_factory=dict)
    data_answer: str = "250 Message accepted"
    drop_second_mail_of_session: bool = False
    sessions: int = 0
    envelopes: list[Envelope] = field(default_factory=list)
    _mails_in_session: dict[int, int] = field(default_factory=dict)

    async def handle_EHLO(
        self, server: SMTP, session: Session, envelope: Envelope, hostname: str, responses: Any
    ) -> Any:
        session.host_name = hostname
        self.sessions += 1
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        count = self._mails_in_session.get(id(session), 0) + 1
        self._mails_in_session[id(session)] = count
        if self.drop_second_mail_of_session and count == 2:
            assert server.transport is not None
            server.transport.close()  # the server goes away before answering
            await asyncio.sleep(0)
            return "421 closing"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        answer = self.answers.get(address)
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_answer.startswith("250"):
            self.envelopes.append(envelope)
        return self.data_answer


@pytest.fixture
def scripted_smtp() -> Iterator[tuple[ScriptedMailbox, dict[str, Any]]]:
    mailbox = ScriptedMailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, SmtpServer(port, mailbox).settings()  # type: ignore[arg-type]
    finally:
        controller.stop()


def _mails(envelopes: list[Envelope]) -> list[EmailMessage]:
    return [
        message_from_bytes(envelope.original_content or b"", policy=policy.default)
        for envelope in envelopes
    ]


def _part(mail: EmailMessage, content_type: str) -> str:
    body = mail.get_body(preferencelist=(content_type.split("/")[1],))
    assert body is not None and body.get_content_type() == content_type
    return str(body.get_content()).replace("\r\n", "\n")


@pytest.fixture
def notice(requester: User) -> Callable[..., Notification]:
    """A notification row as notify.actions writes it (the mail is built from the row alone)."""

    def make(
        *,
        title: str = "Update on INC-000042: VPN is down",
        body: str = "We restarted the gateway.\nNext update at 10:00.",
        url: str = "/incidents/INC-000042/",
        kind: str = "incident.update",
        recipient: User | None = None,
    ) -> Notification:
        return Notification.objects.create(
            recipient=recipient or requester, kind=kind, title=title, body=body, url=url
        )

    return make


def _use(settings: Any, overrides: dict[str, Any]) -> None:
    for name, value in overrides.items():
        setattr(settings, name, value)


def _send(deliveries: list[outbox.Delivery]) -> outbox.DeliveryReport:
    outbox.enqueue_many(deliveries)
    return outbox.deliver_due(limit=100)


# --- What arrives -------------------------------------------------------------------------------


def test_a_notice_arrives_as_text_and_html_with_threading_reply_and_list_headers(
    smtp_server: SmtpServer, settings: Any, requester: User, notice: Callable[..., Notification]
) -> None:
    _use(settings, smtp_server.settings())
    settings.PUBLIC_URL = "https://desk.example.test"
    settings.NOTIFY_REPLY_DOMAIN = "replies.example.test"
    notification = notice()

    report = _send([notice_email(notification, requester)])

    assert len(report.sent) == 1
    (mail,) = _mails(smtp_server.mailbox.envelopes)
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["To"] == "requester@example.test"
    assert mail["Subject"] == "[Hashdesk INC-000042] Update on INC-000042: VPN is down"
    assert mail["Message-ID"] == outbox.message_id_for(f"email:n{notification.pk}")
    assert mail["In-Reply-To"] == "<incident.INC-000042@desk.example.test>"
    assert mail["References"] == "<incident.INC-000042@desk.example.test>"
    assert mail["X-Hashdesk-Thread"] == "incident/INC-000042"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["X-Auto-Response-Suppress"] == "All"
    assert mail["List-Id"] == "Hashdesk notifications <notifications.desk.example.test>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["Precedence"] is None  # only digests are bulk
    unsubscribe = str(mail["List-Unsubscribe"]).strip()  # long: folded after the colon
    assert unsubscribe.startswith("<https://desk.example.test/notifications/unsubscribe/")
    token = unsubscribe.rstrip("/>").rsplit("/", 1)[1]
    wanted = read_unsubscribe_token(token)
    assert wanted is not None
    assert wanted.user == requester and [str(c) for c in wanted.categories] == ["incidents"]

    reply_to = str(mail["Reply-To"])
    local, domain = reply_to.split("@")
    assert domain == "replies.example.test"
    assert local.startswith("reply+") and len(local) <= 64  # RFC 5321 local-part limit
    assert parse_reply_token(local.removeprefix("reply+")) == (
        requester.pk,
        "incident/INC-000042",
    )

    text = _part(mail, "text/plain")
    assert "We restarted the gateway.\nNext update at 10:00." in text
    assert "https://desk.example.test/incidents/INC-000042/" in text
    assert "You receive this because of your notification preferences" in text
    assert "https://desk.example.test/notifications/preferences/" in text
    assert unsubscribe.strip("<>") in text
    html = _part(mail, "text/html")
    assert '<html lang="en">' in html
    assert "<table" not in html
    assert "<p>We restarted the gateway.<br>Next update at 10:00.</p>" in html
    assert 'href="https://desk.example.test/incidents/INC-000042/"' in html
    assert "Open INC-000042 in Hashdesk" in html
    assert f'href="{unsubscribe.strip("<>")}"' in html
    assert 'href="https://desk.example.test/notifications/preferences/"' in html


def test_a_notification_goes_from_the_action_to_the_mailbox(
    smtp_server: SmtpServer,
    settings: Any,
    requester: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The product path: do_notify → dispatch → notice_email → outbox → SMTP."""
    _use(settings, smtp_server.settings())
    with django_capture_on_commit_callbacks(execute=False):
        notification = do_notify(
            requester,
            kind="incident.update",
            title="Your incident INC-000042 has an update",
            url="/incidents/INC-000042/",
        )
    outbox.deliver_all_due()

    (mail,) = _mails(smtp_server.mailbox.envelopes)
    assert mail["Message-ID"] == outbox.message_id_for(f"email:n{notification.pk}")
    row = OutboxMessage.objects.get(idempotency_key=f"email:n{notification.pk}")
    assert row.status == OutboxStatus.SENT
    assert row.recipient_id == requester.pk
    assert row.target == "requester@example.test"
    assert row.summary == "[Hashdesk INC-000042] Your incident INC-000042 has an update"
    assert row.kind == "incident.update"


def test_two_updates_of_one_incident_share_a_thread_and_another_incident_does_not(
    smtp_server: SmtpServer, settings: Any, requester: User, notice: Callable[..., Notification]
) -> None:
    _use(settings, smtp_server.settings())
    first = notice(title="Update on INC-000042: investigating")
    second = notice(title="Update on INC-000042: fixed")
    other = notice(title="Update on INC-000043: printer", url="/incidents/INC-000043/#entry-9")

    _send([notice_email(n, requester) for n in (first, second, other)])

    mails = {str(m["Message-ID"]): m for m in _mails(smtp_server.mailbox.envelopes)}
    one, two, three = (
        mails[outbox.message_id_for(f"email:n{n.pk}")] for n in (first, second, other)
    )
    assert one["References"] == two["References"] == one["In-Reply-To"] == two["In-Reply-To"]
    assert one["X-Hashdesk-Thread"] == two["X-Hashdesk-Thread"] == "incident/INC-000042"
    assert three["References"] != one["References"]
    assert three["X-Hashdesk-Thread"] == "incident/INC-000043"
    assert one["Message-ID"] != two["Message-ID"]
    # The subject's prefix stays the same for the whole thread.
    assert str(one["Subject"]).startswith("[Hashdesk INC-000042] ")
    assert str(two["Subject"]).startswith("[Hashdesk INC-000042] ")
    assert str(three["Subject"]).startswith("[Hashdesk INC-000043] ")


@pytest.mark.parametrize(
    ("url", "thread"),
    [
        ("/incidents/INC-000042/", "incident/INC-000042"),
        ("/incidents/INC-000042/timeline/?after=3#entry-4", "incident/INC-000042"),
        ("/changes/CHG-000007/", "change/CHG-000007"),
        ("/problems/12/", "problem/12"),
        ("/knowledge/articles/KB-000003/", "article/KB-000003"),
        ("/wall/posts/99/", "post/99"),
        ("/chat/conversations/5/", "conversation/5"),
        ("http://127.0.0.1:8000/incidents/INC-000001/", "incident/INC-000001"),
        ("/changes/new/", None),
        ("/catalogue/vpn/", None),
        ("", None),
        ("https://elsewhere.example/incidents/INC-000001/", None),
    ],
)
def test_the_thread_of_a_notification_comes_from_its_address(
    settings: Any, url: str, thread: str | None
) -> None:
    settings.PUBLIC_URL = "http://127.0.0.1:8000"
    found = thread_of(url)
    assert (found.name if found else None) == thread


def test_mails_without_a_record_have_no_thread_and_no_reply_address(
    requester: User, notice: Callable[..., Notification]
) -> None:
    delivery = notice_email(
        notice(title="A new API token was created", url="/accounts/tokens/", kind="account.x"),
        requester,
    )
    headers = delivery.payload["headers"]
    assert "In-Reply-To" not in headers and "X-Hashdesk-Thread" not in headers
    assert "reply_to" not in delivery.payload
    assert delivery.payload["subject"] == "A new API token was created"


def test_building_mails_for_many_recipients_queries_nothing(
    make_person: Callable[..., User], requester: User, django_assert_num_queries: Any
) -> None:
    people = [make_person(f"person{i}@example.test") for i in range(30)]
    notifications = [
        Notification(
            pk=1000 + i,
            recipient=person,
            kind="incident.major_declared",
            title="Major incident INC-000042: VPN down",
            url="/incidents/INC-000042/",
        )
        for i, person in enumerate(people)
    ]
    with django_assert_num_queries(0):
        deliveries = [notice_email(n, n.recipient) for n in notifications]
    assert len({d.key for d in deliveries}) == 30
    # Each recipient gets their own unsubscribe and reply tokens in the shared rendering.
    assert len({d.payload["headers"]["List-Unsubscribe"] for d in deliveries}) == 30
    assert len({d.payload["html"] for d in deliveries}) == 30
    assert all(
        d.payload["headers"]["List-Unsubscribe"][1:-1] in d.payload["html"] for d in deliveries
    )


# --- Escaping -----------------------------------------------------------------------------------


def test_markup_in_a_title_or_body_is_escaped_in_the_html_part(
    smtp_server: SmtpServer, settings: Any, requester: User, notice: Callable[..., Notification]
) -> None:
    _use(settings, smtp_server.settings())
    notification = notice(
        title='VPN <script>alert("x")</script> down',
        body='<img src=x onerror="steal()"> & more',
    )

    _send([notice_email(notification, requester)])

    (mail,) = _mails(smtp_server.mailbox.envelopes)
    html = _part(mail, "text/html")
    assert "<script>" not in html and "<img" not in html
    assert "VPN &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; down" in html
    assert "&lt;img src=x onerror=&quot;steal()&quot;&gt; &amp; more" in html
    # The text part is plain text: shown as written.
    assert 'VPN <script>alert("x")</script> down' in _part(mail, "text/plain")


def test_a_line_break_in_a_title_cannot_add_headers(
    smtp_server: SmtpServer, settings: Any, requester: User, notice: Callable[..., Notification]
) -> None:
    _use(settings, smtp_server.settings())
    notification = notice(title="Update\r\nBcc: attacker@example.test", url="")

    _send([notice_email(notification, requester)])

    (envelope,) = smtp_server.mailbox.envelopes
    assert envelope.rcpt_tos == ["requester@example.test"]
    (mail,) = _mails([envelope])
    assert mail["Bcc"] is None
    assert mail["Subject"] == "Update Bcc: attacker@example.test"


# --- Reply tokens -------------------------------------------------------------------------------


def test_a_reply_token_names_its_recipient_and_thread_in_any_letter_case(settings: Any) -> None:
    thread = thread_of("/changes/CHG-000007/")
    assert thread is not None
    token = reply_token(42, thread)

    assert parse_reply_token(token) == (42, "change/CHG-000007")
    assert parse_reply_token(token.upper()) == (42, "change/CHG-000007")
    # Still valid after the secret key is rotated (the old one kept as a fallback).
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-that-is-long-enough-for-django-0123456789"
    assert parse_reply_token(token) == (42, "change/CHG-000007")


def test_a_forged_reply_token_is_refused(settings: Any) -> None:
    thread = thread_of("/incidents/INC-000042/")
    assert thread is not None
    token = reply_token(42, thread)
    user_id, kind, ref, signature = token.split(".")

    assert parse_reply_token(f"43.{kind}.{ref}.{signature}") is None  # someone else
    assert parse_reply_token(f"{user_id}.{kind}.inc-000043.{signature}") is None  # another thread
    assert parse_reply_token(f"{user_id}.change.{ref}.{signature}") is None
    assert parse_reply_token(f"{user_id}.{kind}.{ref}.{'a' * 16}") is None
    assert parse_reply_token(f"{user_id}.{kind}.{ref}") is None
    assert parse_reply_token("") is None
    assert parse_reply_token("not a token at all") is None
    settings.SECRET_KEY = "another-installation-with-its-own-key-0123456789-abcdefghij"
    assert parse_reply_token(token) is None


# --- One SMTP session per batch -----------------------------------------------------------------


def test_a_batch_of_mails_is_sent_over_one_smtp_session(
    scripted_smtp: tuple[ScriptedMailbox, dict[str, Any]],
    settings: Any,
    make_person: Callable[..., User],
    notice: Callable[..., Notification],
) -> None:
    mailbox, smtp_settings = scripted_smtp
    _use(settings, smtp_settings)
    people = [make_person(f"subscriber{i}@example.test") for i in range(12)]
    deliveries = [notice_email(notice(recipient=person), person) for person in people]

    report = _send(deliveries)

    assert len(report.sent) == 12
    assert len(mailbox.envelopes) == 12
    assert mailbox.sessions == 1
    # The next batch opens its own session: none is left open between batches.
    _send([notice_email(notice(title="Later"), people[0])])
    assert mailbox.sessions == 2


def test_a_connection_the_server_drops_mid_batch_is_reopened_for_the_next_mail(
    scripted_smtp: tuple[ScriptedMailbox, dict[str, Any]],
    settings: Any,
    make_person: Callable[..., User],
    notice: Callable[..., Notification],
) -> None:
    mailbox, smtp_settings = scripted_smtp
    _use(settings, smtp_settings)
    mailbox.drop_second_mail_of_session = True  # every session takes one mail, then hangs up
    people = [make_person(f"subscriber{i}@example.test") for i in range(3)]

    report = _send([notice_email(notice(recipient=person), person) for person in people])

    assert len(report.sent) == 3
    assert sorted(e.rcpt_tos[0] for e in mailbox.envelopes) == [p.email for p in people]
    assert mailbox.sessions == 3


# --- A server that refuses ----------------------------------------------------------------------


def test_a_recipient_the_server_refuses_fails_at_once_with_the_servers_words(
    scripted_smtp: tuple[ScriptedMailbox, dict[str, Any]],
    settings: Any,
    requester: User,
    other_requester: User,
    notice: Callable[..., Notification],
) -> None:
    mailbox, smtp_settings = scripted_smtp
    _use(settings, smtp_settings)
    mailbox.answers["requester@example.test"] = "550 5.1.1 no such user"
    refused = notice_email(notice(), requester)
    accepted = notice_email(notice(recipient=other_requester), other_requester)

    report = _send([refused, accepted])

    assert len(report.failed) == 1 and len(report.sent) == 1
    row = OutboxMessage.objects.get(idempotency_key=refused.key)
    assert row.status == OutboxStatus.FAILED
    assert row.attempts == 1  # no retry can help
    assert "550 5.1.1 no such user" in row.last_error
    assert "requester@example.test" in row.last_error
    (attempt,) = DeliveryAttempt.objects.filter(message=row)
    assert not attempt.succeeded and "550" in attempt.error
    # The same session carried on with the next mail.
    assert [e.rcpt_tos for e in mailbox.envelopes] == [["colleague@example.test"]]
    assert mailbox.sessions == 1


def test_a_message_refused_after_data_fails_at_once(
    scripted_smtp: tuple[ScriptedMailbox, dict[str, Any]],
    settings: Any,
    requester: User,
    notice: Callable[..., Notification],
) -> None:
    mailbox, smtp_settings = scripted_smtp
    _use(settings, smtp_settings)
    mailbox.data_answer = "554 5.7.1 message rejected as spam"
    delivery = notice_email(notice(), requester)

    report = _send([delivery])

    assert len(report.failed) == 1
    row = OutboxMessage.objects.get(idempotency_key=delivery.key)
    assert row.status == OutboxStatus.FAILED
    assert "554 5.7.1 message rejected as spam" in row.last_error


def test_a_deferred_recipient_is_retried_and_delivered_once_the_server_accepts(
    scripted_smtp: tuple[ScriptedMailbox, dict[str, Any]],
    settings: Any,
    requester: User,
    notice: Callable[..., Notification],
) -> None:
    mailbox, smtp_settings = scripted_smtp
    _use(settings, smtp_settings)
    mailbox.answers["requester@example.test"] = "451 4.7.1 greylisted, try again later"
    delivery = notice_email(notice(), requester)

    report = _send([delivery])

    assert report.retrying and not report.failed
    row = OutboxMessage.objects.get(idempotency_key=delivery.key)
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert "451 4.7.1 greylisted, try again later" in row.last_error
    assert row.next_attempt_at > timezone.now()
    assert mailbox.envelopes == []

    del mailbox.answers["requester@example.test"]
    later = outbox.deliver_due(
        now=timezone.now() + timedelta(seconds=settings.OUTBOX_RETRY_MAX_SECONDS)
    )

    assert later.sent == [row.pk]
    assert len(mailbox.envelopes) == 1
    assert outbox.deliver_due(now=timezone.now() + timedelta(days=1)).attempted == 0


def test_a_closed_smtp_port_is_retried_and_nothing_is_lost(
    closed_smtp_port: int,
    smtp_server: SmtpServer,
    requester: User,
    notice: Callable[..., Notification],
    settings: Any,
) -> None:
    delivery = notice_email(notice(), requester)
    _use(settings, {**smtp_server.settings(), "EMAIL_PORT": closed_smtp_port})

    report = _send([delivery])

    assert report.retrying and not report.failed
    row = OutboxMessage.objects.get(idempotency_key=delivery.key)
    assert row.status == OutboxStatus.PENDING
    assert "Connection" in row.last_error or "refused" in row.last_error.lower()

    settings.EMAIL_PORT = smtp_server.port
    later = outbox.deliver_due(
        now=timezone.now() + timedelta(seconds=settings.OUTBOX_RETRY_MAX_SECONDS)
    )
    assert later.sent == [row.pk]
    assert len(smtp_server.mailbox.envelopes) == 1


def test_an_invalid_address_never_reaches_the_mail_server(
    scripted_smtp: tuple[ScriptedMailbox, dict[str, Any]],
    settings: Any,
    make_person: Callable[..., User],
    notice: Callable[..., Notification],
) -> None:
    mailbox, smtp_settings = scripted_smtp
    _use(settings, smtp_settings)
    person = make_person("typo@example.test")
    User.objects.filter(pk=person.pk).update(email="typo@@example")  # an address gone bad
    person.refresh_from_db()

    report = _send([notice_email(notice(recipient=person), person)])

    assert len(report.failed) == 1
    row = OutboxMessage.objects.get(pk=report.failed[0])
    assert row.attempts == 1
    assert row.last_error == "'typo@@example' is not a valid email address; nothing was sent."
    assert mailbox.sessions == 0 and mailbox.envelopes == []


# --- Digests and status mails -------------------------------------------------------------------


def test_a_digest_lists_its_notifications_in_one_bulk_mail(
    smtp_server: SmtpServer, settings: Any, requester: User, notice: Callable[..., Notification]
) -> None:
    _use(settings, smtp_server.settings())
    listed = [
        notice(title="Mentioned by the VPN agent", kind="wall.mention", url="/wall/posts/7/"),
        notice(
            title="A change to VPN is scheduled",
            kind="change.scheduled",
            url="/changes/CHG-000001/",
        ),
        notice(title="<b>Bold</b> reply", kind="wall.reply", url="/wall/posts/8/", body="Thanks!"),
    ]

    Notification.objects.filter(pk=listed[0].pk).update(
        created_at=datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    )
    listed[0].refresh_from_db()
    requester.time_zone = "Asia/Tokyo"

    _send([digest_email(requester, listed, period_label="Hourly digest", key="digest:test:1")])

    (mail,) = _mails(smtp_server.mailbox.envelopes)
    assert mail["Subject"] == "[Hashdesk] Hourly digest: 3 notifications"
    assert mail["Precedence"] == "bulk"
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["Message-ID"] == outbox.message_id_for("digest:test:1")
    assert mail["X-Hashdesk-Thread"] is None
    html = _part(mail, "text/html")
    assert html.count("<li ") == 3
    assert "&lt;b&gt;Bold&lt;/b&gt; reply" in html
    assert (
        '<a href="http://127.0.0.1:8000/changes/CHG-000001/" style="color:#0b57d0;">'
        "A change to VPN is scheduled</a>"
    ) in html
    text = _part(mail, "text/plain")
    assert "* Mentioned by the VPN agent" in text and "Thanks!" in text
    assert "Open CHG-000001: http://127.0.0.1:8000/changes/CHG-000001/" in text
    assert "1 Jan 2026, 09:30" in text  # in the person's time zone
    assert '<time datetime="2026-01-01T09:30:00+09:00">1 Jan 2026, 09:30</time>' in html
    token = str(mail["List-Unsubscribe"]).strip().rstrip("/>").rsplit("/", 1)[1]
    wanted = read_unsubscribe_token(token)
    assert wanted is not None
    # Unsubscribing from a digest stops email for every category it held.
    assert sorted(str(c) for c in wanted.categories) == ["changes", "mentions"]


def test_a_digest_needs_something_to_list(requester: User) -> None:
    with pytest.raises(ValueError, match="at least one"):
        digest_email(requester, [], period_label="Daily digest", key="digest:empty")


def test_a_status_mail_to_an_anonymous_subscriber_threads_and_unsubscribes(
    smtp_server: SmtpServer, settings: Any, db: Any
) -> None:
    _use(settings, smtp_server.settings())
    delivery = status_email(
        "visitor@example.test",
        "VPN: major outage",
        "The VPN is down.",
        "<p>The VPN is down.</p>",
        key="status:incident:1:subscriber:9",
        unsubscribe_url="/status/subscribe/unsubscribe/abc/",
        thread="incident/INC-000042",
    )
    assert delivery.recipient_id is None and delivery.target == "visitor@example.test"

    _send([delivery])

    (mail,) = _mails(smtp_server.mailbox.envelopes)
    assert str(mail["List-Unsubscribe"]).strip() == (
        "<http://127.0.0.1:8000/status/subscribe/unsubscribe/abc/>"
    )
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["List-Id"] == "Hashdesk status updates <status.127.0.0.1>"
    assert mail["References"] == "<incident.INC-000042@127.0.0.1>"
    assert mail["Reply-To"] is None
    assert _part(mail, "text/html").strip() == "<p>The VPN is down.</p>"


def test_a_status_mail_refuses_a_thread_that_is_not_one() -> None:
    with pytest.raises(ValueError, match="not a thread"):
        status_email(
            "visitor@example.test",
            "s",
            "t",
            "<p>t</p>",
            key="status:x",
            unsubscribe_url="/status/subscribe/unsubscribe/abc/",
            thread="incident/<script>",
        )


def test_outside_a_batch_a_mail_opens_and_closes_its_own_session(
    scripted_smtp: tuple[ScriptedMailbox, dict[str, Any]],
    settings: Any,
    requester: User,
    notice: Callable[..., Notification],
) -> None:
    mailbox, smtp_settings = scripted_smtp
    with override_settings(**smtp_settings):
        delivery = notice_email(notice(), requester)
        outbox.deliver_email(delivery.payload, delivery.key)
        outbox.deliver_email(delivery.payload, delivery.key + ":again")
    assert mailbox.sessions == 2 and len(mailbox.envelopes) == 2
