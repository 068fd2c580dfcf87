"""What happens to a message after it is sent: edits, deletes, reactions, and the files shared
in a room (docs/chat.md, "Editing, deleting, reactions" and "Attachments").

Sending itself is ``chat.actions.do_send_message`` (which attaches the files uploaded here).
Every action locks the message's row, so two edits, a delete racing an edit, or reactions from
many people at once leave the message, its revisions and its ``reaction_counts`` in step.

Edits and deletes are audited (``chat.message_edit``, ``chat.message_delete``); reactions are
not, for the same reason single messages are not: chat's volume would drown the trail.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.chat.actions import (
    _check_body,
    _require_person,
    _visible_room,
    is_member,
    publish_message,
    read_text,
)
from hashdesk.chat.choices import MemberRole, MessageKind, ReactionEmoji
from hashdesk.chat.models import (
    ChatAttachment,
    Membership,
    Message,
    MessageReaction,
    MessageRevision,
    Room,
)
from hashdesk.core import ratelimit, uploads
from hashdesk.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    UnsupportedMediaType,
    ValidationFailed,
)
from hashdesk.core.visibility import can_view, is_staff
from hashdesk.incidents.attachments import KNOWN_TYPES, FileType, allowed_types

REASON_MAX = 500
# Files one message carries.
ATTACHMENTS_PER_MESSAGE_MAX = 5
# Uploads never attached to a message are removed after this long (chat.tasks).
UNATTACHED_TTL = timedelta(hours=24)
EMOJI = tuple(ReactionEmoji.values)


# --- Looking messages up -------------------------------------------------------------------------


def _locked(person: User, message: Message) -> Message:
    """``message`` re-read under its row lock, when ``person`` may see it (NotFound else)."""
    found = (
        Message.objects.select_for_update(of=("self",))
        .select_related("author", "room")
        .filter(pk=message.pk)
        .first()
    )
    if found is None or not can_view(person, found):
        raise NotFound("No such message.")
    return found


def may_moderate(person: User, room: Room) -> bool:
    """Staff, and the room's moderators, may remove anyone's messages."""
    if is_staff(person):
        return True
    return Membership.objects.filter(
        room=room, user_id=person.pk, role=MemberRole.MODERATOR
    ).exists()


# --- Editing and deleting ------------------------------------------------------------------------


@transaction.atomic
def do_edit_message(actor: User | None, message: Message, *, body: str) -> Message:
    """Change a message's text: its author only (staff may remove others' words, never rewrite
    them). The new text is redacted like a sent one; the old one is kept as a
    ``MessageRevision``. Deleted and system messages cannot be edited (Conflict), nor messages
    in an archived room. The same text again changes nothing."""
    person = _require_person(actor)
    text = _check_body(body)
    message = _locked(person, message)
    if message.deleted_at is not None:
        raise Conflict("A deleted message cannot be edited.")
    if message.kind == MessageKind.SYSTEM:
        raise Conflict("System messages cannot be edited.")
    if message.author_id != person.pk:
        raise Forbidden("Only its author can edit a message.")
    if message.room.archived_at is not None:
        raise Conflict("This room is archived.")
    read = read_text(text)
    if read.body == message.body:
        return message
    before = {"body": message.body, "edited_at": _iso(message.edited_at)}
    MessageRevision.objects.create(message=message, body=message.body, edited_by=person)
    message.body = read.body
    message.body_html = read.body_html
    message.redactions = read.redactions
    message.edited_at = timezone.now()
    message.save(update_fields=["body", "body_html", "redactions", "edited_at"])
    # Mentions follow the text; an edit notifies nobody again (a typo fix is not news).
    message.mentions.set(read.mentioned)
    trail.record(
        actor=person,
        action="chat.message_edit",
        obj=message,
        before=before,
        after={"body": message.body, "edited_at": _iso(message.edited_at)},
    )
    publish_message(message, "update")
    return message


@transaction.atomic
def do_delete_message(actor: User | None, message: Message, *, reason: str = "") -> Message:
    """Remove a message: its author, staff, or a moderator of the room. Soft: the message keeps
    its id and place in the history, without its text (staff still see it). A reply leaving
    its thread lowers the root's ``reply_count``; the root's update is published too."""
    person = _require_person(actor)
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise ValidationFailed(f"A reason is at most {REASON_MAX} characters.", field="reason")
    message = _locked(person, message)
    if message.deleted_at is not None:
        raise Conflict("This message is already deleted.")
    own = message.author_id == person.pk and message.kind != MessageKind.SYSTEM
    if not own and not may_moderate(person, message.room):
        raise Forbidden("Only its author, the service desk or a moderator can delete a message.")
    message.deleted_at = timezone.now()
    message.save(update_fields=["deleted_at"])
    trail.record(
        actor=person,
        action="chat.message_delete",
        obj=message,
        before={"body": message.body, "author_id": message.author_id},
        after={"reason": reason, "deleted_at": _iso(message.deleted_at)},
    )
    publish_message(message, "delete")
    if message.thread_root_id is not None:
        Message.objects.filter(pk=message.thread_root_id, reply_count__gt=0).update(
            reply_count=F("reply_count") - 1
        )
        root = Message.objects.select_related("author").get(pk=message.thread_root_id)
        publish_message(root, "update")
    return message


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


# --- Reactions -----------------------------------------------------------------------------------


def _check_emoji(emoji: str) -> str:
    if emoji not in EMOJI:
        raise ValidationFailed(f"React with one of: {', '.join(EMOJI)}.", field="emoji")
    return emoji


def _reactable(person: User, message: Message) -> Message:
    message = _locked(person, message)
    if message.deleted_at is not None:
        raise NotFound("No such message.")
    if not is_member(person, message.room):
        raise Forbidden("Join the room to react to messages.")
    return message


@transaction.atomic
def do_react(actor: User | None, message: Message, emoji: str) -> Message:
    """Add ``actor``'s ``emoji`` to a message of a room they are a member of. Reacting twice
    with the same emoji changes nothing. ``reaction_counts`` moves under the message's lock."""
    person = _require_person(actor)
    emoji = _check_emoji(emoji)
    message = _reactable(person, message)
    _, created = MessageReaction.objects.get_or_create(message=message, user=person, emoji=emoji)
    if created:
        counts = dict(message.reaction_counts)
        counts[emoji] = counts.get(emoji, 0) + 1
        message.reaction_counts = counts
        message.save(update_fields=["reaction_counts"])
        publish_message(message, "update")
    return message


