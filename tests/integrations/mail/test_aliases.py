"""Mail aliases: addresses administrators point at a service or at "guess", read first by the
routing of new mail. Mail goes through the real listener with a real SMTP client."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hashdesk.accounts.models import User
from hashdesk.catalog import actions as catalog_actions
from hashdesk.catalog.models import Service
from hashdesk.incidents.models import Incident
from hashdesk.integrations.mail import actions, routing
from hashdesk.integrations.mail.choices import AliasTarget, InboundStatus
from hashdesk.integrations.mail.models import InboundMessage, MailAlias
from hashdesk.integrations.mail.parsing import parse_mail
from tests.integrations.mail.conftest import DOMAIN, Listener


def new_mail(
    to: str, *, message_id: str, body: str = "The printer on floor 3 jams.", subject: str = ""
) -> bytes:
    message = EmailMessage()
    message["From"] = "requester@example.test"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id
    message.set_content(body)
    return message.as_bytes(policy=policy.SMTP)


def send(inbound: Listener, local_part: str, message_id: str, body: str = "") -> tuple[int, str]:
    """A new mail to ``local_part@``; the body is all its words (no subject to guess from)."""
    address = f"{local_part}@{DOMAIN}"
    raw = new_mail(address, message_id=message_id, body=body or "The printer on floor 3 jams.")
    return inbound.send(raw, to=[address])


@pytest.mark.django_db(transaction=True)
class TestRoutingByAlias:
    def test_mail_to_an_alias_opens_an_incident_on_its_service(
        self, inbound: Listener, administrator: User, requester: User, vpn_service: Service
    ) -> None:
        actions.do_create_alias(
            administrator, local_part="Helpdesk", target=AliasTarget.SERVICE, service=vpn_service
        )
        code, text = send(inbound, "HELPDESK", "<a1@x>")
        assert code == 250, text
        incident = Incident.objects.get()
        assert (incident.service, incident.reporter) == (vpn_service, requester)
        record = InboundMessage.objects.get()
        assert record.status == InboundStatus.OPENED
        assert record.reason == "alias helpdesk@ → VPN"

    def test_a_guess_alias_uses_the_hashtag_and_shadows_the_slug_of_its_name(
        self,
        inbound: Listener,
        administrator: User,
        requester: User,
        vpn_service: Service,
        sso_service: Service,
    ) -> None:
        """``vpn@`` is the VPN service's own address; a "guess" alias of that name wins, so the
        #sso in the text decides."""
        actions.do_create_alias(administrator, local_part="vpn", target=AliasTarget.GUESS)
        code, text = send(inbound, "vpn", "<g1@x>", body="The #sso page loops.")
        assert code == 250, text
        assert Incident.objects.get().service == sso_service
        assert InboundMessage.objects.get().reason == "alias vpn@: service guessed"

    def test_a_service_alias_shadows_another_service_address_of_its_name(
        self,
        inbound: Listener,
        administrator: User,
        requester: User,
        vpn_service: Service,
        sso_service: Service,
    ) -> None:
        actions.do_create_alias(
            administrator, local_part="sso", target=AliasTarget.SERVICE, service=vpn_service
        )
        code, text = send(inbound, "sso", "<s1@x>", body="Nothing to guess from here.")
        assert code == 250, text
        assert Incident.objects.get().service == vpn_service

    def test_a_deleted_or_inactive_alias_no_longer_routes(
        self, inbound: Listener, administrator: User, requester: User, vpn_service: Service
    ) -> None:
        """Its address then behaves as any unknown local part: guessed, and refused when nothing
        names a service."""
        alias = actions.do_create_alias(
            administrator, local_part="printers-floor3", target="service", service=vpn_service
        )
        actions.do_update_alias(
            administrator,
            alias,
            local_part="printers-floor3",
            target="service",
            service=vpn_service,
            is_active=False,
        )
        code, text = send(inbound, "printers-floor3", "<d1@x>")
        assert code == 550 and "which service" in text, text
        actions.do_delete_alias(administrator, alias)
        code, text = send(inbound, "printers-floor3", "<d2@x>")
        assert code == 550 and "which service" in text, text
        assert not Incident.objects.exists()
        assert not MailAlias.objects.exists()

    def test_an_alias_to_a_retired_service_falls_back_and_the_log_says_so(
        self,
        inbound: Listener,
        administrator: User,
        requester: User,
        vpn_service: Service,
        sso_service: Service,
    ) -> None:
        actions.do_create_alias(
            administrator, local_part="helpdesk", target="service", service=vpn_service
        )
        catalog_actions.do_update_service(administrator, vpn_service, is_active=False)
        code, text = send(inbound, "helpdesk", "<r1@x>", body="The #sso page loops.")
        assert code == 250, text
        assert Incident.objects.get().service == sso_service
        retired = "alias helpdesk@ points at the retired service VPN; guessed instead"
        assert InboundMessage.objects.get(message_id="<r1@x>").reason == retired
        # Nothing to guess from: refused, the sender told what to do, the log told why.
        code, text = send(inbound, "helpdesk", "<r2@x>", body="Quartz xylophone.")
        assert code == 550 and "which service" in text and "retired" not in text, text
        record = InboundMessage.objects.get(message_id="<r2@x>")
        assert record.status == InboundStatus.REJECTED and retired in record.reason
        assert Incident.objects.count() == 1


@pytest.mark.django_db
def test_routing_costs_the_same_queries_however_many_aliases_and_recipients(
    settings: object,
    administrator: User,
    requester: User,
    vpn_service: Service,
    sso_service: Service,
) -> None:
    settings.NOTIFY_REPLY_DOMAIN = DOMAIN  # type: ignore[attr-defined]
    settings.INBOUND_MAIL_DOMAINS = []  # type: ignore[attr-defined]
    actions.do_create_alias(
        administrator, local_part="helpdesk", target="service", service=vpn_service
    )
    mail = parse_mail(new_mail(f"helpdesk@{DOMAIN}", message_id="<q@x>"))

    def queries(recipients: list[str]) -> int:
        with CaptureQueriesContext(connection) as context:
            route = routing.guess_service(requester, mail, recipients, "text")
        assert route.service == vpn_service
        return len(context.captured_queries)

    queries([f"helpdesk@{DOMAIN}"])  # the first reads the sender's roles, kept on the object
    one = queries([f"helpdesk@{DOMAIN}"])
    for number in range(30):
        actions.do_create_alias(administrator, local_part=f"floor{number}", target="guess")
    many = [f"floor{n}@{DOMAIN}" for n in range(5)] + [f"sso-x@{DOMAIN}", f"helpdesk@{DOMAIN}"]
    assert queries([f"helpdesk@{DOMAIN}"]) == one == 2
    assert queries(many) == one
