"""``hashdesk smtpd``: the SMTP listener for inbound mail (aiosmtpd).

It accepts mail only for addresses on the inbound domains (550 for any other recipient: it is
no relay), refuses a message over ``INBOUND_MAIL_MAX_BYTES`` while it arrives (552, aiosmtpd's
``data_size_limit``), and hands each message to ``actions.receive_mail`` on a small pool of
database threads: the event loop never touches Django's ORM. The reply to DATA is the
outcome's SMTP reply, so a refused mail bounces at the sending server with our reason.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import close_old_connections

from hashdesk.core.logging import get_logger
from hashdesk.integrations.mail import addresses
from hashdesk.integrations.mail.actions import Outcome, receive_mail

log = get_logger(__name__)

# Mails written at once: SQLite has one writer anyway; PostgreSQL gains a little from more.
DATABASE_THREADS = 4


class InboundMailHandler:
    """aiosmtpd handler: recipients checked at RCPT, the message received at DATA."""

    def __init__(self, threads: int = DATABASE_THREADS) -> None:
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="hashdesk-smtpd")

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if not addresses.is_ours(address):
            return "550 5.1.1 Not a Hashdesk address; this server relays nothing."
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        loop = asyncio.get_running_loop()
        try:
            outcome = await loop.run_in_executor(
                self.executor,
                _receive,
                raw,
                envelope.mail_from or "",
                list(envelope.rcpt_tos),
            )
        except Exception:
            log.exception("inbound_mail.failed")
            return "451 4.3.0 Temporary failure; try again later."
        log.info("inbound_mail.received", reply=outcome.smtp_reply[:60], size=len(raw))
        return outcome.smtp_reply

    def close(self) -> None:
        self.executor.shutdown(wait=True)


def _receive(raw: bytes, envelope_from: str, recipients: list[str]) -> Outcome:
    close_old_connections()
    try:
        return receive_mail(raw, envelope_from=envelope_from, recipients=recipients)
    finally:
        close_old_connections()


def smtp_options() -> dict[str, Any]:
    """The SMTP server's options, shared by ``serve`` and ``controller``."""
    # aiosmtpd logs every command at INFO, recipients included: a reply address carries a
    # reply token, and tokens never reach the logs.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    return {
        "data_size_limit": settings.INBOUND_MAIL_MAX_BYTES,
        "enable_SMTPUTF8": True,
        "ident": "Hashdesk inbound mail",
    }


def controller(handler: InboundMailHandler, host: str, port: int) -> Controller:
    """The listener in a background thread (tests, benchmarks); ``start()`` it."""
    return Controller(handler, hostname=host, port=port, **smtp_options())


def serve(host: str | None = None, port: int | None = None) -> None:
    """Listen until SIGTERM or SIGINT (the ``hashdesk smtpd`` command)."""
    host = host or settings.SMTPD_HOST
    port = port or settings.SMTPD_PORT
    handler = InboundMailHandler()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(handler, **smtp_options()), host, port)
        stop = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        log.info("smtpd.listening", host=host, port=port)
        print(f"Hashdesk inbound mail listening on {host}:{port}", flush=True)
        await stop.wait()
        server.close()
        await server.wait_closed()

    try:
        asyncio.run(main())
    finally:
        handler.close()