@transaction.atomic
def do_unreact(actor: User | None, message: Message, emoji: str) -> Message:
    """Take ``actor``'s ``emoji`` back; nothing happens when there was none."""
    person = _require_person(actor)
    emoji = _check_emoji(emoji)
    message = _reactable(person, message)
    removed, _ = MessageReaction.objects.filter(message=message, user=person, emoji=emoji).delete()
    if removed:
        counts = dict(message.reaction_counts)
        left = counts.get(emoji, 0) - 1
        if left > 0:
            counts[emoji] = left
        else:
            counts.pop(emoji, None)
        message.reaction_counts = counts
        message.save(update_fields=["reaction_counts"])
        publish_message(message, "update")
    return message


# --- Attachments ---------------------------------------------------------------------------------


def max_attachment_bytes() -> int:
    """``CHAT_ATTACHMENT_MAX_BYTES``, never above what any upload may hold."""
    return min(int(settings.CHAT_ATTACHMENT_MAX_BYTES), uploads.max_upload_bytes())


def attachment_url(attachment: ChatAttachment) -> str:
    return reverse("chat:attachment", args=[attachment.pk, attachment.filename])


def attachment_snapshot(attachment: ChatAttachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "url": attachment_url(attachment),
    }


def _audit(attachment: ChatAttachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "room_id": attachment.room_id,
        "message_id": attachment.message_id,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
    }


def _file_type(filename: str) -> FileType:
    types = allowed_types()
    file_type = types.get(uploads.extension(filename))
    if file_type is None:
        ext = uploads.extension(filename)
        raise UnsupportedMediaType(
            f"{filename}: {f'.{ext} files' if ext else 'files without an extension'} "
            f"cannot be shared. Allowed: {', '.join(f'.{e}' for e in types)}.",
            field="file",
            allowed=sorted(types),
        )
    return file_type


def _may_share(person: User, room: Room) -> None:
    _visible_room(person, room)
    if not is_member(person, room):
        raise Forbidden("Join the room to share files.")
    if room.archived_at is not None:
        raise Conflict("This room is archived.")


