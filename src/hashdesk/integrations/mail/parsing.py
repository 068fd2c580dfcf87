"""Reading a received mail with the standard library (``email``, ``policy.default``).

The parser is lenient by design; a mail is refused as malformed only when what Hashdesk needs
cannot be read reliably: a multipart without (or with broken) boundaries, a missing or
unreadable From address, headers that do not parse, or a body that cannot be decoded.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import errors, policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses

from hashdesk.integrations.mail.text import html_to_text

# Defects that mean the structure of the mail is unknowable, not merely untidy.
_FATAL_DEFECTS = (
    errors.NoBoundaryInMultipartDefect,
    errors.StartBoundaryNotFoundDefect,
    errors.CloseBoundaryNotFoundDefect,
    errors.MultipartInvariantViolationDefect,
    errors.MissingHeaderBodySeparatorDefect,
    errors.InvalidMultipartContentTransferEncodingDefect,
)
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,250}>")
SUBJECT_MAX = 255


class MalformedMail(Exception):
    """The mail cannot be read; ``str(exc)`` says why (it goes into the SMTP reply)."""


@dataclass(frozen=True)
class MailAttachment:
    filename: str
    content: bytes


@dataclass
class ParsedMail:
    message_id: str
    sender: str  # the From address, lower case
    sender_name: str
    subject: str
    text: str  # the body as plain text (HTML converted), before quote stripping
    references: list[str]  # In-Reply-To first, then References, newest last
    attachments: list[MailAttachment] = field(default_factory=list)
    message: EmailMessage | None = None

    def header(self, name: str) -> str:
        assert self.message is not None
        value = self.message.get(name)
        return str(value).strip() if value is not None else ""


def _defects(message: EmailMessage) -> list[errors.MessageDefect]:
    found = list(message.defects)
    for part in message.walk():
        found.extend(part.defects)
    return found


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError) as exc:  # the header parser gave up
        raise MalformedMail(f"unreadable {name} header") from exc
    return " ".join(str(value).split()) if value is not None else ""


def _message_ids(text: str) -> list[str]:
    return _MESSAGE_ID.findall(text or "")


def _decoded(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError) as exc:
        raise MalformedMail("a text part cannot be decoded") from exc
    return content if isinstance(content, str) else ""


def parse_mail(raw: bytes) -> ParsedMail:
    """The parts of ``raw`` (an RFC 5322 message) Hashdesk reads; MalformedMail if it cannot."""
    if not raw.strip():
        raise MalformedMail("empty message")
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    for defect in _defects(message):
        if isinstance(defect, _FATAL_DEFECTS):
            raise MalformedMail(f"broken MIME structure ({type(defect).__name__})")
    from_header = _header(message, "From")
    addresses = [(n, a) for n, a in getaddresses([from_header]) if "@" in a]
    if not from_header or len(addresses) != 1:
        raise MalformedMail("no single readable From address")
    name, address = addresses[0]
    subject = _header(message, "Subject")[:SUBJECT_MAX]
    ids = _message_ids(_header(message, "Message-ID"))
    message_id = ids[0] if ids else f"<sha256.{hashlib.sha256(raw).hexdigest()}@hashdesk>"
    references = _message_ids(_header(message, "In-Reply-To"))
    references += [i for i in _message_ids(_header(message, "References")) if i not in references]

    text = ""
    body = message.get_body(preferencelist=("plain", "html"))
    if body is not None:
        content = _decoded(body)  # type: ignore[arg-type]
        text = html_to_text(content) if body.get_content_subtype() == "html" else content
    attachments: list[MailAttachment] = []
    for part in message.iter_attachments():
        if part.get_content_maintype() == "multipart":
            continue
        try:
            payload = part.get_payload(decode=True)
        except (ValueError, AssertionError) as exc:
            raise MalformedMail("an attachment cannot be decoded") from exc
        if isinstance(payload, bytes):
            attachments.append(MailAttachment(part.get_filename() or "", payload))
    return ParsedMail(
        message_id=message_id,
        sender=address.strip().lower(),
        sender_name=name.strip(),
        subject=subject,
        text=text,
        references=references,
        attachments=attachments,
        message=message,
    )
