"""Story 9, "slack_sdk posts an update": Slack's own client library over HTTP against a live
server on the test database — the wire format, status codes and plain-text bodies are what a
real Slack client sees.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from slack_sdk.webhook import WebhookClient

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.chat.models import Message
from hashdesk.integrations.slack.choices import HookTarget
from hashdesk.wall import timelines
from hashdesk.wall.models import Post
from tests.integrations.slack.support import make_hook

pytestmark = pytest.mark.django_db(transaction=True)

HOOK_LIMIT = 4


@pytest.fixture
def web(live_server: Any, settings: Any) -> str:
    """pytest-django's live server (a real HTTP server thread on the test database), with a
    small per-hook rate limit."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "slack_hook": (HOOK_LIMIT, 60)}
    return str(live_server.url)


def test_slack_sdk_posts_updates_to_the_vpn_timeline_and_room(
    web: str, administrator: User, requester: User, vpn_service: Service
) -> None:
    hook, path = make_hook(administrator, vpn_service)
    client = WebhookClient(web + path)

    sent = client.send(
        text="*VPN* gateway restarted <!here>",
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "*VPN* gateway restarted"}},
            {"type": "actions", "elements": [{"type": "button", "text": "Ack"}]},
        ],
    )
    assert (sent.status_code, sent.body) == (200, "ok")
    # Blocks alone: their section text is the message.
    blocks_only = client.send(
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "_All clear_"}}]
    )
    assert (blocks_only.status_code, blocks_only.body) == (200, "ok")
    # Attachments alone (Alertmanager's Slack receiver): their fallback.
    alert = client.send_dict({"attachments": [{"fallback": "[RESOLVED] VPN latency"}]})
    assert (alert.status_code, alert.body) == (200, "ok")

    posts = list(timelines.service(requester, vpn_service).order_by("id"))
    assert [post.author_id for post in posts] == [hook.bot_id] * 3
    assert "<strong>VPN</strong> gateway restarted @here" in posts[0].body_html
    assert "<em>All clear</em>" in posts[1].body_html
    assert posts[2].body == "[RESOLVED] VPN latency"

    # Form-encoded, as Slack also accepts: payload=<json>.
    form = httpx.post(web + path, data={"payload": json.dumps({"text": "form _encoded_"})})
    assert (form.status_code, form.text) == (200, "ok")
    assert Post.objects.filter(author=hook.bot).count() == 4

    # Over the hook's limit: 429 with Retry-After, nothing stored.
    flood = client.send(text="one too many")
    assert flood.status_code == 429 and flood.body == "rate_limited"
    assert 1 <= int(flood.headers["retry-after"]) <= 60
    assert Post.objects.filter(author=hook.bot).count() == HOOK_LIMIT

    # One server start and one database flush serve the room hook too (transactional tests
    # are the slow ones): a wrong secret is refused and stores nothing; the right one speaks.
    room_hook, room_path = make_hook(
        administrator, vpn_service, name="Deploy bot", target=HookTarget.ROOM
    )
    refused = WebhookClient(web + room_path[:-8] + "x" * 8).send(text="let me in")
    assert (refused.status_code, refused.body) == (403, "invalid_token")
    assert not Message.objects.filter(author=room_hook.bot).exists()
    sent = WebhookClient(web + room_path).send(text="deploy *done*")
    assert (sent.status_code, sent.body) == (200, "ok")
    message = Message.objects.get(author=room_hook.bot)
    assert message.room_id == room_hook.room_id and "<strong>done</strong>" in message.body_html
