"""The inbound mail listener (the real ``hashdesk smtpd`` handler on aiosmtpd) on a free port,
and a plain smtplib client that reports the server's reply code at each step."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

import pytest
from django.test import override_settings

from hashdesk.integrations.mail.smtpd import InboundMailHandler, controller
from tests.servers import free_port

FIXTURES = Path(__file__).parent / "fixtures"
DOMAIN = "desk.example.test"
# The listener's size limit (HASHDESK_INBOUND_MAIL_MAX_BYTES), fixed when it starts.
MAX_BYTES = 200_000


def fixture_mail(name: str, **values: str) -> bytes:
    text = Template((FIXTURES / name).read_text()).substitute(values)
    return text.replace("\n", "\r\n").encode()


@dataclass
class Listener:
    port: int

    def send(
        self, raw: bytes, *, to: list[str], sender: str = "requester@example.test"
    ) -> tuple[int, str]:
        """Send one mail; the reply code and text of the step that refused it, or of DATA."""
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as client:
            client.ehlo("client.example.test")
            code, text = client.mail(sender)
            if code != 250:
                return code, text.decode()
            accepted = 0
            last: tuple[int, bytes] = (0, b"")
            for address in to:
                last = client.rcpt(address)
                accepted += last[0] == 250
            if not accepted:
                return last[0], last[1].decode()
            code, text = client.data(raw)
            return code, text.decode()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    handler = InboundMailHandler()
    port = free_port()
    with override_settings(INBOUND_MAIL_MAX_BYTES=MAX_BYTES):
        server = controller(handler, "127.0.0.1", port)
    server.start()
    try:
        yield Listener(port)
    finally:
        server.stop()
        handler.close()


@pytest.fixture
def inbound(settings: Any, listener: Listener) -> Listener:
    """The listener, for mail to ``@desk.example.test`` (the reply domain)."""
    settings.NOTIFY_REPLY_DOMAIN = DOMAIN
    settings.INBOUND_MAIL_DOMAINS = []
    settings.INBOUND_MAIL_UNKNOWN_SENDERS = "reject"
    settings.INBOUND_MAIL_DEFAULT_SERVICE = ""
    return listener
