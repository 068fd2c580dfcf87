"""Images on wall posts (docs/wall.md, "Images"): what is accepted, what is stored (re-encoded,
without metadata), attaching to posts, who may see the file, the clean-up task and the
composer page."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image, PngImagePlugin

from hashdesk.accounts.models import Team, User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.models import Service
from hashdesk.core.errors import (
    Forbidden,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    UnsupportedMediaType,
    ValidationFailed,
)
from hashdesk.core.uploads import INCOMING, storage_path
from hashdesk.wall import actions, ingest, media
from hashdesk.wall.choices import FollowKind, PostVisibility
from hashdesk.wall.models import MediaAttachment, Post
from hashdesk.wall.tasks import remove_unattached_media

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def image_bytes(
    fmt: str = "PNG", size: tuple[int, int] = (8, 6), *, exif: Image.Exif | None = None
) -> bytes:
    buffer = io.BytesIO()
    options: dict[str, Any] = {"exif": exif.tobytes()} if exif is not None else {}
    Image.new("RGB", size, (200, 30, 30)).save(buffer, fmt, **options)
    return buffer.getvalue()


def upload(name: str = "shot.png", content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes() if content is None else content, "image/png")


def stored_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


@pytest.fixture(autouse=True)
def uploads_dir(settings: Any, tmp_path: Path) -> Path:
    """Every test stores its files in its own directory, with a roomy upload limit."""
    settings.ATTACHMENTS_DIR = tmp_path / "uploads"
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "wall_media": (1000, 60)}
    return Path(settings.ATTACHMENTS_DIR)


# --- What is accepted ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type", "name"),
    [
        ("PNG", "image/png", "a.png"),
        ("JPEG", "image/jpeg", "a.jpg"),
        ("GIF", "image/gif", "a.gif"),
        ("WEBP", "image/webp", "a.webp"),
    ],
)
def test_each_allowed_format_is_stored_with_its_size_and_type(
    requester: User, fmt: str, content_type: str, name: str
) -> None:
    image = media.do_upload_media(
        requester, upload(name, image_bytes(fmt, (30, 20))), description=" A chart "
    )
    assert (image.content_type, image.width, image.height) == (content_type, 30, 20)
    assert image.filename == name and image.description == "A chart"
    assert image.post is None and image.uploader == requester
    stored = storage_path(image.storage_name)
    assert stored.stat().st_size == image.size
    with Image.open(stored) as reread:
        assert reread.format == fmt
    assert AuditEntry.objects.filter(action="wall.media_upload", object_id=str(image.pk)).exists()


def test_the_type_comes_from_the_content_not_the_name(requester: User, uploads_dir: Path) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        media.do_upload_media(requester, upload("cat.png", b"just some text, not a picture\n"))
    assert caught.value.status == 415 and caught.value.field == "file"
    # A JPEG called .png is a JPEG, and its name says so.
    image = media.do_upload_media(requester, upload("cat.png", image_bytes("JPEG")))
    assert image.content_type == "image/jpeg" and image.filename == "cat.png.jpg"
    assert not MediaAttachment.objects.exclude(pk=image.pk).exists()
    assert [p.name for p in stored_files(uploads_dir)] == [image.storage_name]


def test_svg_is_refused(requester: User) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    with pytest.raises(UnsupportedMediaType):
        media.do_upload_media(requester, upload("logo.svg", svg))


def test_too_large_is_413_and_leaves_no_file(
    requester: User, settings: Any, uploads_dir: Path
) -> None:
    settings.WALL_MEDIA_MAX_BYTES = 100
    with pytest.raises(PayloadTooLarge) as caught:
        media.do_upload_media(requester, upload("big.png", image_bytes("PNG", (200, 200))))
    assert caught.value.status == 413 and caught.value.extra["max_bytes"] == 100
    assert not MediaAttachment.objects.exists() and stored_files(uploads_dir) == []


def test_no_image_may_be_larger_than_any_upload(settings: Any) -> None:
    settings.WALL_MEDIA_MAX_BYTES = 50 * 1024 * 1024
    settings.ATTACHMENT_MAX_BYTES = 1024
    assert media.max_bytes() == 1024


def test_too_many_pixels_is_413_before_decoding(
    requester: User, monkeypatch: Any, uploads_dir: Path
) -> None:
    monkeypatch.setattr(media, "MEDIA_MAX_PIXELS", 100)
    with pytest.raises(PayloadTooLarge) as caught:
        media.do_upload_media(requester, upload("wide.png", image_bytes("PNG", (20, 10))))
    assert "megapixels" in caught.value.detail
    assert stored_files(uploads_dir) == []


def test_an_animation_counts_the_pixels_of_all_its_frames(
    requester: User, monkeypatch: Any
) -> None:
    frames = [Image.new("RGB", (10, 10), (i * 60, 0, 0)) for i in range(4)]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    animation = buffer.getvalue()
    monkeypatch.setattr(media, "MEDIA_MAX_PIXELS", 350)
    with pytest.raises(PayloadTooLarge):
        media.do_upload_media(requester, upload("dance.gif", animation))
    monkeypatch.setattr(media, "MEDIA_MAX_PIXELS", 400)
    image = media.do_upload_media(requester, upload("dance.gif", animation))
    with Image.open(storage_path(image.storage_name)) as kept:
        assert kept.n_frames == 4 and kept.info["duration"] == 80


def test_an_undecodable_image_is_422(requester: User, uploads_dir: Path) -> None:
    truncated = image_bytes("PNG", (50, 50))[:40]
    with pytest.raises(ValidationFailed) as caught:
        media.do_upload_media(requester, upload("broken.png", truncated))
    assert caught.value.field == "file" and "could not be read" in caught.value.detail
    assert stored_files(uploads_dir) == []


def test_exif_and_gps_are_stripped_and_orientation_applied(requester: User) -> None:
    exif = Image.Exif()
    exif[ORIENTATION] = 6  # the camera was turned: show it rotated
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (52.0, 22.0, 7.0)})
    sent = image_bytes("JPEG", (40, 20), exif=exif)
    with Image.open(io.BytesIO(sent)) as original:
        assert GPS_IFD in original.getexif()
    image = media.do_upload_media(requester, upload("holiday.jpg", sent))
    assert (image.width, image.height) == (20, 40)
    with Image.open(storage_path(image.storage_name)) as kept:
        assert "exif" not in kept.info and not kept.getexif()
        assert kept.size == (20, 40)
    assert b"Exif" not in storage_path(image.storage_name).read_bytes()


def _with_metadata(fmt: str) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", (6, 6), (1, 2, 3))
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Author", "SECRET-NAME")
        image.save(buffer, "PNG", pnginfo=info)
    elif fmt == "GIF":
        frames = [image, Image.new("RGB", (6, 6), (9, 9, 9))]
        image.save(buffer, "GIF", save_all=True, append_images=frames[1:], comment=b"SECRET")
    else:
        image.save(buffer, "WEBP", xmp=b"<x:xmpmeta>SECRET</x:xmpmeta>")
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "GIF", "WEBP"])
def test_text_comments_and_xmp_are_stripped(requester: User, fmt: str) -> None:
    sent = _with_metadata(fmt)
    assert b"SECRET" in sent
    image = media.do_upload_media(requester, upload(f"a.{fmt.lower()}", sent))
    assert b"SECRET" not in storage_path(image.storage_name).read_bytes()


def test_a_description_over_the_limit_is_refused(requester: User) -> None:
    with pytest.raises(ValidationFailed) as caught:
        media.do_upload_media(requester, upload(), description="x" * 1501)
    assert caught.value.field == "description"


def test_uploading_needs_a_person_and_is_rate_limited(requester: User, settings: Any) -> None:
    with pytest.raises(Forbidden):
        media.do_upload_media(None, upload())
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "wall_media": (2, 60)}
    settings.RATE_LIMITS_ENABLED = True
    media.do_upload_media(requester, upload())
    media.do_upload_media(requester, upload())
    with pytest.raises(RateLimited) as caught:
        media.do_upload_media(requester, upload())
    assert caught.value.status == 429
    assert MediaAttachment.objects.count() == 2


# --- Attaching ----------------------------------------------------------------------------------


def test_a_post_takes_its_authors_images_in_order_and_tells_its_audience(
    requester: User, capture_events: Any
) -> None:
    first = media.do_upload_media(requester, upload("one.png"), description="The error")
    second = media.do_upload_media(requester, upload("two.png"))
    with capture_events() as events:
        post = actions.do_post(requester, body="#vpn see", media=[second.pk, first.pk])
    assert [(m.pk, m.position) for m in post.media.order_by("position")] == [
        (second.pk, 0),
        (first.pk, 1),
    ]
    [event] = events
    shown = event.payload["post"]["media"]
    assert [item["id"] for item in shown] == [second.pk, first.pk]
    assert shown[1] == {
        "id": first.pk,
        "type": "image",
        "url": f"/wall/media/{first.pk}/one.png",
        "preview_url": f"/wall/media/{first.pk}/one.png",
        "description": "The error",
        "width": 8,
        "height": 6,
        "content_type": "image/png",
    }
    audit = AuditEntry.objects.get(action="wall.post", object_id=str(post.pk))
    assert audit.after["media_ids"] == [second.pk, first.pk]
    assert actions.post_snapshot(post)["media"] == shown


def test_a_post_of_images_alone_needs_no_text(requester: User) -> None:
    image = media.do_upload_media(requester, upload())
    post = actions.do_post(requester, body="  ", media=[image.pk])
    assert post.body == "" and post.media.get() == image
    with pytest.raises(ValidationFailed) as caught:
        actions.do_post(requester, body="")
    assert caught.value.field == "body"


def test_someone_elses_or_an_attached_image_is_refused(
    requester: User, other_requester: User
) -> None:
    theirs = media.do_upload_media(other_requester, upload())
    mine = media.do_upload_media(requester, upload())
    for ids in ([theirs.pk], [mine.pk, mine.pk], [987654]):
        with pytest.raises(ValidationFailed) as caught:
            actions.do_post(requester, body="look", media=ids)
        assert caught.value.field == "media_ids"
    actions.do_post(requester, body="look", media=[mine.pk])
    with pytest.raises(ValidationFailed) as caught:
        actions.do_post(requester, body="again", media=[mine.pk])
    assert caught.value.field == "media_ids"
    assert Post.objects.count() == 1
    theirs.refresh_from_db()
    assert theirs.post is None


def test_at_most_four_images_a_post(requester: User) -> None:
    ids = [media.do_upload_media(requester, upload()).pk for _ in range(5)]
    with pytest.raises(ValidationFailed) as caught:
        actions.do_post(requester, body="many", media=ids)
    assert caught.value.field == "media_ids" and "at most 4" in caught.value.detail
    assert not MediaAttachment.objects.filter(post__isnull=False).exists()
    post = actions.do_post(requester, body="four", media=ids[:4])
    assert post.media.count() == 4


def test_a_refused_post_attaches_nothing(requester: User) -> None:
    image = media.do_upload_media(requester, upload())
    with pytest.raises(ValidationFailed):
        actions.do_post(requester, body="x" * 2001, media=[image.pk])
    image.refresh_from_db()
    assert image.post is None


def test_a_batch_attaches_each_items_images_and_names_the_bad_item(requester: User) -> None:
    a, b, c = (media.do_upload_media(requester, upload()) for _ in range(3))
    with pytest.raises(ValidationFailed) as caught:
        ingest.do_post_many(
            requester,
            [ingest.NewPost(body="one", media=[a.pk]), ingest.NewPost(body="two", media=[a.pk])],
        )
    assert caught.value.field == "posts[1].media_ids"
    posts = ingest.do_post_many(
        requester,
        [ingest.NewPost(body="one", media=[a.pk, b.pk]), ingest.NewPost(body="", media=[c.pk])],
    )
    assert [list(p.media.values_list("pk", flat=True)) for p in posts] == [[a.pk, b.pk], [c.pk]]


def test_attaching_costs_one_statement_whatever_the_batch(
    requester: User, query_count: Any
) -> None:
    def statements(with_images: int) -> int:
        items = []
        for n in range(3):
            ids = [media.do_upload_media(requester, upload()).pk for _ in range(with_images)]
            items.append(ingest.NewPost(body=f"post {n}", media=ids))
        with query_count() as ctx:
            ingest.do_post_many(requester, items)
        return len(ctx)

    statements(0)  # warms the caches the first posts fill
    without = statements(0)
    # Images cost one read before the transaction and one UPDATE in it, however many.
    assert statements(1) == statements(4) == without + 2


def test_describing_an_image_is_its_uploaders(
    requester: User, other_requester: User, capture_events: Any
) -> None:
    image = media.do_upload_media(requester, upload())
    with pytest.raises(NotFound):
        media.do_update_media(other_requester, image, description="mine now")
    post = actions.do_post(requester, body="see", media=[image.pk])
    with pytest.raises(Forbidden):
        media.do_update_media(other_requester, image, description="mine now")
    with capture_events() as events:
        changed = media.do_update_media(requester, image, description="The VPN error dialog")
    assert changed.description == "The VPN error dialog"
    [event] = events
    assert (event.op, event.payload["post"]["id"]) == ("update", post.pk)
    assert event.payload["post"]["media"][0]["description"] == "The VPN error dialog"
    assert AuditEntry.objects.filter(action="wall.media_update").count() == 1


# --- Who may see the file -----------------------------------------------------------------------


def _fetch(person: User | None, image: MediaAttachment) -> Any:
    client = Client()
    if person is not None:
        client.force_login(person)
    return client.get(media.media_url(image))


def test_the_file_is_served_inline_with_safe_headers(requester: User) -> None:
    image = media.do_upload_media(requester, upload("error.png"))
    response = _fetch(requester, image)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"].startswith("inline")
    assert "default-src 'none'" in response["Content-Security-Policy"]
    assert response["Cache-Control"].startswith("private")
    assert b"".join(response.streaming_content) == storage_path(image.storage_name).read_bytes()
    wrong_name = Client()
    wrong_name.force_login(requester)
    assert wrong_name.get(f"/wall/media/{image.pk}/other.png").status_code == 404


def test_who_may_fetch_an_image(
    requester: User,
    other_requester: User,
    vpn_agent: User,
    finance_team: Team,
    security_service: Service,
) -> None:
    def image_on(author: User, **post: Any) -> MediaAttachment:
        image = media.do_upload_media(author, upload())
        actions.do_post(author, media=[image.pk], **{"body": "see", **post})
        image.refresh_from_db()
        return image

    public = image_on(requester)
    team = image_on(requester, visibility=PostVisibility.TEAM, team=finance_team)
    confidential = image_on(vpn_agent, body="#secops look")
    hidden = image_on(other_requester)
    actions.do_hide_post(vpn_agent, hidden.post, "Off topic")
    deleted = image_on(requester)
    actions.do_delete_post(requester, deleted.post)
    unattached = media.do_upload_media(requester, upload())

    expected = {
        # image: (requester, other_requester, staff, anonymous)
        "public": (public, 200, 200, 200, 404),
        "team": (team, 200, 404, 200, 404),
        "confidential": (confidential, 404, 404, 200, 404),
        "hidden": (hidden, 404, 404, 200, 404),
        "deleted": (deleted, 404, 404, 200, 404),
        "unattached": (unattached, 200, 404, 404, 404),
    }
    for name, (image, *codes) in expected.items():
        got = [
            _fetch(person, image).status_code
            for person in (requester, other_requester, vpn_agent, None)
        ]
        assert got == codes, name


def test_a_token_may_fetch_what_its_person_may_see(requester: User, other_requester: User) -> None:
    from tests.api.support import raw_token

    image = media.do_upload_media(requester, upload())
    url = media.media_url(image)
    assert Client().get(url, HTTP_AUTHORIZATION=f"Bearer {raw_token(requester)}").status_code == 200
    other = raw_token(other_requester)
    assert Client().get(url, HTTP_AUTHORIZATION=f"Bearer {other}").status_code == 404
    assert Client().get(url, HTTP_AUTHORIZATION="Bearer hd_nonsense").status_code == 404


def test_a_signed_link_opens_its_image_without_a_session_while_the_post_is_up(
    requester: User, vpn_agent: User, finance_team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    image = media.do_upload_media(requester, upload())
    unattached_link = media.media_link(image)
    actions.do_post(
        requester, body="see", media=[image.pk], visibility=PostVisibility.TEAM, team=finance_team
    )
    image.refresh_from_db()
    link = media.media_link(image)
    path, _, query = link.partition("?")
    assert path == media.media_url(image) and query.startswith("link=")
    opened = Client().get(link)  # no session, no token: as a Mastodon app loads a picture
    assert opened.status_code == 200
    assert opened["Cross-Origin-Resource-Policy"] == "cross-origin"  # apps on other origins
    assert opened["X-Content-Type-Options"] == "nosniff"
    assert b"".join(opened.streaming_content) == storage_path(image.storage_name).read_bytes()

    other = media.do_upload_media(requester, upload())
    actions.do_post(requester, body="another", media=[other.pk])
    signature = query.removeprefix("link=")
    refused = {
        "tampered": f"{path}?link={signature[:-2]}xx",
        "another image's": f"{media.media_url(other)}?link={signature}",
        "empty": f"{path}?link=",
    }
    for name, url in refused.items():
        assert Client().get(url).status_code == 404, name

    with monkeypatch.context() as clock:  # a link handed out a day and a minute ago
        now = time.time()
        clock.setattr(time, "time", lambda: now - media.LINK_MAX_AGE.total_seconds() - 60)
        expired = media.media_link(image)
    assert Client().get(expired).status_code == 404

    actions.do_hide_post(vpn_agent, image.post, "Off topic")
    assert Client().get(link).status_code == 404  # the post is hidden now
    assert Client().get(unattached_link).status_code == 404


# --- Clean-up -----------------------------------------------------------------------------------


def test_the_worker_removes_uploads_never_attached_after_a_day(
    requester: User, uploads_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    old = media.do_upload_media(requester, upload())
    fresh = media.do_upload_media(requester, upload())
    posted = media.do_upload_media(requester, upload())
    actions.do_post(requester, body="with image", media=[posted.pk])
    long_ago = timezone.now() - timedelta(hours=25)
    MediaAttachment.objects.filter(pk__in=[old.pk, posted.pk]).update(created_at=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        assert remove_unattached_media.call_local() == 1

    assert set(MediaAttachment.objects.values_list("pk", flat=True)) == {fresh.pk, posted.pk}
    removal = AuditEntry.objects.get(action="wall.media_remove")
    assert removal.object_id == str(old.pk) and removal.actor is None
    assert not storage_path(old.storage_name).exists()
    assert storage_path(fresh.storage_name).exists()
    assert storage_path(posted.storage_name).exists()
    assert not list((uploads_dir / INCOMING).iterdir())


# --- Pages --------------------------------------------------------------------------------------


@pytest.fixture
def client_for(db: Any) -> Any:
    def make(person: User) -> Client:
        client = Client()
        client.force_login(person)
        return client

    return make


def test_the_composer_posts_images_with_their_description(client_for: Any, requester: User) -> None:
    client = client_for(requester)
    page = client.get("/wall/").content.decode()
    assert 'enctype="multipart/form-data"' in page
    assert 'type="file" name="images"' in page and "multiple" in page
    assert 'accept="image/*"' in page and "Describe the images" in page

    response = client.post(
        "/wall/posts/new/",
        {
            "body": "",
            "audience": "everyone",
            "images": [upload("a.png"), upload("b.jpg", image_bytes("JPEG"))],
            "image_description": "Two error dialogs",
            "next": "/wall/",
        },
    )
    assert response.status_code == 302
    post = Post.objects.get()
    images = list(post.media.order_by("position"))
    assert [i.filename for i in images] == ["a.png", "b.jpg"]
    assert {i.description for i in images} == {"Two error dialogs"}

    html = client.get("/wall/").content.decode()
    src = media.media_url(images[0])
    assert f'<img src="{src}" alt="Two error dialogs" width="8" height="6" loading="lazy"' in html


def test_a_refused_post_from_the_page_keeps_no_image(
    client_for: Any, requester: User, uploads_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    client = client_for(requester)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/wall/posts/new/",
            {"body": "x" * 2001, "audience": "everyone", "images": [upload(), upload()]},
        )
    assert response.status_code == 400
    assert not MediaAttachment.objects.exists() and stored_files(uploads_dir) == []
    with django_capture_on_commit_callbacks(execute=True):
        bad = client.post(
            "/wall/posts/new/",
            {"body": "hi", "audience": "everyone", "images": [upload(), upload("x.png", b"t")]},
        )
    assert (
        bad.status_code == 400 and "is not a PNG, JPEG, GIF or WebP image" in bad.content.decode()
    )
    assert not MediaAttachment.objects.exists() and stored_files(uploads_dir) == []
    assert not Post.objects.exists()


def test_the_timeline_costs_the_same_queries_with_images(
    client_for: Any, requester: User, other_requester: User, query_count: Any
) -> None:
    actions.do_follow(requester, FollowKind.PERSON, other_requester)
    client = client_for(requester)

    def queries_for(total: int) -> int:
        while Post.objects.count() < total:
            image = media.do_upload_media(other_requester, upload())
            actions.do_post(other_requester, body="screenshot", media=[image.pk])
        with query_count() as ctx:
            response = client.get("/wall/")
        assert response.status_code == 200
        return len(ctx)

    assert queries_for(3) == queries_for(30)
