"""Incoming webhooks through Django's test client: administration, Slack's error codes, rate
limits, the chat room target and the integrations overview."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.models import Service
from hashdesk.chat.models import Message, Room
from hashdesk.integrations.slack import actions
from hashdesk.integrations.slack.choices import HookTarget
from hashdesk.integrations.slack.models import IncomingWebhook
from hashdesk.wall import timelines
from hashdesk.wall.choices import PostKind
from hashdesk.wall.models import Post
from tests.conftest import PASSWORD
from tests.integrations.slack.support import make_hook

pytestmark = pytest.mark.django_db


def _client(person: User) -> Client:
    client = Client()
    assert client.login(email=person.email, password=PASSWORD)
    return client


def _post(path: str, payload: Any, content_type: str = "application/json") -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Client().post(path, data=body, content_type=content_type)


def _counts() -> tuple[int, int, int]:
    return Post.objects.count(), Message.objects.count(), AuditEntry.objects.count()


def test_administrator_adds_a_hook_and_sees_its_url_once(
    administrator: User, vpn_service: Service
) -> None:
    client = _client(administrator)
    page = client.post(
        reverse("slack:hook-create"),
        {"name": "Grafana", "service": vpn_service.pk, "target": HookTarget.TIMELINE},
    )
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    hook = IncomingWebhook.objects.get()
    url = page.context["url"]
    assert url.startswith("http") and f"/integrations/slack/hooks/{hook.public_id}/" in url
    secret = url.rsplit("/", 1)[1]
    assert len(secret) == 32 and secret not in hook.secret_hash
    # The list never shows it again; the hook's account is named after it and cannot sign in.
    listing = client.get(reverse("slack:hooks"))
    assert b"Grafana" in listing.content and secret.encode() not in listing.content
    assert hook.bot.display_name == "Grafana" and not hook.bot.has_usable_password()
    entry = AuditEntry.objects.filter(action="slack.hook.create").get()
    assert entry.actor_id == administrator.pk and secret not in json.dumps(entry.after)
    # The URL works: Slack's "ok", and an official post on the VPN timeline.
    answer = Client().post(url.split("127.0.0.1:8000", 1)[-1], {"text": "hi"}, "application/json")
    assert (answer.status_code, answer.content) == (200, b"ok")


def test_only_administrators_manage_hooks(
    vpn_agent: User, administrator: User, vpn_service: Service
) -> None:
    client = _client(vpn_agent)
    assert client.get(reverse("slack:hooks")).status_code == 403
    assert client.get(reverse("integrations-overview")).status_code == 403
    created = client.post(
        reverse("slack:hook-create"), {"name": "X", "service": vpn_service.pk, "target": "room"}
    )
    assert created.status_code == 403
    with pytest.raises(actions.Forbidden):
        actions.do_create_hook(vpn_agent, name="X", service=vpn_service, target="timeline")
    assert not IncomingWebhook.objects.exists()


def test_a_message_becomes_an_official_post_on_the_service_timeline(
    administrator: User,
    requester: User,
    vpn_service: Service,
    capture_events: Callable[[], Any],
) -> None:
    hook, path = make_hook(administrator, vpn_service)
    text = (
        "*VPN* maintenance tonight, see <https://status.example.org|status>. "
        "key AKIAIOSFODNN7EXAMPLE"
    )
    with capture_events() as events:
        answer = _post(path, {"text": text, "username": "ignored", "icon_emoji": ":x:"})
    assert (answer.status_code, answer.content, answer["Content-Type"]) == (
        200,
        b"ok",
        "text/plain; charset=utf-8",
    )
    post = timelines.service(requester, vpn_service).get()
    assert post.kind == PostKind.OFFICIAL and post.author_id == hook.bot_id
    assert (
        "<strong>VPN</strong>" in post.body_html
        and 'href="https://status.example.org"' in post.body_html
    )
    assert "AKIAIOSFODNN7EXAMPLE" not in post.body and "redacted" in post.body
    assert [(event.type, event.op) for event in events] == [("wall_post", "create")]
    hook.refresh_from_db()
    assert hook.last_used_at is not None and hook.message_count == 1
    assert AuditEntry.objects.filter(action="slack.hook.post", object_id=str(post.pk)).exists()


def test_errors_are_slacks_codes_and_store_nothing(
    administrator: User, vpn_service: Service, settings: Any
) -> None:
    hook, path = make_hook(administrator, vpn_service)
    wrong = reverse("slack:receive", args=[hook.public_id, "x" * 32])
    unknown = reverse("slack:receive", args=["BNOSUCHHOOK1", "x" * 32])
    before = _counts()
    cases = [
        (_post(wrong, {"text": "hi"}), 403, b"invalid_token"),
        (_post(unknown, {"text": "hi"}), 404, b"no_service"),
        (_post(path, b"{oops"), 400, b"invalid_payload"),
        (_post(path, {"text": ["not", "text"]}), 400, b"invalid_payload"),
        (_post(path, {"blocks": [{"type": "divider"}]}), 400, b"no_text"),
        (_post(path, {"text": "x" * 300_000}), 413, b"request_too_large"),
        (Client().get(path), 405, b"invalid_method"),
    ]
    for answer, status, code in cases:
        assert (answer.status_code, answer.content) == (status, code)
    assert _counts() == before
    hook.refresh_from_db()
    assert hook.message_count == 0 and hook.last_used_at is None


def test_a_flooding_hook_gets_429_with_retry_after_and_logs_keep_its_secret(
    administrator: User, vpn_service: Service, settings: Any, caplog: Any
) -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "slack_hook": (2, 60)}
    hook, path = make_hook(administrator, vpn_service)
    secret = path.rsplit("/", 1)[1]
    assert [_post(path, {"text": f"update {n}"}).status_code for n in range(2)] == [200, 200]
    before = _counts()
    with caplog.at_level("WARNING", logger="django.request"):
        refused = _post(path, {"text": "one too many"})
    assert (refused.status_code, refused.content) == (429, b"rate_limited")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert _counts() == before
    # Django logs the path of a 4xx response: with the hook's id, never its secret.
    logged = [record.getMessage() for record in caplog.records]
    assert any(hook.public_id in line for line in logged)
    assert not any(secret in line for line in logged)


def test_rotate_disable_enable_and_delete(
    administrator: User, vpn_service: Service, requester: User
) -> None:
    hook, old_path = make_hook(administrator, vpn_service)
    client = _client(administrator)
    rotated = client.post(reverse("slack:hook-rotate", args=[hook.pk]))
    new_path = "/integrations/" + rotated.context["url"].split("/integrations/", 1)[1]
    assert _post(old_path, {"text": "old"}).content == b"invalid_token"
    assert _post(new_path, {"text": "new"}).content == b"ok"

    client.post(reverse("slack:hook-disable", args=[hook.pk]))
    assert (_post(new_path, {"text": "x"}).status_code, _post(new_path, {"text": "x"}).content) == (
        410,
        b"channel_is_archived",
    )
    client.post(reverse("slack:hook-enable", args=[hook.pk]))
    assert _post(new_path, {"text": "back"}).content == b"ok"

    assert client.post(reverse("slack:hook-delete", args=[hook.pk])).status_code == 302
    assert _post(new_path, {"text": "gone"}).status_code == 404
    hook.bot.refresh_from_db()
    assert not hook.bot.is_active
    # What the hook posted stays, by its (now inactive) account.
    assert Post.objects.filter(author=hook.bot).count() == 2
    assert list(
        AuditEntry.objects.filter(action__startswith="slack.hook.")
        .exclude(action="slack.hook.post")
        .order_by("id")
        .values_list("action", flat=True)
    ) == [
        "slack.hook.create",
        "slack.hook.rotate",
        "slack.hook.disable",
        "slack.hook.enable",
        "slack.hook.delete",
    ]


def test_a_room_hook_speaks_in_the_service_room_and_stops_when_it_is_archived(
    administrator: User, vpn_service: Service, capture_events: Callable[[], Any]
) -> None:
    hook, path = make_hook(administrator, vpn_service, name="Deploy bot", target=HookTarget.ROOM)
    assert hook.room is not None and hook.room.service_id == vpn_service.pk
    payload = "payload=" + json.dumps({"text": "api v2 is _live_"})
    with capture_events() as events:
        answer = _post(path, payload.encode(), "application/x-www-form-urlencoded")
    assert (answer.status_code, answer.content) == (200, b"ok")
    message = Message.objects.get(room=hook.room)
    assert message.author_id == hook.bot_id and "<em>live</em>" in message.body_html
    assert [(event.type, event.op) for event in events] == [("chat_message", "create")]

    Room.objects.filter(pk=hook.room.pk).update(archived_at=timezone.now())
    before = _counts()
    archived = _post(path, {"text": "anyone?"})
    assert (archived.status_code, archived.content) == (410, b"channel_is_archived")
    assert _counts() == before


def test_the_overview_shows_every_integration_to_administrators(
    administrator: User, vpn_service: Service
) -> None:
    client = _client(administrator)
    home = client.get("/")
    assert reverse("integrations-overview").encode() in home.content
    page = client.get(reverse("integrations-overview"))
    assert page.status_code == 200
    titles = [card["title"] for card in page.context["cards"]]
    assert titles == [
        "Inbound email",
        "Alertmanager",
        "Mastodon API",
        "Slack-compatible webhooks",
        "Single sign-on",
        "Import and export",
    ]
    # Each integration's own page is reached from its card, not from the account menu.
    assert [card["admin_url"] for card in page.context["cards"]] == [
        reverse("mail:log"),
        reverse("alertmanager:receivers"),
        None,
        reverse("slack:hooks"),
        None,
        reverse("transfer:import"),
    ]
    assert page.context["cards"][0]["state"].label == "No mail yet"
    assert page.context["cards"][1]["state"].label == "No receiver yet"
    slack = page.context["cards"][3]
    assert slack["state"].label == "No hook yet"
    make_hook(administrator, vpn_service)
    page = client.get(reverse("integrations-overview"))
    assert page.context["cards"][3]["state"].detail == "1 active hook."
    assert b"<h1>Integrations</h1>" in page.content
