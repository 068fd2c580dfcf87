"""The inbound mail log page (administrators only) and the ``hashdesk smtpd`` command line."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.cli import build_parser, cmd_smtpd
from hashdesk.integrations.mail.actions import receive_mail
from tests.integrations.mail.conftest import DOMAIN, fixture_mail


@pytest.mark.django_db
def test_administrator_sees_what_became_of_each_mail(
    client: Client, settings: Any, administrator: User, requester: User, vpn_service: Service
) -> None:
    settings.NOTIFY_REPLY_DOMAIN = DOMAIN
    opened = receive_mail(
        fixture_mail("new_vpn.eml"), envelope_from=requester.email, recipients=[f"vpn@{DOMAIN}"]
    )
    receive_mail(
        fixture_mail("auto_reply.eml"), envelope_from=requester.email, recipients=[f"vpn@{DOMAIN}"]
    )
    assert opened.incident is not None
    client.force_login(requester)
    assert client.get("/integrations/mail/").status_code == 403
    client.force_login(administrator)
    page = client.get("/integrations/mail/")
    assert page.status_code == 200
    html = page.content.decode()
    assert opened.incident.number in html
    assert "Opened an incident" in html and "automatic: Auto-Submitted" in html
    only_ignored = client.get("/integrations/mail/?status=ignored").content.decode()
    assert opened.incident.number not in only_ignored


def test_smtpd_command_line() -> None:
    args = build_parser().parse_args(["smtpd", "--host", "0.0.0.0", "--port", "2600"])
    assert (args.handler, args.host, args.port) == (cmd_smtpd, "0.0.0.0", 2600)
