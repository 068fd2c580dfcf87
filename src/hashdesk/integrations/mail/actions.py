"""Receiving one mail: the single path from raw bytes to a new incident or a timeline entry.

``receive_mail`` is what the SMTP listener calls for each message (and what tests and any
other ingester call). It decides, in this order (docs/integrations/mail.md):

1. unreadable MIME → rejected (554); a Message-ID already recorded → accepted, nothing done;
2. automatic mail (auto-replies, bounces, lists, our own notifications) → ignored;
3. the per-sender rate limit → a temporary refusal (451), nothing recorded;
4. the sender's account (unknown senders by ``INBOUND_MAIL_UNKNOWN_SENDERS``);
5. a reply (reply token in a recipient, then In-Reply-To / References, then the subject's
   ``[Hashdesk INC-…]``) → a public comment on that incident, as the sender;
6. otherwise a new incident on the guessed service (see ``routing``).

Incidents and comments are written by ``incidents.actions`` as the sender, so their rules
(visibility, requesters' comments, redaction, events, audit) hold unchanged; attachments go
through ``incidents.attachments.do_add_attachment``.

Administrators manage the address aliases routing reads first (``do_create_alias``,
``do_update_alias``, ``do_delete_alias``), each audited in its transaction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from hashdesk.accounts.actions import do_create_user
from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.catalog.models import Service
from hashdesk.core import ratelimit
from hashdesk.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from hashdesk.core.logging import get_logger
from hashdesk.core.uploads import clean_filename, extension, human_size
from hashdesk.core.validation import require_text
from hashdesk.core.visibility import can_view, is_administrator
from hashdesk.incidents.actions import do_add_update, do_create_incident
from hashdesk.incidents.attachments import allowed_types, do_add_attachment
from hashdesk.incidents.choices import FINAL_STATES, Channel
from hashdesk.incidents.models import DESCRIPTION_MAX, TITLE_MAX, Incident
from hashdesk.integrations.mail import addresses, routing
from hashdesk.integrations.mail.automatic import automatic_reason
from hashdesk.integrations.mail.choices import AliasTarget, InboundStatus, UnknownSenders
from hashdesk.integrations.mail.models import LOCAL_PART_MAX, InboundMessage, MailAlias
from hashdesk.integrations.mail.parsing import MailAttachment, MalformedMail, ParsedMail, parse_mail
from hashdesk.integrations.mail.text import strip_reply

log = get_logger(__name__)

_SUBJECT_TAG = re.compile(r"\[Hashdesk (INC-[0-9]+)\]", re.IGNORECASE)


@dataclass(frozen=True)
class Outcome:
    """What became of a mail, and the SMTP reply that says so."""

    smtp_reply: str
    record: InboundMessage | None = None
    incident: Incident | None = None

    @property
    def accepted(self) -> bool:
        return self.smtp_reply.startswith("250")


class _Refused(Exception):
    """Refuse the mail with ``reply`` (an SMTP reply line) and record why."""

    def __init__(self, reply: str, reason: str) -> None:
        super().__init__(reason)
        self.reply = reply
        self.reason = reason


def _smtp_text(text: str, limit: int = 300) -> str:
    """One ASCII line: an SMTP reply may carry nothing else."""
    line = " ".join(text.split())
    return line.encode("ascii", "replace").decode()[:limit]


def _without_token(address: str) -> str:
    """A reply address is a credential for its thread: stored and shown without its token."""
    local, domain = addresses.split(address)
    return f"reply+…@{domain}" if local.lower().startswith("reply+") else address


# --- Recording ----------------------------------------------------------------------------------


def _record(
    mail: ParsedMail | None,
    raw: bytes,
    envelope_from: str,
    recipients: Sequence[str],
    status: str,
    *,
    reason: str = "",
    author: User | None = None,
    incident: Incident | None = None,
    dropped: list[dict[str, str]] | None = None,
) -> InboundMessage:
    return InboundMessage.objects.create(
        message_id=mail.message_id if mail else "",
        envelope_from=envelope_from[:254],
        sender=mail.sender[:254] if mail else "",
        recipients=[_without_token(r)[:254] for r in recipients[:20]],
        subject=mail.subject if mail else "",
        size=len(raw),
        status=status,
        reason=reason[:255],
        author=author,
        incident=incident,
        dropped_attachments=dropped or [],
    )


# --- Who and what -------------------------------------------------------------------------------


def _sender_account(mail: ParsedMail) -> User | None:
    """The sender's account; per policy a new requester, or None to ignore the mail."""
    user = User.objects.filter(email=mail.sender).first()
    if user is not None:
        if not user.is_active:
            raise _Refused(
                "550 5.7.1 This account is deactivated; contact the service desk.",
                "sender's account is deactivated",
            )
        return user
    policy = settings.INBOUND_MAIL_UNKNOWN_SENDERS
    if policy == UnknownSenders.CREATE:
        local = mail.sender.split("@", 1)[0]
        name = mail.sender_name or local.replace(".", " ").title()
        return do_create_user(
            None, email=mail.sender, display_name=name[:150], roles=[Role.REQUESTER]
        )
    if policy == UnknownSenders.IGNORE:
        return None
    raise _Refused(
        f"550 5.7.1 {_smtp_text(mail.sender, 100)} has no Hashdesk account; "
        "sign in to Hashdesk or ask the service desk to add you.",
        "unknown sender",
    )


