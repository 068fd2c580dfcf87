"""Incident attachments: what may be attached (size, type by name and by content), where the
bytes go, who sees and downloads them, how they are served, and the same rules in the API."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.urls import reverse

import hashdesk.settings as default_settings
from hashdesk.audit.models import AuditEntry
from hashdesk.core.errors import (
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.incidents import actions
from hashdesk.incidents.attachments import (
    INCOMING,
    clean_filename,
    do_add_attachment,
    do_remove_attachment,
    may_attach,
    storage_path,
    upload_limits,
    visible_attachments,
)
from hashdesk.incidents.models import Attachment, Incident, TimelineEntry
from tests.api.support import PROBLEM, ApiCaller, assert_problem, raw_token

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# The start of a Windows executable: what a disguised "picture" really is.
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256))
OOXML = "application/vnd.openxmlformats-officedocument"
LOG = "2025-03-04 09:12:01 vpn-gw: tunnel down (peer 10.0.0.1) — retrying\n".encode()


def _office_file(main_part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(main_part, "<document/>")
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> Any:
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture(autouse=True)
def attachments_dir(settings, tmp_path) -> Path:
    """Every test stores its files in its own directory."""
    settings.ATTACHMENTS_DIR = tmp_path / "attachments"
    return Path(settings.ATTACHMENTS_DIR)


def stored_files(directory: Path) -> list[Path]:
    """Every file under the attachments directory, temporary ones included."""
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


@pytest.fixture
def closed_incident(vpn_incident, requester) -> Incident:
    return actions.do_transition(
        requester,
        vpn_incident,
        "cancelled",
        expected_version=vpn_incident.version,
        resolution_notes="Works again.",
    )


@pytest.fixture
def internal_log(vpn_agent, vpn_incident) -> Attachment:
    return do_add_attachment(
        vpn_agent, vpn_incident, upload=upload("gateway.log", LOG), public=False
    )


@pytest.fixture
def screenshot(requester, vpn_incident) -> Attachment:
    return do_add_attachment(requester, vpn_incident, upload=upload("error.png", PNG, "image/png"))


def signed_in(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def download_url(attachment: Attachment) -> str:
    return reverse(
        "incidents:attachment",
        args=[attachment.incident.number, attachment.pk, attachment.filename],
    )


def api(person, scope: str = "write") -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person, scope)}"})


def api_path(incident: Incident, suffix: str = "") -> str:
    return f"/api/v1/incidents/{incident.number}/attachments{suffix}"


# --- The action: what is accepted and how it is stored -------------------------------------------


@pytest.mark.django_db
def test_a_requester_attaches_a_file_which_is_stored_under_a_random_name(
    requester, vpn_incident, attachments_dir
):
    attachment = do_add_attachment(
        requester, vpn_incident, upload=upload("error.png", PNG, "text/html")
    )
    # The server decides the type from the content, not from what the client claimed.
    assert (attachment.filename, attachment.content_type) == ("error.png", "image/png")
    assert attachment.size == len(PNG)
    assert attachment.sha256 == hashlib.sha256(PNG).hexdigest()
    assert attachment.uploaded_by == requester and attachment.is_public
    path = storage_path(attachment.storage_name)
    assert path.read_bytes() == PNG
    assert stored_files(attachments_dir) == [path]
    assert "error" not in attachment.storage_name and len(attachment.storage_name) == 32
    assert path.stat().st_mode & 0o077 == 0


def test_attachments_are_stored_outside_every_static_and_media_root():
    directory = Path(default_settings.ATTACHMENTS_DIR).resolve()
    assert directory == Path(default_settings.DATA_DIR).resolve() / "attachments"
    for web_root in (default_settings.STATIC_ROOT, default_settings.MEDIA_ROOT):
        root = Path(web_root).resolve()
        assert not directory.is_relative_to(root) and not root.is_relative_to(directory)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("report.pdf", PDF, "application/pdf"),
        ("vpn.log", LOG, "text/plain"),
        ("settings.json", b'{"mtu": 1400}', "application/json"),
        ("notes.docx", _office_file("word/document.xml"), f"{OOXML}.wordprocessingml.document"),
        ("numbers.xlsx", _office_file("xl/workbook.xml"), f"{OOXML}.spreadsheetml.sheet"),
    ],
)
def test_allowed_types_are_recognised_by_their_content(
    requester, vpn_incident, name, content, content_type
):
    attachment = do_add_attachment(requester, vpn_incident, upload=upload(name, content))
    assert attachment.content_type == content_type


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("holiday.png", EXE),  # an executable renamed to look like a picture
        ("invoice.pdf", PNG),  # another allowed type under the wrong name
        ("notes.docx", b"PK\x03\x04" + b"\x00" * 40),  # a broken ZIP
        ("notes.docx", _office_file("xl/workbook.xml")),  # a workbook, not a document
        ("readme.txt", b"caf\xe9 au lait"),  # not UTF-8
        ("dump.log", b"line one\x00\x01\x02binary"),  # NUL bytes are not text
    ],
)
def test_content_that_does_not_match_its_name_is_refused_with_415(
    requester, vpn_incident, attachments_dir, name, content
):
    with pytest.raises(UnsupportedMediaType) as caught:
        do_add_attachment(requester, vpn_incident, upload=upload(name, content))
    assert caught.value.status == 415 and caught.value.field == "file"
    assert not Attachment.objects.exists()
    assert stored_files(attachments_dir) == []


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["setup.exe", "page.html", "drawing.svg", "script.js", "README"])
def test_types_outside_the_allow_list_are_refused_before_reading(requester, vpn_incident, name):
    with pytest.raises(UnsupportedMediaType) as caught:
        do_add_attachment(requester, vpn_incident, upload=upload(name, b"hello"))
    assert "cannot be attached" in caught.value.detail
    assert "png" in caught.value.extra["allowed"]


@pytest.mark.django_db
def test_the_allow_list_comes_from_the_settings(settings, requester, vpn_incident):
    settings.ATTACHMENT_TYPES = ["pdf"]
    with pytest.raises(UnsupportedMediaType):
        do_add_attachment(requester, vpn_incident, upload=upload("error.png", PNG))
    assert do_add_attachment(requester, vpn_incident, upload=upload("r.pdf", PDF)).size
    assert upload_limits().accept == ".pdf"
    settings.ATTACHMENT_TYPES = ["pdf", "exe"]
    with pytest.raises(ImproperlyConfigured, match="exe"):
        do_add_attachment(requester, vpn_incident, upload=upload("r.pdf", PDF))


@pytest.mark.django_db
def test_files_over_the_limit_are_refused_with_413_and_leave_nothing(
    settings, requester, vpn_incident, attachments_dir, capture_events
):
    settings.ATTACHMENT_MAX_BYTES = 1024
    with capture_events() as events, pytest.raises(PayloadTooLarge) as caught:
        do_add_attachment(requester, vpn_incident, upload=upload("big.log", b"x" * 1025))
    assert caught.value.status == 413 and caught.value.extra["max_bytes"] == 1024
    assert events == [] and not Attachment.objects.exists()
    assert stored_files(attachments_dir) == []
    exactly = do_add_attachment(requester, vpn_incident, upload=upload("ok.log", b"x" * 1024))
    assert exactly.size == 1024


@pytest.mark.django_db
def test_empty_files_are_refused(requester, vpn_incident, attachments_dir):
    with pytest.raises(ValidationFailed, match="empty"):
        do_add_attachment(requester, vpn_incident, upload=upload("empty.txt", b""))
    assert stored_files(attachments_dir) == []


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\ana\\..\\Desktop\\vpn.log", "vpn.log"),
        ("evil\u202egnp.exe", "evilgnp.exe"),  # the right-to-left override is gone
        ("line\nbreak\r\t.txt", "linebreak.txt"),
        ("  ..hidden.txt. ", "hidden.txt"),
        ("../..", "attachment"),
        ("", "attachment"),
        ("Caf\u0065\u0301.pdf", "Caf\u00e9.pdf"),  # one normal form for the same name
    ],
)
def test_file_names_lose_paths_and_control_characters(raw, clean):
    assert clean_filename(raw) == clean


def test_long_file_names_keep_their_extension():
    name = clean_filename("a" * 300 + ".docx")
    assert len(name) == 255 and name.endswith("a.docx")


@pytest.mark.django_db
def test_a_path_in_the_name_never_reaches_the_disk(requester, vpn_incident, attachments_dir):
    attachment = do_add_attachment(
        requester, vpn_incident, upload=upload("..\\..\\..\\outside.txt", b"hello\n")
    )
    assert attachment.filename == "outside.txt"
    [path] = stored_files(attachments_dir)
    assert path.resolve().is_relative_to(attachments_dir.resolve())
    assert path.name == attachment.storage_name


# --- Permissions --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_only_staff_add_internal_attachments(requester, vpn_agent, vpn_incident):
    with pytest.raises(Forbidden):
        do_add_attachment(requester, vpn_incident, upload=upload("a.log", LOG), public=False)
    internal = do_add_attachment(vpn_agent, vpn_incident, upload=upload("a.log", LOG), public=False)
    assert not internal.is_public


@pytest.mark.django_db
def test_people_who_cannot_see_the_incident_cannot_attach(other_requester, vpn_incident):
    with pytest.raises(NotFound):
        do_add_attachment(other_requester, vpn_incident, upload=upload("a.log", LOG))


@pytest.mark.django_db
def test_closed_and_cancelled_incidents_take_no_attachments(
    requester, vpn_agent, closed_incident, attachments_dir
):
    for person in (requester, vpn_agent):
        with pytest.raises(ValidationFailed, match="cancelled"):
            do_add_attachment(person, closed_incident, upload=upload("a.log", LOG))
    assert stored_files(attachments_dir) == []


@pytest.mark.django_db
def test_a_failure_after_the_bytes_are_written_removes_the_file(
    requester, vpn_incident, attachments_dir, capture_events
):
    """The incident is cancelled while the upload is under way: the page still showed it open
    (the stale object passes the first check), the bytes are written, and the re-check under
    the row lock refuses. The transaction rolls back and the file goes with it."""
    stale = Incident.objects.get(pk=vpn_incident.pk)
    actions.do_transition(
        requester, vpn_incident, "cancelled", expected_version=1, resolution_notes="Fine now."
    )
    audit_rows = AuditEntry.objects.count()
    with capture_events() as events, pytest.raises(ValidationFailed, match="cannot change"):
        do_add_attachment(requester, stale, upload=upload("late.log", LOG))
    assert events == [] and AuditEntry.objects.count() == audit_rows
    assert not Attachment.objects.exists()
    assert not TimelineEntry.objects.filter(kind="attachment").exists()
    assert stored_files(attachments_dir) == []
    assert (attachments_dir / INCOMING).is_dir()


# --- Timeline, audit and events -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_public_attachment_is_announced_to_everyone_involved(
    requester, vpn_incident, capture_events
):
    with capture_events() as events:
        attachment = do_add_attachment(requester, vpn_incident, upload=upload("e.png", PNG))
    [event] = events
    assert (event.type, event.op) == ("incident", "attachment")
    assert (
        f"user:{requester.pk}" in event.streams and f"incident:{vpn_incident.pk}" in event.streams
    )
    entry = TimelineEntry.objects.get(kind="attachment")
    assert entry.is_public and entry.author == requester
    assert entry.data == {"id": attachment.pk, "filename": "e.png", "size": len(PNG)}
    assert event.payload["entry"]["id"] == entry.pk
    audit = AuditEntry.objects.filter(action="incident.attachment_add").get()
    assert audit.after["sha256"] == attachment.sha256


@pytest.mark.django_db
def test_an_internal_attachment_is_announced_on_the_staff_stream_only(
    requester, vpn_agent, vpn_incident, capture_events
):
    with capture_events() as events:
        do_add_attachment(vpn_agent, vpn_incident, upload=upload("gw.log", LOG), public=False)
    [event] = events
    assert event.streams == ["staff"]
    entry = TimelineEntry.objects.get(kind="attachment")
    assert not entry.is_public
    assert not visible_to(requester, TimelineEntry.objects.filter(kind="attachment")).exists()
    assert visible_to(vpn_agent, TimelineEntry.objects.filter(kind="attachment")).exists()


@pytest.mark.django_db
def test_removing_deletes_the_file_after_commit(
    requester,
    vpn_agent,
    other_requester,
    screenshot,
    internal_log,
    capture_events,
    django_capture_on_commit_callbacks,
):
    path = storage_path(screenshot.storage_name)
    with pytest.raises(NotFound):
        do_remove_attachment(requester, internal_log)  # they may not even see it
    with pytest.raises(NotFound):
        do_remove_attachment(other_requester, screenshot)
    with capture_events() as events, django_capture_on_commit_callbacks(execute=True):
        do_remove_attachment(requester, screenshot)
        assert path.exists()  # until the commit
    assert not path.exists() and not Attachment.objects.filter(pk=screenshot.pk).exists()
    [event] = events
    assert event.op == "attachment" and f"user:{requester.pk}" in event.streams
    removal = TimelineEntry.objects.filter(kind="attachment").latest("id")
    assert removal.data["removed"] is True and removal.is_public
    assert AuditEntry.objects.filter(action="incident.attachment_remove").count() == 1
    with capture_events() as events:
        do_remove_attachment(vpn_agent, internal_log)
    assert events[0].streams == ["staff"]


@pytest.mark.django_db
def test_only_staff_or_the_uploader_remove_and_staff_also_after_closing(
    requester, vpn_agent, vpn_incident
):
    public_file = do_add_attachment(vpn_agent, vpn_incident, upload=upload("a.log", LOG))
    mine = do_add_attachment(requester, vpn_incident, upload=upload("b.log", LOG))
    with pytest.raises(Forbidden):
        do_remove_attachment(requester, public_file)
    actions.do_transition(
        requester, vpn_incident, "cancelled", expected_version=1, resolution_notes="Gone."
    )
    mine.refresh_from_db()
    with pytest.raises(ValidationFailed):
        do_remove_attachment(requester, mine)
    do_remove_attachment(vpn_agent, mine)
    assert not Attachment.objects.filter(pk=mine.pk).exists()


# --- Download (pages) ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_downloads_are_served_so_that_browsers_never_run_them(requester, screenshot, vpn_incident):
    pdf = do_add_attachment(requester, vpn_incident, upload=upload("Ärger report.pdf", PDF))
    log = do_add_attachment(requester, vpn_incident, upload=upload("vpn.log", LOG))
    client = signed_in(requester)
    for attachment, disposition, content_type in [
        (screenshot, "inline", "image/png"),
        (pdf, "attachment", "application/pdf"),
        (log, "attachment", "text/plain; charset=utf-8"),
    ]:
        response = client.get(download_url(attachment))
        assert response.status_code == 200
        assert (
            b"".join(response.streaming_content)
            == storage_path(attachment.storage_name).read_bytes()
        )
        assert response["Content-Type"] == content_type
        assert response["Content-Disposition"].startswith(disposition)
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
        assert response["Cache-Control"].startswith("private")
        assert response["Content-Length"] == str(attachment.size)
    response = client.get(download_url(pdf))
    assert "filename*=utf-8''%C3%84rger%20report.pdf" in response["Content-Disposition"]


@pytest.mark.django_db
def test_requesters_never_get_internal_attachments(requester, vpn_agent, internal_log, screenshot):
    assert client_status(signed_in(requester), download_url(internal_log)) == 404
    assert client_status(signed_in(vpn_agent), download_url(internal_log)) == 200
    assert list(visible_to(requester, Attachment.objects.all())) == [screenshot]


def client_status(client: Client, url: str) -> int:
    response = client.get(url)
    if hasattr(response, "streaming_content"):
        b"".join(response.streaming_content)
    return response.status_code


@pytest.mark.django_db
def test_people_who_cannot_see_the_incident_get_404_and_visitors_sign_in(
    other_requester, screenshot
):
    url = download_url(screenshot)
    assert client_status(signed_in(other_requester), url) == 404
    response = Client().get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/sign-in/")


@pytest.mark.django_db
def test_the_download_address_must_name_the_attachment_exactly(requester, screenshot, vpn_service):
    other = actions.do_create_incident(
        requester, title="Printer", description="", service=vpn_service
    )
    client = signed_in(requester)
    number = screenshot.incident.number
    for args in [
        (number, screenshot.pk, "other.png"),
        (other.number, screenshot.pk, screenshot.filename),
        (number, screenshot.pk + 1000, screenshot.filename),
    ]:
        assert client_status(client, reverse("incidents:attachment", args=args)) == 404


@pytest.mark.django_db
def test_a_missing_stored_file_is_a_404_not_a_crash(requester, screenshot):
    storage_path(screenshot.storage_name).unlink()
    assert client_status(signed_in(requester), download_url(screenshot)) == 404


# --- Upload (pages) -----------------------------------------------------------------------------


def upload_url(incident: Incident) -> str:
    return reverse("incidents:attachment-upload", args=[incident.number])


def page_messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.mark.django_db
def test_the_page_uploads_and_returns_to_the_incident(requester, vpn_incident):
    response = signed_in(requester).post(upload_url(vpn_incident), {"file": upload("vpn.log", LOG)})
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{vpn_incident.number}/#attachments"
    assert page_messages(response) == ["vpn.log is attached."]
    assert Attachment.objects.get().is_public


@pytest.mark.django_db
def test_staff_upload_internal_files_from_the_page(vpn_agent, requester, vpn_incident):
    response = signed_in(vpn_agent).post(
        upload_url(vpn_incident), {"file": upload("gw.log", LOG), "internal": "1"}
    )
    assert "internal" in page_messages(response)[0]
    assert not Attachment.objects.get().is_public
    refused = signed_in(requester).post(
        upload_url(vpn_incident), {"file": upload("gw.log", LOG), "internal": "1"}
    )
    assert refused.status_code == 403 and Attachment.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("big.log", b"x" * 2048, "big.log is larger than 1.0\xa0KB."),
        (
            "holiday.png",
            EXE,
            "holiday.png is not a PNG image: its content does not match its name.",
        ),
        ("setup.exe", EXE, "setup.exe: .exe files cannot be attached."),
        ("empty.txt", b"", "empty.txt is empty."),
    ],
)
def test_the_page_explains_refused_uploads(
    settings, requester, vpn_incident, attachments_dir, name, content, message
):
    settings.ATTACHMENT_MAX_BYTES = 1024
    response = signed_in(requester).post(upload_url(vpn_incident), {"file": upload(name, content)})
    assert response.status_code == 302
    [shown] = page_messages(response)
    assert shown.startswith(message)
    assert not Attachment.objects.exists() and stored_files(attachments_dir) == []


@pytest.mark.django_db
def test_the_page_asks_for_a_file_and_hides_incidents(requester, other_requester, vpn_incident):
    response = signed_in(requester).post(upload_url(vpn_incident), {})
    assert page_messages(response) == ["Choose a file to attach."]
    hidden = signed_in(other_requester).post(
        upload_url(vpn_incident), {"file": upload("a.log", LOG)}
    )
    assert hidden.status_code == 404
    anonymous = Client().post(upload_url(vpn_incident), {"file": upload("a.log", LOG)})
    assert anonymous.status_code == 302 and not Attachment.objects.exists()


def test_an_oversized_upload_is_not_kept_whole_by_the_server(settings):
    """The first upload handler drops what is over the limit while the request is read, so a
    huge upload never fills the disk before the action refuses it (one byte over is enough)."""
    settings.ATTACHMENT_MAX_BYTES = 1000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10
    request = RequestFactory().post("/", {"file": upload("big.log", b"y" * 500_000)})
    received = request.FILES["file"]
    assert isinstance(received, TemporaryUploadedFile)
    assert received.size == 1001 and received.read() == b"y" * 1001


@pytest.mark.django_db
def test_the_panel_lists_files_and_offers_the_form(rf_panel, requester, vpn_agent, internal_log):
    staff_html = rf_panel(vpn_agent)
    assert "gateway.log" in staff_html and "Internal</span>" in staff_html
    assert 'name="internal"' in staff_html
    assert 'enctype="multipart/form-data"' in staff_html and "csrfmiddlewaretoken" in staff_html
    assert '<label class="field__label" for="attachment-file">' in staff_html
    assert "Max 10 MB; images, PDF, text and logs, office documents." in staff_html
    requester_html = rf_panel(requester)
    assert "gateway.log" not in requester_html and 'name="internal"' not in requester_html
    assert "No files are attached." in requester_html


@pytest.fixture
def rf_panel(vpn_incident):
    def render(person) -> str:
        request = RequestFactory().get("/")
        request.user = person
        return render_to_string(
            "incidents/includes/attachments.html",
            {
                "incident": vpn_incident,
                "attachments": list(visible_attachments(person, vpn_incident)),
                "can_attach": may_attach(person, vpn_incident),
                "is_staff": is_staff(person),
            },
            request=request,
        )

    return render


# --- API ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_uploads_lists_downloads_and_removes(requester, vpn_incident):
    caller = api(requester)
    response = caller.client.post(
        api_path(vpn_incident), {"file": upload("vpn.log", LOG)}, **caller.headers
    )
    assert response.status_code == 201, response.content
    body = json.loads(response.content)
    attachment = Attachment.objects.get()
    assert body["id"] == attachment.pk and body["content_type"] == "text/plain"
    assert body["uploaded_by"] == {"id": requester.pk, "display_name": requester.display_name}
    assert body["sha256"] == attachment.sha256 and body["is_public"] is True
    assert body["download_url"] == api_path(vpn_incident, f"/{attachment.pk}/content")
    assert body["web_url"] == download_url(attachment)
    listed = json.loads(caller.get(api_path(vpn_incident)).content)
    assert [item["id"] for item in listed["items"]] == [attachment.pk]
    content = caller.get(body["download_url"])
    assert b"".join(content.streaming_content) == LOG
    assert content["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert content["X-Content-Type-Options"] == "nosniff"
    assert content["Content-Disposition"].startswith("attachment")
    assert caller.delete(api_path(vpn_incident, f"/{attachment.pk}")).status_code == 204
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_the_api_refuses_bad_files_with_problem_details(settings, requester, vpn_incident):
    settings.ATTACHMENT_MAX_BYTES = 1024
    caller = api(requester)

    def post(name: str, content: bytes, **data: str):
        return caller.client.post(
            api_path(vpn_incident), {"file": upload(name, content), **data}, **caller.headers
        )

    too_large = assert_problem(post("big.log", b"x" * 5000), 413, "too_large")
    assert too_large["max_bytes"] == 1024
    assert_problem(post("holiday.png", EXE), 415, "unsupported_media_type")
    problem = assert_problem(post("setup.exe", EXE), 415, "unsupported_media_type")
    assert "pdf" in problem["allowed"]
    assert_problem(post("empty.txt", b""), 422, "invalid")
    assert_problem(post("gw.log", LOG, internal="true"), 403, "forbidden")
    missing = caller.client.post(api_path(vpn_incident), {}, **caller.headers)
    assert_problem(missing, 422, "invalid")
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_the_api_hides_what_people_may_not_see(
    requester, other_requester, vpn_agent, internal_log, screenshot
):
    incident = screenshot.incident
    listed = json.loads(api(requester).get(api_path(incident)).content)
    assert [item["id"] for item in listed["items"]] == [screenshot.pk]
    staff_list = json.loads(api(vpn_agent).get(api_path(incident)).content)
    assert {item["id"] for item in staff_list["items"]} == {screenshot.pk, internal_log.pk}
    internal_content = api_path(incident, f"/{internal_log.pk}/content")
    assert_problem(api(requester).get(internal_content), 404, "not_found")
    assert_problem(api(requester).delete(api_path(incident, f"/{internal_log.pk}")), 404)
    assert_problem(api(other_requester).get(api_path(incident)), 404, "not_found")
    other_content = api_path(incident, f"/{screenshot.pk}/content")
    assert_problem(api(other_requester).get(other_content), 404, "not_found")
    anonymous = Client().get(other_content)
    assert anonymous.status_code == 401 and anonymous["Content-Type"] == PROBLEM
    assert_problem(api(requester, "read").delete(api_path(incident, f"/{screenshot.pk}")), 403)


@pytest.mark.django_db
def test_the_api_takes_internal_files_from_staff(requester, vpn_agent, vpn_incident):
    caller = api(vpn_agent)
    response = caller.client.post(
        api_path(vpn_incident),
        {"file": upload("gw.log", LOG), "internal": "true"},
        **caller.headers,
    )
    assert response.status_code == 201 and json.loads(response.content)["is_public"] is False
    assert json.loads(api(requester).get(api_path(vpn_incident)).content)["items"] == []


@pytest.mark.django_db
def test_a_raw_multipart_name_with_a_path_is_cleaned(requester, vpn_incident, attachments_dir):
    boundary = "hashdesk-boundary"
    body = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="../../../etc/cron.d/evil.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
        "owned\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    caller = api(requester)
    response = caller.client.post(
        api_path(vpn_incident),
        body,
        content_type=f"multipart/form-data; boundary={boundary}",
        **caller.headers,
    )
    assert response.status_code == 201, response.content
    assert json.loads(response.content)["filename"] == "evil.txt"
    [path] = stored_files(attachments_dir)
    assert path.resolve().is_relative_to(attachments_dir.resolve())


@pytest.mark.django_db
def test_listing_costs_the_same_for_many_attachments(requester, vpn_incident, query_count):
    caller = api(requester)
    caller.get(api_path(vpn_incident))  # warms up what a first request does once
    for index in range(3):
        do_add_attachment(requester, vpn_incident, upload=upload(f"{index}.log", LOG))
    with query_count() as few:
        caller.get(api_path(vpn_incident))
    for index in range(12):
        do_add_attachment(requester, vpn_incident, upload=upload(f"more{index}.log", LOG))
    with query_count() as many:
        response = caller.get(api_path(vpn_incident))
    assert len(json.loads(response.content)["items"]) == 15
    assert len(many) == len(few)
