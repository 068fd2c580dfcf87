"""Anonymous email subscribers of the status page: double opt-in through a real SMTP server,
announcements by mail with one-click unsubscribe, and every way a request or a link can be bad.
"""

from __future__ import annotations

import re
import time
from email import message_from_bytes
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from hashdesk.audit.models import AuditEntry
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.core.errors import RateLimited, ValidationFailed
from hashdesk.core.models import OutboxMessage
from hashdesk.core.outbox import deliver_all_due
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents import major
from hashdesk.status import subscribers
from hashdesk.status.models import StatusSubscriber
from tests.servers import SmtpServer

VISITOR = "visitor@example.org"
CONFIRM_LINK = re.compile(r"https?://[^\s\"<>]+/status/subscribe/confirm/[^/\s\"<>]+/")


@pytest.fixture
def mail_settings(settings: Any, smtp_server: SmtpServer) -> SmtpServer:
    for name, value in smtp_server.settings().items():
        setattr(settings, name, value)
    return smtp_server


@pytest.fixture
def payroll_service(db: Any) -> Service:
    """An internal service: signed-in people see it, anonymous visitors do not."""
    return catalog_actions.do_create_service(
        None, name="Payroll", hashtag="payroll", visibility=Visibility.INTERNAL
    )


def _mails_to(server: SmtpServer, address: str) -> list[Message]:
    return [
        message_from_bytes(envelope.original_content or b"")
        for envelope in server.mailbox.envelopes
        if address in envelope.rcpt_tos
    ]


def _text_of(mail: Message) -> str:
    parts = mail.walk() if mail.is_multipart() else [mail]
    texts = []
    for part in parts:
        if part.get_content_type() in ("text/plain", "text/html"):
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            texts.append(payload.decode(part.get_content_charset() or "utf-8"))
    return "\n".join(texts)


def _path(url: str) -> str:
    return urlsplit(url).path


def _outbox_to(address: str) -> list[OutboxMessage]:
    return [row for row in OutboxMessage.objects.order_by("id") if address in row.payload["to"]]


def _subscribe(client: Client, email: str, services: list[Service], **extra: Any) -> Any:
    return client.post(
        "/status/subscribe/",
        {"email": email, "services": [service.pk for service in services]},
        **extra,
    )


def _declared_major_incident(requester: Any, vpn_agent: Any, service: Service) -> Any:
    incident = incident_actions.do_create_incident(
        requester,
        title="VPN drops every ten minutes",
        description="Since this morning the VPN disconnects.",
        service=service,
    )
    return major.do_declare_major(
        vpn_agent, incident, reason="Everyone working from home is cut off.", commander=vpn_agent
    )


# --- The whole journey --------------------------------------------------------------------------


