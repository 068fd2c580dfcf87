"""``receive_mail`` itself (the action the listener calls): the paths the SMTP tests do not
take — follow-ups to closed incidents, records the sender may not see, other kinds of thread,
and the default service."""

from __future__ import annotations

from typing import Any

import pytest

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.choices import State
from hashdesk.incidents.models import Incident, TimelineEntry
from hashdesk.integrations.mail.actions import receive_mail
from hashdesk.integrations.mail.choices import InboundStatus
from hashdesk.notify.email import Thread, reply_address
from tests.integrations.mail.conftest import DOMAIN, fixture_mail

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _inbound_domain(settings: Any) -> None:
    settings.NOTIFY_REPLY_DOMAIN = DOMAIN
    settings.INBOUND_MAIL_DOMAINS = []
    settings.INBOUND_MAIL_DEFAULT_SERVICE = ""


def reply_to(incident: Incident, person: User, *, message_id: str = "<r@x>") -> bytes:
    address = reply_address(person.pk, Thread("incident", str(incident.number)))
    raw = fixture_mail(
        "reply_gmail.eml",
        reply_to=address,
        subject=f"[Hashdesk {incident.number}] Update",
        message_id="<n@127.0.0.1>",
        references="",
    )
    return raw.replace(b"<reply-gmail-1@mail.example.test>", message_id.encode())


def test_reply_to_a_cancelled_incident_opens_a_follow_up(
    requester: User, vpn_agent: User, vpn_service: Service
) -> None:
    incident = incident_actions.do_create_incident(
        requester, title="VPN", description="Down.", service=vpn_service
    )
    incident_actions.do_transition(
        vpn_agent,
        incident,
        State.CANCELLED,
        expected_version=incident.version,
        resolution_notes="Reported twice.",
    )
    address = reply_address(requester.pk, Thread("incident", str(incident.number)))
    outcome = receive_mail(
        reply_to(incident, requester), envelope_from=requester.email, recipients=[address]
    )
    assert outcome.accepted, outcome.smtp_reply
    follow_up = Incident.objects.exclude(pk=incident.pk).get()
    assert outcome.incident == follow_up
    assert follow_up.service == vpn_service
    assert follow_up.description.startswith(f"Follow-up to {incident.number}.")
    assert outcome.record is not None and outcome.record.status == InboundStatus.OPENED
    assert "reply+…@" in outcome.record.recipients[0]  # the token is not stored


def test_reply_about_an_incident_the_sender_may_not_see_is_refused(
    requester: User, vpn_agent: User, security_service: Service
) -> None:
    secret = incident_actions.do_create_incident(
        vpn_agent, title="Intrusion", description="Under way.", service=security_service
    )
    entries = TimelineEntry.objects.count()
    address = reply_address(requester.pk, Thread("incident", str(secret.number)))
    outcome = receive_mail(
        reply_to(secret, requester), envelope_from=requester.email, recipients=[address]
    )
    assert outcome.smtp_reply.startswith("550 5.7.1 No incident")
    assert TimelineEntry.objects.count() == entries
    assert outcome.record is not None and outcome.record.status == InboundStatus.REJECTED


def test_reply_about_a_change_is_refused_with_a_pointer_to_its_page(requester: User) -> None:
    address = reply_address(requester.pk, Thread("change", "CHG-000001"))
    raw = fixture_mail(
        "reply_gmail.eml", reply_to=address, subject="Re: change", message_id="<c@x>",
        references="",
    )  # fmt: skip
    outcome = receive_mail(raw, envelope_from=requester.email, recipients=[address])
    assert outcome.smtp_reply.startswith("550 5.7.1 Replies about a change")
    assert not Incident.objects.exists()


def test_default_service_when_nothing_names_one(
    settings: Any, requester: User, sso_service: Service, vpn_service: Service
) -> None:
    settings.INBOUND_MAIL_DEFAULT_SERVICE = sso_service.slug
    raw = fixture_mail("new_vpn.eml").replace(b"vpn@desk", b"help@desk")
    outcome = receive_mail(raw, envelope_from=requester.email, recipients=[f"help@{DOMAIN}"])
    assert outcome.accepted, outcome.smtp_reply
    assert outcome.incident is not None and outcome.incident.service == sso_service
