"""Mail no person wrote: auto-replies, bounces, lists, and our own notifications coming back.

Answering any of these would start a loop (an out-of-office answering our notification, which
answers the out-of-office ...), so they are accepted and recorded as ignored. RFC 3834
(``Auto-Submitted``), RFC 3464 (``multipart/report`` delivery status notifications), RFC 2919 /
2369 (list headers), the de-facto ``X-Autoreply`` / ``X-Autorespond`` / ``Precedence`` headers.
"""

from __future__ import annotations

from email.utils import parseaddr

from django.conf import settings

from hashdesk.integrations.mail.parsing import ParsedMail

_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
_BOUNCE_SENDERS = ("mailer-daemon@", "postmaster@")


def automatic_reason(mail: ParsedMail, envelope_from: str) -> str:
    """Why ``mail`` is automatic ("" when a person wrote it)."""
    assert mail.message is not None
    if not envelope_from.strip("<> "):
        return "bounce (empty envelope sender)"
    if mail.message.get_content_type() == "multipart/report":
        return "delivery status report"
    auto_submitted = mail.header("Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted[:40]}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        if mail.header(name):
            return f"{name} header"
    precedence = mail.header("Precedence").lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in ("List-Id", "List-Unsubscribe"):
        if mail.header(name):
            return f"mailing list ({name})"
    if mail.header("X-Hashdesk-Thread") or mail.header("X-Hashdesk-Kind"):
        return "a notification Hashdesk sent"
    ours = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower()
    if ours and mail.sender == ours:
        return "sent from Hashdesk's own address"
    if mail.sender.startswith(_BOUNCE_SENDERS):
        return "bounce (mailer daemon)"
    return ""
