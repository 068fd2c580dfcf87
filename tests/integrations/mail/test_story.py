"""Story 9 by mail: a real SMTP client's mail opens an incident on the service its address
names; the notification Hashdesk mails about it (through a real SMTP server) is answered, and
the answer, without its quoted history and signature, lands on that incident's timeline."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.core.outbox import deliver_all_due
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.choices import Channel, TimelineKind
from hashdesk.incidents.models import Incident, TimelineEntry
from hashdesk.integrations.mail.choices import InboundStatus
from hashdesk.integrations.mail.models import InboundMessage
from tests.integrations.mail.conftest import Listener, fixture_mail
from tests.servers import SmtpServer

pytestmark = pytest.mark.django_db(transaction=True)


def test_mail_opens_incident_and_reply_to_its_notification_threads_back(
    inbound: Listener,
    settings: Any,
    smtp_server: SmtpServer,
    requester: User,
    vpn_agent: User,
    vpn_service: Service,
    capture_events: Any,
) -> None:
    with capture_events() as events:
        code, text = inbound.send(fixture_mail("new_vpn.eml"), to=["vpn@desk.example.test"])
    assert code == 250, text
    incident = Incident.objects.get()
    assert f"Opened {incident.number}" in text
    assert incident.service == vpn_service
    assert incident.source == Channel.EMAIL
    assert incident.reporter == requester
    assert incident.title == "VPN drops every ten minutes"
    assert incident.description.startswith("Hello desk,")
    assert "+33" not in incident.description  # the signature stayed out
    assert ("incident", "create") in {(e.type, e.op) for e in events}
    record = InboundMessage.objects.get()
    assert (record.status, record.incident, record.author) == (
        InboundStatus.OPENED,
        incident,
        requester,
    )

    # The agent answers on the web; Hashdesk mails the requester (a real SMTP server).
    for key, value in smtp_server.settings().items():
        setattr(settings, key, value)
    incident_actions.do_add_update(
        vpn_agent, incident, body="We are restarting the Lyon gateway.", public=True
    )
    deliver_all_due()
    notices = [
        email.message_from_bytes(envelope.original_content, policy=policy.default)
        for envelope in smtp_server.mailbox.envelopes
        if envelope.rcpt_tos == [requester.email]
    ]
    assert len(notices) == 1
    notice = notices[0]
    assert isinstance(notice, EmailMessage)
    reply_to = str(notice["Reply-To"])
    assert reply_to.startswith("reply+") and reply_to.endswith("@desk.example.test")

    reply = fixture_mail(
        "reply_gmail.eml",
        reply_to=reply_to,
        subject=str(notice["Subject"]),
        message_id=str(notice["Message-ID"]),
        references=str(notice["References"]),
    )
    with capture_events() as events:
        code, text = inbound.send(reply, to=[reply_to])
    assert code == 250, text
    assert f"Added to {incident.number}" in text
    comment = TimelineEntry.objects.filter(incident=incident, author=requester).get(
        kind=TimelineKind.PUBLIC_UPDATE
    )
    assert comment.is_public
    assert comment.body == (
        "It happened again at 09:12, right after the update you mentioned.\n"
        "Cable or wifi makes no difference."
    )
    assert ("incident", "timeline") in {(e.type, e.op) for e in events}
    assert InboundMessage.objects.filter(status=InboundStatus.THREADED, incident=incident).count()

    # The same reply delivered twice (a retrying server) changes nothing.
    entries = TimelineEntry.objects.count()
    code, text = inbound.send(reply, to=[reply_to])
    assert code == 250 and "Already received" in text
    assert TimelineEntry.objects.count() == entries
    assert InboundMessage.objects.count() == 2


def test_reply_found_by_references_alone_when_sent_to_the_service_address(
    inbound: Listener, requester: User, vpn_service: Service
) -> None:
    """A client that drops Reply-To still names the thread root in its References."""
    incident = incident_actions.do_create_incident(
        requester, title="VPN slow", description="Slow.", service=vpn_service
    )
    reply = fixture_mail(
        "reply_gmail.eml",
        reply_to="vpn@desk.example.test",
        subject=f"[Hashdesk {incident.number}] Update",
        message_id="<abc@127.0.0.1>",
        references=f"<incident.{incident.number}@127.0.0.1>",
    )
    code, text = inbound.send(reply, to=["vpn@desk.example.test"])
    assert code == 250, text
    assert Incident.objects.count() == 1
    assert TimelineEntry.objects.filter(
        incident=incident, author=requester, kind=TimelineKind.PUBLIC_UPDATE
    ).exists()
