"""Media uploads through the Mastodon API (docs/integrations/mastodon.md, "Media"), with
Mastodon.py against a live web server.

A Mastodon app uploads a picture with ``POST /api/v2/media`` and attaches it to a status with
``media_ids[]``; the upload is the wall's own action (re-encoded, audited), so the picture shows
on the wall like one added on its page. Refusals (not an image, too large, a bad focus point,
another person's image, a read-only token) store nothing and write no audit row.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from django.test import Client
from mastodon import Mastodon
from mastodon.errors import MastodonAPIError
from PIL import Image

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.integrations.mastodon import entities
from hashdesk.wall import media
from hashdesk.wall.models import MediaAttachment, Post
from tests.integrations.mastodon.test_api import api_base, http_client, quick_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def server(django_db_setup: Any, live_server: Any) -> Any:
    return live_server


@pytest.fixture
def mastodon_session() -> Iterator[requests.Session]:
    session = requests.Session()
    yield session
    session.close()


@pytest.fixture
def http(server: Any) -> Iterator[httpx.Client]:
    """Plain HTTP against the API, closed after the test (so no live-server thread keeps a
    database connection past it)."""
    with http_client(api_base(server)) as client:
        yield client


@pytest.fixture(autouse=True)
def uploads_dir(settings: Any, tmp_path: Path) -> Path:
    """Each test stores its files in its own directory (the live server reads the same
    settings)."""
    settings.ATTACHMENTS_DIR = tmp_path / "uploads"
    return Path(settings.ATTACHMENTS_DIR)


def png(size: tuple[int, int] = (12, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 90, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def stored_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


def app_for(server: Any, session: requests.Session, person: User, scope: str) -> Mastodon:
    return Mastodon(
        access_token=quick_token(person, scope),
        api_base_url=api_base(server),
        session=session,
    )


def media_audit() -> list[tuple[str, Any]]:
    return [
        (entry.action, entry.actor_id)
        for entry in AuditEntry.objects.filter(action__startswith="wall.media").order_by("sequence")
    ]


def test_an_app_uploads_a_picture_and_posts_it(
    server: Any, requester: User, mastodon_session: requests.Session
) -> None:
    app = app_for(server, mastodon_session, requester, "read write:media write:statuses")
    # The limits the app is told are the wall's.
    limits = app.instance()["configuration"]["media_attachments"]
    assert limits["image_size_limit"] == media.max_bytes()
    assert limits["image_matrix_limit"] == media.MEDIA_MAX_PIXELS
    uploaded = app.media_post(
        png(),
        mime_type="image/png",
        file_name="vpn-error.png",
        description="The VPN client's error dialog",
        focus=(0.5, -0.25),
    )
    image = MediaAttachment.objects.get()
    assert image.uploader == requester and image.post is None
    assert (image.width, image.height, image.content_type) == (12, 8, "image/png")
    assert image.description == "The VPN client's error dialog"
    assert media_audit() == [("wall.media_upload", requester.pk)]
    # A signed link (wall.media.media_link): apps load pictures without their token.
    url = entities.absolute(media.media_url(image))
    assert uploaded["id"] == str(image.pk)
    assert uploaded["type"] == "image"
    assert uploaded["url"].startswith(url + "?link=")
    assert uploaded["preview_url"] == uploaded["url"]
    assert uploaded["remote_url"] is None and uploaded["blurhash"] is None
    assert uploaded["meta"]["original"]["size"] == "12x8"
    assert uploaded["description"] == "The VPN client's error dialog"

    # Processing is synchronous: the picture is ready at once, and the app may correct its
    # description before posting.
    assert app.media(uploaded["id"])["url"].startswith(url + "?link=")
    described = app.media_update(uploaded["id"], description="The VPN error dialog")
    assert described["description"] == "The VPN error dialog"
    assert media_audit()[-1] == ("wall.media_update", requester.pk)

    status = app.status_post("The #vpn client shows this", media_ids=[uploaded])
    image.refresh_from_db()
    post = Post.objects.get(pk=status["id"])
    assert image.post == post
    attached = status["media_attachments"]
    assert [item["id"] for item in attached] == [str(image.pk)]
    assert attached[0]["description"] == "The VPN error dialog"
    assert app.status(status["id"])["media_attachments"] == attached
    # Still the uploader's own media once attached.
    assert app.media(uploaded["id"])["id"] == str(image.pk)
    # The app shows the picture with a plain GET of the status's url: no token, no cookie.
    shown = httpx.get(attached[0]["url"].replace(entities.absolute("/"), f"{server.url}/"))
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/png"

    browser = Client()
    browser.force_login(requester)
    wall_page = browser.get("/wall/").content.decode()
    assert f'<img src="{media.media_url(image)}" alt="The VPN error dialog"' in wall_page
    picture = browser.get(media.media_url(image))
    assert picture.status_code == 200 and picture["Content-Type"] == "image/png"


def test_the_v1_address_uploads_too_and_put_takes_json_and_forms(
    http: httpx.Client, requester: User
) -> None:
    headers = {"Authorization": f"Bearer {quick_token(requester, 'write')}"}
    answer = http.post(
        "/api/v1/media",
        files={"file": ("shot.png", png((4, 4)), "image/png")},
        data={"description": "A screenshot"},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["description"] == "A screenshot"
    media_id = answer.json()["id"]
    changed = http.put(
        f"/api/v1/media/{media_id}",
        json={"description": "The login page", "focus": "0,0"},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["description"] == "The login page"
    assert MediaAttachment.objects.get().description == "The login page"
    # Focus alone changes nothing (the wall keeps no focal point).
    refocused = http.put(f"/api/v1/media/{media_id}", data={"focus": "0.3,0.3"}, headers=headers)
    assert refocused.status_code == 200 and refocused.json()["description"] == "The login page"
    # A multipart PUT is read too; its thumbnail is dropped.
    multipart = http.put(
        f"/api/v1/media/{media_id}",
        files={"thumbnail": ("thumb.png", png((2, 2)), "image/png")},
        data={"description": "The login page, again"},
        headers=headers,
    )
    assert multipart.status_code == 200, multipart.text
    assert multipart.json()["description"] == "The login page, again"
    assert MediaAttachment.objects.count() == 1
    assert [action for action, _ in media_audit()] == [
        "wall.media_upload",
        "wall.media_update",
        "wall.media_update",
    ]


def test_refused_uploads_store_nothing(
    server: Any,
    http: httpx.Client,
    requester: User,
    settings: Any,
    uploads_dir: Path,
    mastodon_session: requests.Session,
) -> None:
    app = app_for(server, mastodon_session, requester, "write")
    with pytest.raises(MastodonAPIError, match=r"422.*Validation failed: notes\.txt is not a"):
        app.media_post(b"Just some notes\n", mime_type="text/plain", file_name="notes.txt")

    headers = {"Authorization": f"Bearer {quick_token(requester, 'write')}"}

    def upload(content: bytes, **data: str) -> Any:
        return http.post(
            "/api/v2/media",
            files={"file": ("upload.png", content, "image/png")},
            data=data,
            headers=headers,
        )

    text = upload(b"not an image, whatever the name says")
    assert text.status_code == 422
    assert text.json()["error"].startswith("Validation failed: upload.png is not a")
    damaged = upload(png()[:40])
    assert damaged.status_code == 422 and damaged.json()["error"].startswith("Validation failed")
    for focus in ("2,0", "0.5", "a,b", "nan,0", "0,0,0"):
        bad_focus = upload(png(), focus=focus)
        assert bad_focus.status_code == 422, focus
        assert "focus" in bad_focus.json()["error"]
    too_long = upload(png(), description="x" * (media.DESCRIPTION_MAX + 1))
    assert too_long.status_code == 422
    no_file = http.post("/api/v2/media", data={"description": "x"}, headers=headers)
    assert no_file.status_code == 422

    settings.WALL_MEDIA_MAX_BYTES = 64
    too_large = upload(png((40, 40)))
    assert too_large.status_code == 413 and "larger than" in too_large.json()["error"]

    assert not MediaAttachment.objects.exists()
    assert media_audit() == []
    assert stored_files(uploads_dir) == []


def test_only_the_uploader_reads_and_describes_their_media(
    server: Any,
    http: httpx.Client,
    requester: User,
    other_requester: User,
    mastodon_session: requests.Session,
) -> None:
    mine = app_for(server, mastodon_session, requester, "read write")
    theirs = app_for(server, mastodon_session, other_requester, "read write")
    waiting = mine.media_post(png(), mime_type="image/png", description="Mine")
    shown = mine.media_post(png(), mime_type="image/png", description="On a post")
    status = mine.status_post("Printer jam on floor 2", media_ids=[shown])
    # The other person reads the post and its picture, but not the media endpoints.
    assert theirs.status(status["id"])["media_attachments"][0]["id"] == shown["id"]
    before = media_audit()

    headers = {"Authorization": f"Bearer {quick_token(other_requester, 'write')}"}
    for item in (waiting, shown):
        seen = http.get(f"/api/v1/media/{item['id']}", headers=headers)
        assert seen.status_code == 404 and seen.json() == {"error": "Record not found"}
        changed = http.put(
            f"/api/v1/media/{item['id']}", data={"description": "Theirs now"}, headers=headers
        )
        assert changed.status_code == 404 and changed.json() == {"error": "Record not found"}
    assert http.get("/api/v1/media/999999", headers=headers).status_code == 404
    assert http.get("/api/v1/media/abc", headers=headers).status_code == 404

    assert sorted(MediaAttachment.objects.values_list("description", flat=True)) == [
        "Mine",
        "On a post",
    ]
    assert media_audit() == before


def test_a_read_only_token_cannot_upload(
    server: Any, http: httpx.Client, requester: User, mastodon_session: requests.Session
) -> None:
    reader = app_for(server, mastodon_session, requester, "read")
    with pytest.raises(MastodonAPIError, match=r"403.*outside the authorized scopes"):
        reader.media_post(png(), mime_type="image/png")

    for scope in ("read", "write:statuses"):
        headers = {"Authorization": f"Bearer {quick_token(requester, scope)}"}
        answer = http.post(
            "/api/v2/media", files={"file": ("a.png", png(), "image/png")}, headers=headers
        )
        assert answer.status_code == 403
        assert answer.json() == {"error": "This action is outside the authorized scopes"}
    writer = app_for(server, mastodon_session, requester, "write:media")
    kept = writer.media_post(png(), mime_type="image/png")
    read_only = {"Authorization": f"Bearer {quick_token(requester, 'read')}"}
    assert http.get(f"/api/v1/media/{kept['id']}", headers=read_only).status_code == 403
    assert MediaAttachment.objects.count() == 1
    assert media_audit() == [("wall.media_upload", requester.pk)]