def test_double_opt_in_then_updates_by_mail_until_one_click_unsubscribe(
    mail_settings: SmtpServer, requester: Any, vpn_agent: Any, vpn_service: Service
) -> None:
    visitor = Client(enforce_csrf_checks=False)
    response = _subscribe(visitor, VISITOR, [vpn_service])
    assert response.status_code == 302
    assert response["Location"] == "/status/subscribe/sent/"
    subscriber = StatusSubscriber.objects.get(email=VISITOR)
    assert not subscriber.is_active

    deliver_all_due()
    (confirmation,) = _mails_to(mail_settings, VISITOR)
    assert confirmation["List-Unsubscribe"]
    match = CONFIRM_LINK.search(_text_of(confirmation))
    assert match is not None
    confirm_path = _path(match.group(0))

    # Opening the link (as a mail scanner would) confirms nothing.
    page = visitor.get(confirm_path)
    assert page.status_code == 200
    assert b"Confirm" in page.content and b"VPN" in page.content
    subscriber.refresh_from_db()
    assert not subscriber.is_active

    done = visitor.post(confirm_path)
    assert done.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.is_active
    assert list(subscriber.services.all()) == [vpn_service]

    incident = _declared_major_incident(requester, vpn_agent, vpn_service)
    major.do_post_official_update(vpn_agent, incident, body="A fix is being rolled out.")
    deliver_all_due()
    declared, update = _mails_to(mail_settings, VISITOR)[1:]
    assert incident.number in declared["Subject"]
    assert "A fix is being rolled out." in _text_of(update)
    for mail in (declared, update):
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "/status/subscribe/unsubscribe/" in mail["List-Unsubscribe"]

    # RFC 8058: the mail client POSTs to the header's link, with no session and no CSRF token.
    one_click = re.search(r"<(https?://[^>]+)>", update["List-Unsubscribe"])
    assert one_click is not None
    mail_client = Client(enforce_csrf_checks=True)
    response = mail_client.post(
        _path(one_click.group(1)),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None

    major.do_post_official_update(vpn_agent, incident, body="Still working on it.")
    deliver_all_due()
    assert len(_mails_to(mail_settings, VISITOR)) == 3


def test_a_mail_is_sent_once_even_when_an_announcement_is_replayed(
    db: Any, vpn_service: Service
) -> None:
    subscriber = _active_subscriber(VISITOR)
    announcement = _public_announcement(vpn_service)
    assert subscribers.mail_status_subscribers(announcement) == 1
    subscribers.mail_status_subscribers(announcement)
    assert len(_outbox_to(subscriber.email)) == 1


# --- Requests -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["not-an-address", "visitor@", "two@at@example.org", "", f"{'a' * 250}@example.org"],
)
def test_bad_addresses_are_refused_with_a_clear_message(
    client: Client, vpn_service: Service, address: str
) -> None:
    response = _subscribe(client, address, [vpn_service])
    assert response.status_code == 400
    assert b"Email address" in response.content
    assert not StatusSubscriber.objects.exists()
    assert not OutboxMessage.objects.exists()
    with pytest.raises(ValidationFailed) as refused:
        subscribers.do_request_subscription(address, [], ip="192.0.2.1")
    assert refused.value.field == "email"


def test_only_public_services_can_be_followed(
    client: Client,
    vpn_service: Service,
    payroll_service: Service,
    security_service: Service,
) -> None:
    for hidden in (payroll_service, security_service):
        response = _subscribe(client, VISITOR, [vpn_service, hidden])
        assert response.status_code == 400
        assert hidden.name.encode() not in response.content
    assert not StatusSubscriber.objects.exists()
    assert not OutboxMessage.objects.exists()

    # The action answers an unknown service and a hidden one alike.
    messages = set()
    for service_id in (payroll_service.pk, security_service.pk, 999_999, "x"):
        with pytest.raises(ValidationFailed) as refused:
            subscribers.do_request_subscription(VISITOR, [service_id], ip="192.0.2.1")
        assert refused.value.field == "services"
        messages.add(refused.value.detail)
    assert len(messages) == 2  # "not a number" and "cannot be followed"
    assert not StatusSubscriber.objects.exists()


def test_the_form_offers_public_services_only(
    client: Client, vpn_service: Service, payroll_service: Service, security_service: Service
) -> None:
    page = client.get("/status/subscribe/")
    assert page.status_code == 200
    assert b"VPN" in page.content
    assert b"Payroll" not in page.content
    assert b"Security operations" not in page.content


def test_requests_are_rate_limited_per_address_and_per_network(
    settings: Any, client: Client, vpn_service: Service
) -> None:
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        subscribers.RATE_BUCKET_ADDRESS: (2, 3600),
        subscribers.RATE_BUCKET_IP: (4, 3600),
    }
    for _ in range(2):
        assert _subscribe(client, VISITOR, [vpn_service]).status_code == 302
    refused = _subscribe(client, VISITOR, [vpn_service])
    assert refused.status_code == 429
    assert b"Too many subscription requests" in refused.content
    assert len(_outbox_to(VISITOR)) == 2

    # Two more from this network for other mailboxes, then the network is refused too.
    assert _subscribe(client, "first@example.org", []).status_code == 302
    assert _subscribe(client, "second@example.org", []).status_code == 429
    with pytest.raises(RateLimited):
        subscribers.do_request_subscription("third@example.org", [], ip="127.0.0.1")
    assert not StatusSubscriber.objects.filter(email="second@example.org").exists()