def do_upload_attachment(actor: User | None, room: Room, file: UploadedFile) -> ChatAttachment:
    """Store a file for a message to come in ``room`` (members only). The type must be on
    ``ATTACHMENT_TYPES`` and the content what the name says (415), at most
    ``max_attachment_bytes()`` (413), not empty (422); rate limited (``chat_attachment``).

    The bytes are received outside the transaction (on SQLite it would hold the only write
    lock); the row and audit entry are written in one, and any failure removes the file. No
    event: an unsent file is its uploader's alone; the message's events carry it."""
    person = _require_person(actor)
    _may_share(person, room)
    ratelimit.hit("chat_attachment", str(person.pk))
    filename = uploads.clean_filename(file.name or "")
    file_type = _file_type(filename)
    received = uploads.receive(
        file, filename, max_bytes=max_attachment_bytes(), text=file_type.is_text
    )
    try:
        if file_type.sniff is None:
            matches = received.is_text
        else:
            matches = file_type.sniff(received.path, received.head)
        if not matches:
            raise UnsupportedMediaType(
                f"{filename} is not a {file_type.label}: its content does not match its name.",
                field="file",
            )
        return _record(person, room, received, filename, file_type)
    except BaseException:
        received.discard()
        raise


@transaction.atomic
def _record(
    person: User, room: Room, received: uploads.Received, filename: str, file_type: FileType
) -> ChatAttachment:
    room = Room.objects.select_for_update().get(pk=room.pk)
    _may_share(person, room)
    attachment = ChatAttachment.objects.create(
        uploader=person,
        room=room,
        storage_name=uploads.new_storage_name(),
        filename=filename,
        content_type=file_type.content_type,
        size=received.size,
        sha256=received.sha256,
    )
    received.keep(attachment.storage_name)
    trail.record(
        actor=person, action="chat.attachment_upload", obj=attachment, after=_audit(attachment)
    )
    return attachment


def unattached_for(uploader: User, ids: list[int]) -> list[ChatAttachment]:
    """``uploader``'s files among ``ids`` that wait for a message, in the order of ``ids``; a
    ValidationFailed (field ``attachment_ids``) names the first that is not one."""
    if len(ids) > ATTACHMENTS_PER_MESSAGE_MAX:
        raise ValidationFailed(
            f"A message has at most {ATTACHMENTS_PER_MESSAGE_MAX} files.", field="attachment_ids"
        )
    found = ChatAttachment.objects.filter(
        pk__in=ids, uploader_id=uploader.pk, message__isnull=True
    ).in_bulk()
    for pk in ids:
        if pk not in found:
            raise ValidationFailed(
                f"File {pk} is not an upload of yours waiting for a message.",
                field="attachment_ids",
            )
    return [found[pk] for pk in dict.fromkeys(ids)]


def open_attachment(attachment: ChatAttachment) -> IO[bytes]:
    return uploads.open_stored(
        attachment.storage_name,
        what=f"chat attachment {attachment.pk}",
        missing="This file is missing; tell the service desk.",
    )


def attachment_response(attachment: ChatAttachment) -> FileResponse:
    """The stored bytes with the headers every download gets (images shown, the rest saved;
    text, verified UTF-8 at upload, says its charset)."""
    content_type = attachment.content_type
    if content_type in {t.content_type for t in KNOWN_TYPES.values() if t.is_text}:
        content_type = f"{content_type}; charset=utf-8"
    return uploads.file_response(
        open_attachment(attachment),
        filename=attachment.filename,
        content_type=content_type,
        inline=attachment.content_type.startswith("image/"),
    )


def remove_unattached(now: datetime) -> int:
    """Remove uploads never sent within ``UNATTACHED_TTL`` (rows, then their files once the
    deletion commits). The worker runs it (chat.tasks); returns how many."""
    return _remove(ChatAttachment.objects.filter(created_at__lt=now - UNATTACHED_TTL))


@transaction.atomic
def _remove(candidates: QuerySet[ChatAttachment]) -> int:
    """Delete the ``candidates`` not on a message, audited as the system's doing, and their
    files after the commit. One attached meanwhile stays, and so does its file."""
    # Ordered by id alone: the model's ordering joins the message, and PostgreSQL locks no
    # row on the nullable side of an outer join.
    found = list(candidates.filter(message__isnull=True).order_by("pk").select_for_update())
    if not found:
        return 0
    ids = [item.pk for item in found]
    removed, _ = ChatAttachment.objects.filter(pk__in=ids, message__isnull=True).delete()
    kept = set(ChatAttachment.objects.filter(pk__in=ids).values_list("pk", flat=True))
    gone = [item for item in found if item.pk not in kept]
    trail.record_many(
        trail.Change(actor=None, action="chat.attachment_remove", obj=item, before=_audit(item))
        for item in gone
    )
    for item in gone:
        uploads.remove_after_commit(item.storage_name)
    return removed