def _thread_incident(mail: ParsedMail, recipients: Sequence[str]) -> tuple[str, str] | None:
    """``(kind, ref)`` of the record the mail answers, or None for a new mail."""
    for recipient in recipients:
        thread = addresses.reply_thread(recipient)
        if thread is not None:
            return thread
    for message_id in mail.references:
        thread = addresses.thread_of_message_id(message_id)
        if thread is not None:
            return thread
    match = _SUBJECT_TAG.search(mail.subject)
    if match:
        return "incident", match.group(1).upper()
    return None


def _sort_attachments(
    attachments: Sequence[MailAttachment],
) -> tuple[list[tuple[str, bytes]], list[dict[str, str]]]:
    """The attachments worth trying to keep, and those dropped with the reason why."""
    types = allowed_types()
    kept: list[tuple[str, bytes]] = []
    dropped: list[dict[str, str]] = []
    for attachment in attachments:
        name = clean_filename(attachment.filename)
        if len(kept) >= settings.INBOUND_MAIL_MAX_ATTACHMENTS:
            reason = f"more than {settings.INBOUND_MAIL_MAX_ATTACHMENTS} attachments"
        elif len(attachment.content) > settings.ATTACHMENT_MAX_BYTES:
            reason = f"larger than {human_size(settings.ATTACHMENT_MAX_BYTES)}"
        elif extension(name) not in types:
            reason = "file type not allowed"
        else:
            kept.append((name, attachment.content))
            continue
        dropped.append({"filename": name, "reason": reason})
    return kept, dropped


def _with_dropped_note(text: str, dropped: list[dict[str, str]]) -> str:
    if not dropped:
        return text
    listed = "; ".join(f"{d['filename']} ({d['reason']})" for d in dropped)
    note = f"_Attachments not kept: {listed}._"
    room = DESCRIPTION_MAX - len(note) - 2
    return f"{text[:room]}\n\n{note}".strip()


def _title(mail: ParsedMail, text: str) -> str:
    subject = re.sub(r"^\s*((re|fwd?|aw|tr|wg)\s*:\s*)+", "", mail.subject, flags=re.IGNORECASE)
    title = subject.strip() or next((line for line in text.splitlines() if line.strip()), "")
    return (title.strip() or f"Mail from {mail.sender}")[:TITLE_MAX]


# --- The action ---------------------------------------------------------------------------------


def receive_mail(raw: bytes, *, envelope_from: str, recipients: Sequence[str]) -> Outcome:
    """Turn one received mail into a new incident, a timeline comment, or a recorded refusal.

    Never raises for anything the mail contains: the outcome's ``smtp_reply`` says what the
    sending server is told (2xx accepted, 4xx try later, 5xx refused).
    """
    ours = [r for r in recipients if addresses.is_ours(r)]
    try:
        mail = parse_mail(raw)
    except MalformedMail as exc:
        record = _record(
            None, raw, envelope_from, recipients, InboundStatus.REJECTED, reason=f"malformed: {exc}"
        )
        return Outcome(f"554 5.6.0 Malformed message: {_smtp_text(str(exc))}", record)
    if not ours:
        record = _record(
            mail,
            raw,
            envelope_from,
            recipients,
            InboundStatus.REJECTED,
            reason="no Hashdesk recipient",
        )
        return Outcome("550 5.1.1 No Hashdesk address among the recipients.", record)
    if _already_received(mail):
        return Outcome("250 2.0.0 Already received; nothing more to do.")
    reason = automatic_reason(mail, envelope_from)
    if reason:
        return _ignored(mail, raw, envelope_from, ours, f"automatic: {reason}")
    try:
        ratelimit.hit("inbound_mail", mail.sender)
    except RateLimited:
        log.warning("inbound_mail.rate_limited")
        return Outcome("451 4.7.1 Too many messages from this sender; try again later.")
    kept, dropped = _sort_attachments(mail.attachments)
    try:
        with transaction.atomic():
            outcome = _act(mail, raw, envelope_from, ours, dropped)
    except IntegrityError:
        # The same Message-ID, recorded by a concurrent delivery of the same mail.
        if _already_received(mail):
            return Outcome("250 2.0.0 Already received; nothing more to do.")
        raise
    except _Refused as refusal:
        record = _record(
            mail, raw, envelope_from, ours, InboundStatus.REJECTED, reason=refusal.reason
        )
        return Outcome(refusal.reply, record)
    except DomainError as exc:
        note = exc.log_note if isinstance(exc, routing.NoService) else ""
        reason = f"{exc.detail} ({note})" if note else exc.detail
        record = _record(mail, raw, envelope_from, ours, InboundStatus.REJECTED, reason=reason)
        return Outcome(f"550 5.7.1 {_smtp_text(exc.detail)}", record)
    if outcome.incident is not None and outcome.record is not None and kept:
        _attach(outcome.record, outcome.incident, kept)
    return outcome