def test_the_answer_never_tells_whether_an_address_is_subscribed(
    client: Client, vpn_service: Service, sso_service: Service
) -> None:
    existing = _active_subscriber(VISITOR, [vpn_service])
    for address in (VISITOR, "newcomer@example.org"):
        response = _subscribe(client, address, [sso_service], follow=True)
        assert response.redirect_chain == [("/status/subscribe/sent/", 302)]
        assert b"Check your inbox" in response.content
    # A stranger cannot change someone's subscription without their mailbox.
    assert list(existing.services.all()) == [vpn_service]
    assert existing.is_active
    assert len(_outbox_to(VISITOR)) == 1


def test_confirming_again_replaces_the_services_of_a_subscription(
    db: Any, vpn_service: Service, sso_service: Service
) -> None:
    existing = _active_subscriber(VISITOR, [vpn_service])
    token = subscribers.confirm_token(existing, [sso_service.pk])
    subscribers.do_confirm_subscription(token)
    assert list(existing.services.all()) == [sso_service]
    # No services chosen: every public service.
    subscribers.do_confirm_subscription(subscribers.confirm_token(existing, []))
    assert not existing.services.exists()


def test_a_resubscription_after_unsubscribing_needs_confirming(
    client: Client, vpn_service: Service
) -> None:
    existing = _active_subscriber(VISITOR, [vpn_service])
    existing.unsubscribed_at = timezone.now()
    existing.save(update_fields=["unsubscribed_at"])
    assert _subscribe(client, VISITOR, [vpn_service]).status_code == 302
    existing.refresh_from_db()
    assert not existing.is_active
    (mail,) = _outbox_to(VISITOR)
    match = CONFIRM_LINK.search(mail.payload["text"])
    assert match is not None
    client.post(_path(match.group(0)))
    existing.refresh_from_db()
    assert existing.is_active


def test_the_audit_trail_holds_a_keyed_hash_never_the_address(
    client: Client, vpn_service: Service
) -> None:
    _subscribe(client, VISITOR, [vpn_service])
    subscriber = StatusSubscriber.objects.get(email=VISITOR)
    subscribers.do_confirm_subscription(subscribers.confirm_token(subscriber, [vpn_service.pk]))
    subscribers.do_unsubscribe(subscribers.unsubscribe_token(subscriber.pk))
    entries = list(AuditEntry.objects.filter(object_type="status.statussubscriber"))
    assert [entry.action for entry in entries] == [
        "status.subscription_requested",
        "status.subscription_confirmed",
        "status.subscription_cancelled",
    ]
    for entry in entries:
        assert entry.actor is None
        assert VISITOR not in f"{entry.object_repr} {entry.before} {entry.after}"
        assert (entry.after or {})["address_digest"] == subscribers.address_digest(VISITOR)


def test_sign_in_only_status_page_takes_no_anonymous_subscriptions(
    settings: Any, client: Client, vpn_service: Service
) -> None:
    settings.STATUS_PAGE_PUBLIC = False
    response = _subscribe(client, VISITOR, [vpn_service])
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/sign-in/")
    assert not StatusSubscriber.objects.exists()
    _active_subscriber(VISITOR)
    assert subscribers.mail_status_subscribers(_public_announcement(vpn_service)) == 0


# --- Links --------------------------------------------------------------------------------------


def test_forged_and_misused_links_are_refused_and_change_nothing(
    client: Client, vpn_service: Service
) -> None:
    subscriber = _pending_subscriber(VISITOR)
    confirm = subscribers.confirm_token(subscriber, [vpn_service.pk])
    unsubscribe = subscribers.unsubscribe_token(subscriber.pk)
    forged = [
        "not-a-token",
        confirm[:-2] + ("AA" if not confirm.endswith("AA") else "BB"),
        signing.dumps({"s": subscriber.pk, "a": "x", "v": []}, salt="another purpose"),
        unsubscribe,  # an unsubscribe token is no confirmation
    ]
    for token in forged:
        for method in (client.get, client.post):
            response = method(f"/status/subscribe/confirm/{token}/")
            assert response.status_code == 400
            assert b"This link does not work" in response.content
    for token in ("not-a-token", confirm):
        response = client.post(f"/status/subscribe/unsubscribe/{token}/")
        assert response.status_code == 400
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is None and subscriber.unsubscribed_at is None
    assert not AuditEntry.objects.filter(action="status.subscription_confirmed").exists()


