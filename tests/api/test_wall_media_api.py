"""Wall images through the API (docs/api.md, "Wall images"): upload, read, describe, and post
with ``media_ids``, single and batch."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from hashdesk.accounts.models import User
from hashdesk.wall import media
from hashdesk.wall.models import MediaAttachment, Post
from tests.api.support import ApiCaller, assert_problem

MEDIA = "/api/v1/wall/media"


def png(size: tuple[int, int] = (12, 9)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def send(caller: ApiCaller, content: bytes, name: str = "shot.png", **form: Any) -> Any:
    """A multipart upload (ApiCaller sends JSON, so this goes to its client directly)."""
    data = {"file": SimpleUploadedFile(name, content, "image/png"), **form}
    return caller.client.post(MEDIA, data, **caller.headers)


@pytest.fixture(autouse=True)
def uploads_dir(settings: Any, tmp_path: Path) -> Path:
    settings.ATTACHMENTS_DIR = tmp_path / "uploads"
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "wall_media": (1000, 60),
        "wall_post": (1000, 60),
        "wall_post_ip": (1000, 60),
    }
    return Path(settings.ATTACHMENTS_DIR)


def test_upload_describe_read_and_post_an_image(as_token: Any, requester: User) -> None:
    api = as_token(requester)
    created = send(api, png(), description="The error")
    assert created.status_code == 201, created.content
    body = json.loads(created.content)
    image_id = body["id"]
    assert body == {
        "id": image_id,
        "type": "image",
        "url": f"/wall/media/{image_id}/shot.png",
        "preview_url": f"/wall/media/{image_id}/shot.png",
        "description": "The error",
        "width": 12,
        "height": 9,
        "content_type": "image/png",
    }
    changed = api.request("PUT", f"{MEDIA}/{image_id}", {"description": "VPN error dialog"})
    assert changed.status_code == 200 and json.loads(changed.content)["description"] == (
        "VPN error dialog"
    )
    assert json.loads(api.get(f"{MEDIA}/{image_id}").content)["description"] == "VPN error dialog"

    posted = api.post("/api/v1/wall/posts", {"media_ids": [image_id]})
    assert posted.status_code == 201, posted.content
    post = json.loads(posted.content)
    assert post["body"] == "" and [m["id"] for m in post["media"]] == [image_id]
    read = json.loads(api.get(f"/api/v1/wall/posts/{post['id']}").content)
    assert read["media"] == post["media"]
    page = json.loads(api.get("/api/v1/wall/timelines/public").content)
    assert page["items"][0]["media"][0]["description"] == "VPN error dialog"
    # The url works for the token's person.
    fetched = api.client.get(post["media"][0]["url"], **api.headers)
    assert fetched.status_code == 200 and fetched["Content-Type"] == "image/png"


def test_upload_refusals_are_problems(as_token: Any, requester: User, settings: Any) -> None:
    api = as_token(requester)
    assert_problem(send(api, b"plain text pretending\n"), 415, "unsupported_media_type")
    assert_problem(send(api, png()[:30]), 422, "invalid")
    settings.WALL_MEDIA_MAX_BYTES = 50
    assert_problem(send(api, png()), 413, "too_large")
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "wall_media": (0, 60)}
    settings.RATE_LIMITS_ENABLED = True
    response = send(api, png())
    assert_problem(response, 429, "rate_limited")
    assert not MediaAttachment.objects.exists()


def test_others_images_are_404_and_not_theirs_to_describe_or_attach(
    as_token: Any, requester: User, other_requester: User
) -> None:
    mine = json.loads(send(as_token(requester), png()).content)["id"]
    other = as_token(other_requester)
    assert_problem(other.get(f"{MEDIA}/{mine}"), 404)
    assert_problem(other.request("PUT", f"{MEDIA}/{mine}", {"description": "x"}), 404)
    problem = assert_problem(other.post("/api/v1/wall/posts", {"media_ids": [mine]}), 422)
    assert problem["errors"][0]["field"] == "media_ids"
    assert not Post.objects.exists()


def test_a_batch_posts_images_and_names_the_bad_item(as_token: Any, requester: User) -> None:
    api = as_token(requester)
    a, b = (json.loads(send(api, png()).content)["id"] for _ in range(2))
    refused = api.post(
        "/api/v1/wall/posts/batch",
        {"posts": [{"body": "one", "media_ids": [a]}, {"body": "two", "media_ids": [a]}]},
    )
    problem = assert_problem(refused, 422)
    assert problem["errors"][0]["field"] == "posts[1].media_ids"
    done = api.post(
        "/api/v1/wall/posts/batch",
        {"posts": [{"body": "one", "media_ids": [a]}, {"body": "two", "media_ids": [b]}]},
    )
    assert done.status_code == 201, done.content
    assert [p["media"][0]["id"] for p in json.loads(done.content)["posts"]] == [a, b]


def test_more_than_four_images_or_no_text_and_no_image_is_refused(
    as_token: Any, requester: User
) -> None:
    api = as_token(requester)
    ids = [
        media.do_upload_media(requester, SimpleUploadedFile("a.png", png())).pk for _ in range(5)
    ]
    assert_problem(api.post("/api/v1/wall/posts", {"body": "hi", "media_ids": ids}), 422)
    problem = assert_problem(api.post("/api/v1/wall/posts", {"body": ""}), 422)
    assert problem["errors"][0]["field"] == "body"


def test_session_uploads_need_the_csrf_token(as_session: Any, requester: User) -> None:
    assert send(as_session(requester, csrf=False), png()).status_code == 403
    assert send(as_session(requester), png()).status_code == 201