def _already_received(mail: ParsedMail) -> bool:
    return (
        InboundMessage.objects.filter(message_id=mail.message_id)
        .exclude(status=InboundStatus.REJECTED)
        .exists()
    )


def _ignored(
    mail: ParsedMail, raw: bytes, envelope_from: str, recipients: Sequence[str], reason: str
) -> Outcome:
    try:
        with transaction.atomic():
            record = _record(
                mail, raw, envelope_from, recipients, InboundStatus.IGNORED, reason=reason
            )
    except IntegrityError:
        return Outcome("250 2.0.0 Already received; nothing more to do.")
    return Outcome("250 2.0.0 Accepted.", record)


def _act(
    mail: ParsedMail,
    raw: bytes,
    envelope_from: str,
    recipients: Sequence[str],
    dropped: list[dict[str, str]],
) -> Outcome:
    author = _sender_account(mail)
    if author is None:
        record = _record(
            mail,
            raw,
            envelope_from,
            recipients,
            InboundStatus.IGNORED,
            reason="unknown sender (policy: ignore)",
        )
        return Outcome("250 2.0.0 Accepted.", record)
    text = strip_reply(mail.text)
    thread = _thread_incident(mail, recipients)
    if thread is not None:
        kind, ref = thread
        if kind != "incident":
            raise _Refused(
                f"550 5.7.1 Replies about a {kind} cannot be recorded by mail; "
                "please answer on its page in Hashdesk.",
                f"reply to a {kind} thread ({kind}/{ref})",
            )
        incident = Incident.objects.filter(number=ref).select_related("service").first()
        if incident is None or not can_view(author, incident):
            raise _Refused(f"550 5.7.1 No incident {ref} that you may see.", f"no visible {ref}")
        if incident.state not in FINAL_STATES:
            if not text and not dropped and not mail.attachments:
                record = _record(
                    mail,
                    raw,
                    envelope_from,
                    recipients,
                    InboundStatus.IGNORED,
                    reason="empty reply",
                    author=author,
                    incident=incident,
                )
                return Outcome("250 2.0.0 Accepted (nothing new in the reply).", record, incident)
            body = _with_dropped_note(text or "(attachments by mail)", dropped)
            do_add_update(author, incident, body=body[:DESCRIPTION_MAX], public=True)
            record = _record(
                mail,
                raw,
                envelope_from,
                recipients,
                InboundStatus.THREADED,
                author=author,
                incident=incident,
                dropped=dropped,
            )
            return Outcome(f"250 2.0.0 Added to {incident.number}.", record, incident)
        # A reply to a closed incident opens a follow-up on the same service.
        text = f"Follow-up to {incident.number}.\n\n{text}".strip()
        service = incident.service
        note = ""
    else:
        route = routing.guess_service(author, mail, recipients, text)
        service, note = route.service, route.note
    incident = do_create_incident(
        author,
        title=_title(mail, text),
        description=_with_dropped_note(text, dropped)[:DESCRIPTION_MAX],
        service=service,
        source=Channel.EMAIL,
    )
    record = _record(
        mail,
        raw,
        envelope_from,
        recipients,
        InboundStatus.OPENED,
        reason=note,
        author=author,
        incident=incident,
        dropped=dropped,
    )
    return Outcome(f"250 2.0.0 Opened {incident.number}.", record, incident)


def _attach(record: InboundMessage, incident: Incident, kept: list[tuple[str, bytes]]) -> None:
    """Attach each kept file (each its own transaction, as the upload form does); a file the
    attachment rules refuse is listed on the record instead."""
    author = record.author
    refused: list[dict[str, str]] = []
    for name, content in kept:
        try:
            do_add_attachment(author, incident, upload=SimpleUploadedFile(name, content))
        except DomainError as exc:
            refused.append({"filename": name, "reason": exc.detail[:200]})
    if refused:
        record.dropped_attachments = [*record.dropped_attachments, *refused]
        record.save(update_fields=["dropped_attachments"])