def test_an_expired_confirmation_link_is_refused(
    client: Client, vpn_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscriber = _pending_subscriber(VISITOR)
    eight_days_ago = time.time() - 8 * 24 * 3600
    with monkeypatch.context() as past:
        past.setattr(time, "time", lambda: eight_days_ago)
        token = subscribers.confirm_token(subscriber, [vpn_service.pk])
    response = client.post(f"/status/subscribe/confirm/{token}/")
    assert response.status_code == 400
    assert b"This link has expired" in response.content
    subscriber.refresh_from_db()
    assert subscriber.confirmed_at is None


def test_a_link_for_a_deleted_subscription_is_refused(client: Client, vpn_service: Service) -> None:
    subscriber = _pending_subscriber(VISITOR)
    confirm = subscribers.confirm_token(subscriber, [vpn_service.pk])
    unsubscribe = subscribers.unsubscribe_token(subscriber.pk)
    subscriber.delete()
    assert client.post(f"/status/subscribe/confirm/{confirm}/").status_code == 400
    assert client.get(f"/status/subscribe/unsubscribe/{unsubscribe}/").status_code == 400


def test_the_unsubscribe_page_asks_before_it_unsubscribes(
    client: Client, vpn_service: Service
) -> None:
    subscriber = _active_subscriber(VISITOR, [vpn_service])
    path = f"/status/subscribe/unsubscribe/{subscribers.unsubscribe_token(subscriber.pk)}/"
    page = client.get(path)
    assert page.status_code == 200
    assert b"Unsubscribe" in page.content
    subscriber.refresh_from_db()
    assert subscriber.is_active
    assert client.post(path).status_code == 200
    assert client.post(path).status_code == 200  # again: nothing more changes
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None
    assert AuditEntry.objects.filter(action="status.subscription_cancelled").count() == 1


# --- The status page's subscribe box ------------------------------------------------------------


def test_the_status_page_links_to_the_form_and_stays_cacheable(
    client: Client, vpn_service: Service, payroll_service: Service
) -> None:
    # The shared, cached status page carries no form, no CSRF token and sets no cookie.
    page = client.get("/status/")
    assert page.status_code == 200
    assert b'href="/status/subscribe/"' in page.content
    assert b"csrfmiddlewaretoken" not in page.content
    assert "csrftoken" not in page.cookies
    # A public service's page preselects it; the form offers public services only.
    service_page = client.get(f"/status/{vpn_service.slug}/")
    link = f'href="/status/subscribe/?service={vpn_service.pk}"'.encode()
    assert link in service_page.content
    form = client.get(f"/status/subscribe/?service={vpn_service.pk}")
    ticked = re.findall(r"<input[^>]*checked[^>]*>", form.content.decode())
    assert [tag for tag in ticked if f'value="{vpn_service.pk}"' in tag]
    assert len(ticked) == 1
    assert b"Payroll" not in form.content
    assert b"csrfmiddlewaretoken" in form.content


def test_the_form_takes_every_public_service_when_none_is_ticked(
    client: Client, vpn_service: Service
) -> None:
    response = client.post("/status/subscribe/", {"email": VISITOR})
    assert response.status_code == 302
    (mail,) = _outbox_to(VISITOR)
    assert "every public service" in mail.payload["text"]


# --- Helpers ------------------------------------------------------------------------------------


def _pending_subscriber(address: str) -> StatusSubscriber:
    return StatusSubscriber.objects.create(email=address, confirmation_sent_at=timezone.now())


def _active_subscriber(address: str, services: list[Service] | None = None) -> StatusSubscriber:
    subscriber = StatusSubscriber.objects.create(email=address, confirmed_at=timezone.now())
    subscriber.services.set(services or [])
    return subscriber


def _public_announcement(service: Service) -> Any:
    from hashdesk.notify.announcements import Announcement

    return Announcement(
        kind="incident.update",
        key=f"test:{service.pk}",
        service_ids=(service.pk,),
        title="Update on INC-000001: VPN drops",
        body="A fix is being rolled out.",
        url="/incidents/INC-000001/",
        audience=Visibility.PUBLIC,
        thread="incident/INC-000001",
    )
