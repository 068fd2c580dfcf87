"""Files shared in chat rooms: uploaded by members, attached when sending, served to whoever
sees the message, removed when never sent (docs/chat.md, "Attachments")."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from hashdesk.audit.models import AuditEntry
from hashdesk.chat import actions, messages
from hashdesk.chat.models import ChatAttachment
from hashdesk.chat.tasks import remove_unattached_chat_files
from hashdesk.core.errors import (
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    UnsupportedMediaType,
    ValidationFailed,
)
from hashdesk.core.uploads import storage_path

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def upload(name: str = "vpn.log", content: bytes = b"12:00 tunnel down\n") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def stored_files(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.is_file() and ".incoming" not in p.parts]


@pytest.fixture(autouse=True)
def uploads_dir(settings: Any, tmp_path: Path) -> Path:
    settings.ATTACHMENTS_DIR = tmp_path / "uploads"
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "chat_attachment": (1000, 60)}
    return Path(settings.ATTACHMENTS_DIR)


@pytest.fixture
def member(requester, vpn_room):
    actions.do_join_room(requester, vpn_room)
    return requester


def test_members_upload_and_send_files(member, vpn_room, uploads_dir, capture_events):
    log = messages.do_upload_attachment(member, vpn_room, upload())
    shot = messages.do_upload_attachment(member, vpn_room, upload("shot.png", PNG))
    assert (log.content_type, log.size, log.message_id) == ("text/plain", 18, None)
    assert storage_path(log.storage_name).read_bytes() == b"12:00 tunnel down\n"
    assert AuditEntry.objects.filter(action="chat.attachment_upload").count() == 2
    with capture_events() as events:
        sent = actions.do_send_message(member, vpn_room, body="see", attachments=[log, shot])
    [event] = [e for e in events if e.type == "chat_message"]
    files = event.payload["message"]["attachments"]
    assert [(f["id"], f["filename"]) for f in files] == [(log.pk, "vpn.log"), (shot.pk, "shot.png")]
    assert files[0]["url"] == f"/chat/attachments/{log.pk}/vpn.log"
    assert set(sent.message.attachments.all()) == {log, shot}


def test_what_may_not_be_uploaded(requester, other_requester, vpn_room, settings, uploads_dir):
    with pytest.raises(Forbidden):
        messages.do_upload_attachment(requester, vpn_room, upload())
    actions.do_join_room(requester, vpn_room)
    with pytest.raises(UnsupportedMediaType):
        messages.do_upload_attachment(requester, vpn_room, upload("run.exe", b"MZ"))
    with pytest.raises(UnsupportedMediaType):  # the name says PNG, the content does not
        messages.do_upload_attachment(requester, vpn_room, upload("shot.png", b"not an image"))
    with pytest.raises(ValidationFailed):
        messages.do_upload_attachment(requester, vpn_room, upload("empty.txt", b""))
    settings.CHAT_ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(PayloadTooLarge):
        messages.do_upload_attachment(requester, vpn_room, upload("big.txt", b"x" * 11))
    settings.ATTACHMENT_MAX_BYTES = 5  # no upload is ever larger than this
    assert messages.max_attachment_bytes() == 5
    assert not ChatAttachment.objects.exists() and not stored_files(uploads_dir)


def test_uploads_are_rate_limited(member, vpn_room, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "chat_attachment": (2, 60)}
    messages.do_upload_attachment(member, vpn_room, upload())
    messages.do_upload_attachment(member, vpn_room, upload())
    with pytest.raises(RateLimited):
        messages.do_upload_attachment(member, vpn_room, upload())


def test_only_ones_own_unsent_files_of_the_room_are_attached(
    member, other_requester, vpn_room, sso_service
):
    other_room = actions.service_room(sso_service)
    actions.do_join_room(member, other_room)
    actions.do_join_room(other_requester, vpn_room)
    theirs = messages.do_upload_attachment(other_requester, vpn_room, upload())
    elsewhere = messages.do_upload_attachment(member, other_room, upload())
    mine = messages.do_upload_attachment(member, vpn_room, upload())
    for files in ([theirs], [elsewhere], [mine] * 1 + [theirs]):
        with pytest.raises(ValidationFailed) as refused:
            actions.do_send_message(member, vpn_room, body="x", attachments=files)
        assert refused.value.field == "attachment_ids"
    mine.refresh_from_db()
    assert mine.message_id is None  # the refused send attached nothing
    actions.do_send_message(member, vpn_room, body="x", attachments=[mine])
    with pytest.raises(ValidationFailed):  # sent already
        actions.do_send_message(member, vpn_room, body="y", attachments=[mine])
    many = [messages.do_upload_attachment(member, vpn_room, upload()) for _ in range(6)]
    with pytest.raises(ValidationFailed):
        actions.do_send_message(member, vpn_room, body="z", attachments=many)
    with pytest.raises(ValidationFailed):
        messages.unattached_for(member, [m.pk for m in many])


def _fetch(person, attachment, name=None):
    client = Client()
    if person is not None:
        client.force_login(person)
    return client.get(f"/chat/attachments/{attachment.pk}/{name or attachment.filename}")


def test_a_file_is_served_to_whoever_sees_its_message(
    member, other_requester, vpn_agent, vpn_room, confidential_room
):
    log = messages.do_upload_attachment(member, vpn_room, upload())
    # Unsent: its uploader's alone.
    assert [_fetch(p, log).status_code for p in (member, other_requester, vpn_agent)] == [
        200,
        404,
        404,
    ]
    sent = actions.do_send_message(member, vpn_room, body="log", attachments=[log]).message
    response = _fetch(other_requester, log)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == b"12:00 tunnel down\n"
    assert _fetch(other_requester, log, "other.log").status_code == 404
    assert _fetch(None, log).status_code == 302  # to sign in
    messages.do_delete_message(member, sent)
    assert _fetch(other_requester, log).status_code == 404
    assert _fetch(vpn_agent, log).status_code == 200
    # A confidential service's room: its files are not even known to exist.
    actions.do_join_room(vpn_agent, confidential_room)
    secret = messages.do_upload_attachment(vpn_agent, confidential_room, upload())
    actions.do_send_message(vpn_agent, confidential_room, body="x", attachments=[secret])
    assert _fetch(member, secret).status_code == 404


def test_a_missing_file_is_404(member, vpn_room):
    log = messages.do_upload_attachment(member, vpn_room, upload())
    storage_path(log.storage_name).unlink()
    assert _fetch(member, log).status_code == 404
    with pytest.raises(NotFound):
        messages.open_attachment(log)


def test_unsent_uploads_are_removed_after_a_day(
    member, vpn_room, uploads_dir, django_capture_on_commit_callbacks
):
    old = messages.do_upload_attachment(member, vpn_room, upload())
    sent = messages.do_upload_attachment(member, vpn_room, upload())
    fresh = messages.do_upload_attachment(member, vpn_room, upload())
    actions.do_send_message(member, vpn_room, body="x", attachments=[sent])
    ChatAttachment.objects.filter(pk__in=[old.pk, sent.pk]).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert remove_unattached_chat_files.call_local() == 1
    assert set(ChatAttachment.objects.values_list("pk", flat=True)) == {sent.pk, fresh.pk}
    assert not storage_path(old.storage_name).exists()
    assert storage_path(sent.storage_name).exists()
    entry = AuditEntry.objects.get(action="chat.attachment_remove")
    assert entry.actor is None and entry.before["id"] == old.pk