# --- Aliases ------------------------------------------------------------------------------------

# Letters, digits, "." "_" "-"; no "+" (never a reply+ address); no leading, trailing or double dot.
_LOCAL_PART = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")


def alias_snapshot(alias: MailAlias) -> dict[str, Any]:
    """What the audit trail records of an alias."""
    return {
        "local_part": alias.local_part,
        "target": alias.target,
        "service_id": alias.service_id,
        "is_active": alias.is_active,
    }


def _require_alias_admin(actor: User | None) -> User:
    if actor is None or not is_administrator(actor):
        raise Forbidden("Only administrators manage mail aliases.")
    return actor


def _clean_local_part(local_part: str, *, exclude: int | None = None) -> str:
    clean = require_text(local_part, field="local_part", max_length=254).lower()
    # A whole address on an inbound domain is taken for its local part.
    local, domain = addresses.split(clean)
    if local and domain in addresses.inbound_domains():
        clean = local
    if len(clean) > LOCAL_PART_MAX:
        raise ValidationFailed(
            f"An address's local part is at most {LOCAL_PART_MAX} characters.", field="local_part"
        )
    if not _LOCAL_PART.fullmatch(clean):
        raise ValidationFailed(
            "Use letters, digits, dots, hyphens and underscores only (the part before the @, "
            "e.g. helpdesk).",
            field="local_part",
        )
    taken = MailAlias.objects.filter(local_part=clean)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise Conflict(f"The alias {clean}@ exists already.", field="local_part")
    return clean


def _clean_target(
    target: str, service: Service | None, *, current: Service | None = None
) -> Service | None:
    """The alias's service (None for "guess"); a retired service only if it is already the
    alias's own, so an alias whose service was retired can still be edited."""
    if target not in AliasTarget.values:
        raise ValidationFailed("Choose where the alias points.", field="target")
    if target == AliasTarget.GUESS:
        return None
    if service is None:
        raise ValidationFailed("Choose the alias's service.", field="service")
    if not service.is_active and (current is None or service.pk != current.pk):
        raise ValidationFailed(f"The service {service.name} is retired.", field="service")
    return service


def _lock_alias(alias: MailAlias) -> MailAlias:
    try:
        return MailAlias.objects.select_for_update().get(pk=alias.pk)
    except MailAlias.DoesNotExist:
        raise NotFound("No such alias.") from None


def _save_unique(alias: MailAlias, **kwargs: Any) -> None:
    """Save in a savepoint: a concurrent alias of the same name is a Conflict, not a 500."""
    try:
        with transaction.atomic():
            alias.save(**kwargs)
    except IntegrityError:
        raise Conflict(
            f"The alias {alias.local_part}@ exists already.", field="local_part"
        ) from None


@transaction.atomic
def do_create_alias(
    actor: User | None,
    *,
    local_part: str,
    target: str,
    service: Service | None = None,
    is_active: bool = True,
) -> MailAlias:
    """A new address of the inbound domains, pointed at ``service`` or at "guess"."""
    admin = _require_alias_admin(actor)
    alias = MailAlias(
        local_part=_clean_local_part(local_part),
        target=target,
        service=_clean_target(target, service),
        is_active=is_active,
        created_by=admin,
    )
    _save_unique(alias)
    trail.record(actor=admin, action="mail.alias.create", obj=alias, after=alias_snapshot(alias))
    return alias


@transaction.atomic
def do_update_alias(
    actor: User | None,
    alias: MailAlias,
    *,
    local_part: str,
    target: str,
    service: Service | None = None,
    is_active: bool = True,
) -> MailAlias:
    """Rename, repoint, disable or enable an alias; nothing is written when nothing changes."""
    admin = _require_alias_admin(actor)
    alias = _lock_alias(alias)
    before = alias_snapshot(alias)
    alias.local_part = _clean_local_part(local_part, exclude=alias.pk)
    alias.service = _clean_target(target, service, current=alias.service)
    alias.target = target
    alias.is_active = is_active
    after = alias_snapshot(alias)
    if after == before:
        return alias
    alias.updated_at = timezone.now()
    _save_unique(
        alias, update_fields=["local_part", "target", "service", "is_active", "updated_at"]
    )
    trail.record(actor=admin, action="mail.alias.update", obj=alias, before=before, after=after)
    return alias


@transaction.atomic
def do_delete_alias(actor: User | None, alias: MailAlias) -> None:
    """Remove an alias: mail to its address is routed as if it had never existed."""
    admin = _require_alias_admin(actor)
    alias = _lock_alias(alias)
    trail.record(actor=admin, action="mail.alias.delete", obj=alias, before=alias_snapshot(alias))
    alias.delete()
