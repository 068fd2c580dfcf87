"""Scaled out on one Redis: an event raised in one web process reaches every event server's clients.

Two granian WSGI processes and two event servers run as separate processes on the test database
and one Redis (``HASHDESK_TEST_REDIS_URL``), with a prefix of their own. A change made through
web process A, then one through web process B, must reach a client of event server 1 and a
client of event server 2, in order. Without ``HASHDESK_TEST_REDIS_URL`` the test is skipped; with
it, anything that does not work is a failure.
"""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import redis
from websockets.sync.client import connect

from hashdesk.accounts import actions as account_actions
from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.core import streams
from tests.realtime import processes
from tests.realtime.live import latest_event_id, next_event, say_hello

REDIS_URL = os.environ.get("HASHDESK_TEST_REDIS_URL", "")

pytestmark = [
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not REDIS_URL, reason="HASHDESK_TEST_REDIS_URL is not set"),
]


@pytest.fixture
def cluster_env() -> dict[str, str]:
    return processes.child_environment(
        HASHDESK_REDIS_URL=REDIS_URL,
        HASHDESK_REDIS_PREFIX=f"hashdesk-test-{uuid.uuid4().hex[:12]}",
    )


@pytest.fixture
def running(cluster_env: dict[str, str]) -> Iterator[dict[str, int]]:
    """Web processes a and b, event servers 1 and 2; yields their ports."""
    with ExitStack() as stack:
        ports: dict[str, int] = {}
        for name, start in [
            ("events-1", processes.start_event_server),
            ("events-2", processes.start_event_server),
            ("web-a", processes.start_web),
            ("web-b", processes.start_web),
        ]:
            child, port = start(cluster_env)
            stack.callback(child.stop)
            ports[name] = port
        yield ports


def _patch_service(web_port: int, token: str, slug: str, description: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{web_port}/api/v1/services/{slug}",
        data=json.dumps({"description": description}).encode(),
        method="PATCH",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def test_an_event_raised_in_one_web_process_reaches_clients_of_other_processes(
    running: dict[str, int],
    cluster_env: dict[str, str],
    administrator: User,
    vpn_agent: User,
    vpn_service: Service,
) -> None:
    _, admin_token = account_actions.do_create_api_token(
        administrator, name="Cluster test", scope="write"
    )
    _, agent_token = account_actions.do_create_api_token(vpn_agent, name="Live updates")
    vpn_stream = streams.service(vpn_service.pk)
    headers = {"Authorization": f"Bearer {agent_token}"}
    with (
        connect(f"ws://127.0.0.1:{running['events-1']}/ws/", additional_headers=headers) as one,
        connect(f"ws://127.0.0.1:{running['events-2']}/ws/", additional_headers=headers) as two,
    ):
        # Start both clients after everything the fixtures wrote, as a page that rendered
        # that state would.
        start = latest_event_id()
        for client in (one, two):
            welcome = say_hello(client, last_event_id=start, streams=[vpn_stream])
            assert vpn_stream in welcome["streams"]

        # Listen on the installation's channel too, to see the web processes' wake-ups.
        redis_client = redis.Redis.from_url(REDIS_URL)
        channel = f"{cluster_env['HASHDESK_REDIS_PREFIX']}:events"
        assert redis_client.pubsub_numsub(channel) == [(channel.encode(), 2)]
        watcher = redis_client.pubsub(ignore_subscribe_messages=True)
        watcher.subscribe(channel)

        _patch_service(running["web-a"], admin_token, vpn_service.slug, "Changed through web A")
        _patch_service(running["web-b"], admin_token, vpn_service.slug, "Changed through web B")

        for client in (one, two):
            changes = _service_events(client, vpn_service.pk, count=2)
            assert [event["service"]["description"] for event in changes] == [
                "Changed through web A",
                "Changed through web B",
            ]
            assert changes[0]["id"] < changes[1]["id"]

        published: set[int] = set()
        wanted = {changes[0]["id"], changes[1]["id"]}
        for _ in range(100):
            # None also stands for the subscription's confirmation, so keep asking.
            message = watcher.get_message(timeout=0.1)
            if message is not None:
                published.add(int(message["data"]))
            if wanted <= published:
                break
        assert wanted <= published
        watcher.close()
        redis_client.close()


def _service_events(client: Any, service_id: int, *, count: int) -> list[dict[str, Any]]:
    """The next ``count`` events about one service (the agent also hears about teams, tokens)."""
    found: list[dict[str, Any]] = []
    for _ in range(50):
        event = next_event(client, timeout=10)
        if event["type"] == "service" and event["service"]["id"] == service_id:
            found.append(event)
            if len(found) == count:
                break
    return found
