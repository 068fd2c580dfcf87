"""Mail that must change nothing: each is answered with the right SMTP reply by the real
listener, and no incident, timeline entry or account appears."""

from __future__ import annotations

from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.incidents.models import Attachment, Incident, TimelineEntry
from hashdesk.integrations.mail.choices import InboundStatus
from hashdesk.integrations.mail.models import InboundMessage
from tests.integrations.mail.conftest import DOMAIN, MAX_BYTES, Listener, fixture_mail

pytestmark = pytest.mark.django_db(transaction=True)

VPN = f"vpn@{DOMAIN}"


def counts() -> tuple[int, int, int, int]:
    return (
        Incident.objects.count(),
        TimelineEntry.objects.count(),
        User.objects.count(),
        Attachment.objects.count(),
    )


def plain_mail(
    sender: str = "requester@example.test",
    *,
    message_id: str,
    subject: str = "Printer broken",
    body: str = "The printer on floor 3 is broken.",
    headers: dict[str, str] | None = None,
    attachments: list[tuple[str, bytes]] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = VPN
    message["Subject"] = subject
    message["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for filename, content in attachments or []:
        message.add_attachment(
            content, maintype="application", subtype="octet-stream", filename=filename
        )
    return message.as_bytes(policy=policy.SMTP)


def test_each_bad_mail_is_refused_or_ignored_and_changes_nothing(
    inbound: Listener, settings: Any, requester: User, vpn_service: Service
) -> None:
    big = plain_mail(message_id="<big@x>", body=("x" * 70 + "\n") * (MAX_BYTES // 70))
    cases: list[tuple[str, Callable[[], tuple[int, str]], int, str]] = [
        ("malformed MIME", lambda: inbound.send(fixture_mail("malformed.eml"), to=[VPN]), 554,
         "Malformed"),
        ("oversize", lambda: inbound.send(big, to=[VPN]), 552, ""),
        ("auto-reply", lambda: inbound.send(fixture_mail("auto_reply.eml"), to=[VPN]), 250,
         "Accepted"),
        ("bounce", lambda: inbound.send(fixture_mail("bounce_dsn.eml"), to=[VPN], sender=""),
         250, "Accepted"),
        ("list mail", lambda: inbound.send(
            plain_mail(message_id="<list@x>", headers={"List-Id": "Talk <talk.example.test>"}),
            to=[VPN]), 250, "Accepted"),
        ("our own notification", lambda: inbound.send(
            plain_mail(message_id="<own@x>", headers={"X-Hashdesk-Thread": "incident/INC-1"}),
            to=[VPN]), 250, "Accepted"),
        ("unknown sender", lambda: inbound.send(
            plain_mail("stranger@example.org", message_id="<s1@x>"), to=[VPN],
            sender="stranger@example.org"), 550, "no Hashdesk account"),
        ("not our domain", lambda: inbound.send(
            plain_mail(message_id="<relay@x>"), to=["someone@elsewhere.example"]), 550,
         "Not a Hashdesk address"),
        ("no service named", lambda: inbound.send(
            plain_mail(message_id="<nosvc@x>"), to=[f"help@{DOMAIN}"]), 550, "which service"),
        ("forged reply token", lambda: inbound.send(
            plain_mail(message_id="<forged@x>"),
            to=[f"reply+{requester.pk}.incident.inc-000001.aaaaaaaaaaaaaaaa@{DOMAIN}"]),
         550, "which service"),
    ]  # fmt: skip
    before = counts()
    for name, send, code, words in cases:
        got, text = send()
        assert got == code, f"{name}: {got} {text}"
        assert words in text, f"{name}: {text}"
        assert counts() == before, name
    statuses = dict(InboundMessage.objects.values_list("message_id", "status"))
    assert statuses["<ooo-1@mail.example.test>"] == InboundStatus.IGNORED
    assert statuses["<dsn-1@mx.example.test>"] == InboundStatus.IGNORED
    assert statuses["<s1@x>"] == InboundStatus.REJECTED
    assert "<big@x>" not in statuses  # refused while it arrived: never stored


def test_unknown_senders_by_policy(inbound: Listener, settings: Any, vpn_service: Service) -> None:
    settings.INBOUND_MAIL_UNKNOWN_SENDERS = "ignore"
    before = counts()
    code, text = inbound.send(plain_mail("new.person@example.org", message_id="<u1@x>"), to=[VPN])
    assert (code, counts()) == (250, before), text
    assert InboundMessage.objects.get(message_id="<u1@x>").status == InboundStatus.IGNORED

    settings.INBOUND_MAIL_UNKNOWN_SENDERS = "create"
    code, text = inbound.send(
        plain_mail("New Person <new.person@example.org>", message_id="<u2@x>"), to=[VPN]
    )
    assert code == 250, text
    person = User.objects.get(email="new.person@example.org")
    assert person.display_name == "New Person"
    assert person.roles == {Role.REQUESTER}
    assert not person.has_usable_password()
    incident = Incident.objects.get()
    assert (incident.reporter, incident.service) == (person, vpn_service)


def test_duplicate_message_id_and_rate_limit_change_nothing(
    inbound: Listener, settings: Any, requester: User, vpn_service: Service
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "inbound_mail": (2, 3600)}
    first = plain_mail(message_id="<once@x>")
    assert inbound.send(first, to=[VPN])[0] == 250
    after_first = counts()
    code, text = inbound.send(first, to=[VPN, f"help@{DOMAIN}"])
    assert (code, counts()) == (250, after_first) and "Already received" in text
    assert inbound.send(plain_mail(message_id="<two@x>"), to=[VPN])[0] == 250
    after_two = counts()
    code, text = inbound.send(plain_mail(message_id="<three@x>"), to=[VPN])
    assert code == 451, text  # a looping peer is cut off, and told to come back later
    assert counts() == after_two
    assert not InboundMessage.objects.filter(message_id="<three@x>").exists()


def test_attachments_within_limits_are_kept_and_the_rest_listed(
    inbound: Listener, settings: Any, requester: User, sso_service: Service
) -> None:
    """A #hashtag in the body names the service; one huge file and one executable are dropped
    (the incident says so) while the log file is attached."""
    settings.ATTACHMENT_MAX_BYTES = 50_000
    mail = plain_mail(
        message_id="<att@x>",
        subject="Login loop",
        body="The #sso page loops. Log attached.",
        attachments=[
            ("browser.log", b"GET /login 302\nGET /login 302\n"),
            ("huge.pdf", b"%PDF-1.4\n" + b"0" * 60_000),
            ("tool.exe", b"MZ\x90\x00"),
        ],
    )
    code, text = inbound.send(mail, to=[f"help@{DOMAIN}"])
    assert code == 250, text
    incident = Incident.objects.get()
    assert incident.service == sso_service
    assert [a.filename for a in Attachment.objects.filter(incident=incident)] == ["browser.log"]
    assert "huge.pdf (larger than" in incident.description
    assert "tool.exe (file type not allowed)" in incident.description
    record = InboundMessage.objects.get()
    assert {d["filename"] for d in record.dropped_attachments} == {"huge.pdf", "tool.exe"}
