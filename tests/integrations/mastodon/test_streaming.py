"""The Mastodon streaming API (docs/integrations/mastodon.md, "Streaming"), end to end.

A real event server child process on the test database serves the streams; Mastodon.py
(``stream_public``, ``stream_hashtag``, ``stream_user`` with ``run_async=True``) listens as any
Mastodon app would, while the test posts through the wall's actions in committed transactions.
Story 9: "any Mastodon app can post to and read the wall" — it receives a streamed post.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import websockets.sync.client as websocket_client
from django.utils import timezone
from mastodon import Mastodon, StreamListener
from oauth2_provider.models import AccessToken
from websockets.exceptions import InvalidStatus

from hashdesk.accounts.models import Team, User
from hashdesk.integrations.mastodon import actions as mastodon_actions
from hashdesk.wall import actions as wall
from hashdesk.wall.choices import FollowKind, PostVisibility
from hashdesk.wall.models import Hashtag
from tests.realtime import processes

pytestmark = pytest.mark.django_db(transaction=True)

DEADLINE = 10.0  # seconds an event may take to arrive (usually milliseconds)


@pytest.fixture(scope="module")
def streaming(django_db_setup: Any, django_db_blocker: Any) -> Iterator[dict[str, int]]:
    """One event server child process for the module: its streaming and UDP wake-up ports."""
    ports = {"streaming": processes.free_port(), "notify": processes.free_port()}
    env = processes.child_environment(
        HASHDESK_REDIS_URL="",
        HASHDESK_MASTODON_STREAMING_PORT=str(ports["streaming"]),
        HASHDESK_EVENT_NOTIFY_PORT=str(ports["notify"]),
        HASHDESK_MASTODON_STREAMING_RECHECK_SECONDS="1",
    )
    child, _ = processes.start_event_server(env)
    try:
        yield ports
    finally:
        child.stop()


@pytest.fixture(scope="module")
def web(django_db_setup: Any, streaming: dict[str, int]) -> Iterator[str]:
    """A web process whose instance endpoint tells apps where the streams are; its API URL."""
    env = processes.child_environment(
        HASHDESK_REDIS_URL="",
        HASHDESK_EVENT_NOTIFY_PORT=str(streaming["notify"]),
        HASHDESK_MASTODON_STREAMING_URL=base_url(streaming),
    )
    child, port = processes.start_web(env)
    try:
        yield f"http://127.0.0.1:{port}/mastodon"
    finally:
        child.stop()


@pytest.fixture(autouse=True)
def _wake_the_child(settings: Any, streaming: dict[str, int]) -> None:
    settings.REDIS_URL = ""
    settings.EVENT_NOTIFY_PORT = streaming["notify"]


def base_url(streaming: dict[str, int]) -> str:
    return f"http://127.0.0.1:{streaming['streaming']}"


def token_for(person: User, scope: str = "read write") -> str:
    """A token as the OAuth flow issues it to a registered app (the toolkit's own model)."""
    app = mastodon_actions.do_register_app(
        client_name="Toot client", redirect_uris="urn:ietf:wg:oauth:2.0:oob", ip="192.0.2.1"
    )
    raw = f"streaming-test-{person.pk}-{scope.replace(' ', '-').replace(':', '-')}"
    AccessToken.objects.create(
        user=person,
        application=app.application,
        token=raw,
        expires=timezone.now() + timedelta(hours=1),
        scope=scope,
    )
    return raw


class Collector(StreamListener):  # type: ignore[misc]
    """Puts every event in a queue; ``opened`` is set by the server's first comment."""

    def __init__(self, *, errors: bool = False) -> None:
        super().__init__()
        # Mastodon.py hands a WebSocket error to every listener of the connection; one keeps it.
        self.errors = errors
        self.events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.opened = threading.Event()

    def handle_heartbeat(self) -> None:
        self.opened.set()

    def on_update(self, status: Any) -> None:
        self.events.put(("update", status))

    def on_status_update(self, status: Any) -> None:
        self.events.put(("status.update", status))

    def on_delete(self, status_id: Any) -> None:
        self.events.put(("delete", status_id))

    def on_notification(self, notification: Any) -> None:
        self.events.put(("notification", notification))

    def on_websocket_error(self, error: Any, for_stream: Any = None) -> None:
        if self.errors:
            self.events.put(("error", error))

    def next(self, timeout: float = DEADLINE) -> tuple[str, Any]:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"nothing streamed within {timeout}s") from None

    def until(self, name: str, limit: int = 5) -> list[tuple[str, Any]]:
        """Events up to and including the first called ``name``."""
        seen = [self.next()]
        while seen[-1][0] != name and len(seen) < limit:
            seen.append(self.next())
        return seen

    def assert_silent(self, seconds: float = 0.3) -> None:
        with pytest.raises(queue.Empty):
            self.events.get(timeout=seconds)


class App:
    """A Mastodon.py client of one person, with the streams it opened.

    ``api_base_url``: the web's Mastodon API (the app finds the streams through the instance
    endpoint), or the streaming server itself (Mastodon.py then streams from that base).
    """

    def __init__(self, api_base_url: str, token: str) -> None:
        self.api = Mastodon(
            access_token=token, api_base_url=api_base_url, version_check_mode="none"
        )
        self.handles: list[Any] = []

    def open(self, stream: str, *args: Any) -> Collector:
        listener = Collector()
        handle = getattr(self.api, f"stream_{stream}")(*args, listener, run_async=True)
        self.handles.append(handle)
        assert listener.opened.wait(DEADLINE), f"the {stream} stream did not open"
        return listener

    def close(self) -> None:
        for handle in self.handles:
            # Mastodon.py's close() waits for the reading thread's next byte (a heartbeat, up
            # to 15 s away); shutting the socket down first ends that read at once.
            handle.closed = True
            with contextlib.suppress(AttributeError, OSError):
                handle.connection.raw._fp.fp.raw._sock.shutdown(socket.SHUT_RDWR)
            handle.close()


@pytest.fixture
def apps(streaming: dict[str, int]) -> Iterator[list[App]]:
    opened: list[App] = []
    yield opened
    for app in opened:
        app.close()


def app_of(apps: list[App], streaming: dict[str, int], person: User, **kwargs: Any) -> App:
    app = App(base_url(streaming), token_for(person, **kwargs))
    apps.append(app)
    return app


def test_story_9_an_app_posts_through_the_api_and_another_receives_it_streamed(
    web: str, streaming: dict[str, int], apps: list[App], requester: User, vpn_agent: User
) -> None:
    reader = App(web, token_for(vpn_agent, scope="read"))
    writer = App(web, token_for(requester, scope="read write"))
    apps.extend([reader, writer])
    instance = httpx.get(f"{web}/api/v1/instance", timeout=DEADLINE).json()
    assert instance["urls"]["streaming_api"] == base_url(streaming)
    public = reader.open("public")

    posted = writer.api.status_post("Printer on floor 3 jams again #printing")

    name, status = public.next()
    assert name == "update"
    assert status.id == posted.id
    assert status.content == posted.content
    assert status.account.acct == "requester"
    assert [tag.name for tag in status.tags] == ["printing"]


def test_a_mastodon_app_receives_a_streamed_post_then_its_edit_and_removal(
    streaming: dict[str, int], apps: list[App], requester: User, vpn_agent: User
) -> None:
    agent_app = app_of(apps, streaming, vpn_agent)
    public = agent_app.open("public")
    tagged = agent_app.open("hashtag", "vpn")
    home = app_of(apps, streaming, requester).open("user")

    post = wall.do_post(requester, body="The #VPN drops every ten minutes since 9:00")

    for listener in (public, tagged, home):
        name, status = listener.next()
        assert name == "update"
        assert int(status.id) == post.pk
        assert "drops every ten minutes" in status.content
        assert status.account.username == "requester"
        assert status.visibility == "public"
        assert [tag.name for tag in status.tags] == ["vpn"]

    wall.do_edit_post(requester, post, body="The #VPN drops every ten minutes since 8:30")
    for listener in (public, tagged, home):
        name, status = listener.next()
        assert (name, int(status.id)) == ("status.update", post.pk)
        assert "8:30" in status.content

    reply = wall.do_post(vpn_agent, body="Looking into it", reply_to=post)
    name, status = public.next()
    assert (name, int(status.id), int(status.in_reply_to_id)) == ("update", reply.pk, post.pk)
    tagged.assert_silent()  # no #vpn in the reply

    wall.do_delete_post(requester, post)
    for listener in (public, tagged):
        assert listener.next() == ("delete", str(post.pk))
    # Home may hear the reply first (if the author follows their thread); then the removal.
    assert home.until("delete")[-1] == ("delete", str(post.pk))


def test_a_team_post_reaches_the_team_but_never_an_outsider_who_follows_its_tag(
    streaming: dict[str, int],
    apps: list[App],
    requester: User,
    vpn_agent: User,
    network_team: Team,
) -> None:
    wall.do_follow(requester, FollowKind.HASHTAG, Hashtag.objects.get_or_create(name="vpn")[0])
    outsider = app_of(apps, streaming, requester).open("user")
    outsider_public = apps[-1].open("public")
    member = app_of(apps, streaming, vpn_agent).open("user")

    team_post = wall.do_post(
        vpn_agent,
        body="#vpn gateway 2 reboot at noon",
        visibility=PostVisibility.TEAM,
        team=network_team,
    )
    public_post = wall.do_post(vpn_agent, body="#vpn is back for everyone")

    name, status = member.next()
    assert (name, int(status.id), status.visibility) == ("update", team_post.pk, "private")
    assert int(member.next()[1].id) == public_post.pk
    # Events leave in order: the public post arriving first proves the team post never will.
    assert int(outsider.next()[1].id) == public_post.pk
    assert int(outsider_public.next()[1].id) == public_post.pk
    outsider.assert_silent()


def test_a_mention_streams_a_notification_to_the_user_stream(
    streaming: dict[str, int], apps: list[App], requester: User, vpn_agent: User
) -> None:
    agent_notifications = app_of(apps, streaming, vpn_agent, scope="read:notifications").open(
        "user_notifications"
    )
    post = wall.do_post(requester, body="@vpn.agent could you look at my VPN?")
    name, notification = agent_notifications.next()
    assert name == "notification"
    assert notification.type == "mention"
    assert int(notification.status.id) == post.pk
    assert notification.account.username == "requester"


class RawStream:
    """An SSE connection read byte by byte, as a browser's EventSource reads it (with ids)."""

    def __init__(
        self, streaming: dict[str, int], path: str, token: str, last_event_id: str | None = None
    ) -> None:
        self.sock = socket.create_connection(
            ("127.0.0.1", streaming["streaming"]), timeout=DEADLINE
        )
        resume = f"Last-Event-ID: {last_event_id}\r\n" if last_event_id is not None else ""
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n"
            f"{resume}\r\n".encode()
        )
        self.buffer = b""
        while b"\r\n\r\n:)\n\n" not in self.buffer:
            self._read()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n:)\n\n")
        assert head.startswith(b"HTTP/1.1 200 OK"), head

    def _read(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise AssertionError("the stream closed")
        self.buffer += chunk

    def next(self) -> dict[str, str]:
        """The next message's fields (heartbeat comments skipped)."""
        while True:
            while b"\n\n" not in self.buffer:
                self._read()
            block, _, self.buffer = self.buffer.partition(b"\n\n")
            fields = dict(
                line.split(": ", 1) for line in block.decode().split("\n") if ": " in line
            )
            if fields:
                return fields

    def assert_silent(self, seconds: float = 0.5) -> None:
        self.sock.settimeout(seconds)
        try:
            while True:
                self._read()
                if b"\n\n" in self.buffer and self.next():
                    raise AssertionError(f"unexpected message: {self.buffer!r}")
        except TimeoutError:
            pass
        finally:
            self.sock.settimeout(DEADLINE)

    def close(self) -> None:
        self.sock.close()


def test_a_client_reconnecting_with_last_event_id_gets_what_it_missed_then_the_live_posts(
    streaming: dict[str, int], requester: User, vpn_agent: User, network_team: Team
) -> None:
    token = token_for(requester, scope="read")
    first = RawStream(streaming, "/api/v1/streaming/public", token)
    seen = wall.do_post(vpn_agent, body="#vpn slow this morning")
    message = first.next()
    assert message["event"] == "update" and json.loads(message["data"])["id"] == str(seen.pk)
    first.close()
    # A second reader stays connected; once it has everything, the server has taken the missed
    # events too, so the reconnecting reader can only get them by replay.
    watcher = RawStream(streaming, "/api/v1/streaming/public", token)

    missed = [wall.do_post(vpn_agent, body=f"#vpn update {n}") for n in range(3)]
    wall.do_post(  # never for this reader, missed or not
        vpn_agent, body="#vpn team only", visibility=PostVisibility.TEAM, team=network_team
    )
    wall.do_delete_post(vpn_agent, missed[1])
    assert [watcher.next()["event"] for _ in range(4)] == ["update"] * 3 + ["delete"]
    watcher.close()
    again = RawStream(streaming, "/api/v1/streaming/public", token, last_event_id=message["id"])
    live = wall.do_post(vpn_agent, body="#vpn fixed")

    got = [again.next() for _ in range(5)]
    assert [(m["event"], json.loads(m["data"])) for m in got[:4]] == [
        ("update", json.loads(got[0]["data"]) | {"id": str(missed[0].pk)}),
        ("update", json.loads(got[1]["data"]) | {"id": str(missed[1].pk)}),
        ("update", json.loads(got[2]["data"]) | {"id": str(missed[2].pk)}),
        ("delete", missed[1].pk),
    ]
    assert (got[4]["event"], json.loads(got[4]["data"])["id"]) == ("update", str(live.pk))
    ids = [int(m["id"]) for m in got]
    assert ids == sorted(set(ids)) and ids[0] > int(message["id"])
    again.assert_silent()  # no duplicate of a replayed event arrives live
    again.close()


def test_a_resume_point_the_log_no_longer_holds_streams_live_events_only(
    streaming: dict[str, int], requester: User, vpn_agent: User
) -> None:
    from hashdesk.core.models import Event

    token = token_for(requester, scope="read")
    wall.do_post(vpn_agent, body="#vpn old news")
    Event.objects.all().delete()  # what retention does to old events
    stream = RawStream(streaming, "/api/v1/streaming/public", token, last_event_id="1")
    live = wall.do_post(vpn_agent, body="#vpn new news")
    message = stream.next()
    assert json.loads(message["data"])["id"] == str(live.pk)
    stream.close()


@pytest.mark.parametrize(
    ("path", "headers", "status", "error"),
    [
        ("/api/v1/streaming/public", {}, 401, "Missing access token"),
        ("/api/v1/streaming/public", {"Authorization": "Bearer nope"}, 401, "Invalid access token"),
        ("/api/v1/streaming/user", "write-only", 401, "required scopes"),
        ("/api/v1/streaming/hashtag", "valid", 400, "No tag"),
        ("/api/v1/streaming/list?list=1", "valid", 404, "Unknown stream"),
        ("/api/v1/streaming/public", "bad-resume", 400, "Last-Event-ID"),
    ],
)
def test_refused_streams_answer_mastodon_errors_and_change_nothing(
    streaming: dict[str, int],
    requester: User,
    path: str,
    headers: Any,
    status: int,
    error: str,
) -> None:
    if headers == "valid":
        headers = {"Authorization": f"Bearer {token_for(requester)}"}
    elif headers == "bad-resume":
        headers = {"Authorization": f"Bearer {token_for(requester)}", "Last-Event-ID": "12abc"}
    elif headers == "write-only":
        headers = {"Authorization": f"Bearer {token_for(requester, scope='write')}"}
    tokens_before = AccessToken.objects.count()
    response = httpx.get(base_url(streaming) + path, headers=headers, timeout=DEADLINE)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == "*"
    assert error in response.json()["error"]
    assert AccessToken.objects.count() == tokens_before


def test_health_and_non_get_requests(streaming: dict[str, int]) -> None:
    assert httpx.get(base_url(streaming) + "/api/v1/streaming/health").text == "OK"
    refused = httpx.post(base_url(streaming) + "/api/v1/streaming/public", content=b"x")
    assert refused.status_code == 405
    assert refused.json() == {"error": "Method not allowed"}


def test_a_revoked_token_loses_its_open_stream(streaming: dict[str, int], requester: User) -> None:
    raw = token_for(requester, scope="read")
    with socket.create_connection(("127.0.0.1", streaming["streaming"]), timeout=DEADLINE) as sock:
        sock.sendall(
            f"GET /api/v1/streaming/public HTTP/1.1\r\nHost: t\r\n"
            f"Authorization: Bearer {raw}\r\n\r\n".encode()
        )
        opened = b""
        while b":)" not in opened:
            opened += sock.recv(4096)
        assert opened.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"Content-Type: text/event-stream" in opened
        assert b"Access-Control-Allow-Origin: *" in opened  # browser apps on their own origin

        AccessToken.objects.get(user=requester).revoke()  # what /oauth/revoke does

        with contextlib.suppress(ConnectionResetError):
            while sock.recv(4096):  # heartbeats until the recheck closes the stream
                pass


# --- The WebSocket form (streaming_ws) ------------------------------------------------------------


def settled(handle: Any, collector: Collector) -> None:
    """Wait until the server has handled every message sent so far on ``handle``.

    Mastodon's protocol acknowledges no subscription; a refused one answers an error, and
    messages are handled in order, so once that error is back the earlier ones are in force.
    """
    handle.subscribe("list", listener=collector, list="0")
    name, error = collector.next()
    assert name == "error" and "Unknown stream type" in str(error)
    handle.unsubscribe("list", list="0")  # forget it on the client side (the server never had it)


def test_a_mastodon_app_streams_several_subscriptions_over_one_websocket(
    streaming: dict[str, int], requester: User, vpn_agent: User, network_team: Team
) -> None:
    wall.do_follow(vpn_agent, FollowKind.PERSON, requester)
    api = Mastodon(
        access_token=token_for(vpn_agent, scope="read"),
        api_base_url=base_url(streaming),
        version_check_mode="none",
    )
    public, tagged, home, errors = Collector(), Collector(), Collector(), Collector(errors=True)
    handle = api.stream_open_websocket(errors)
    try:
        api.stream_public(public, websocket_handle=handle)
        api.stream_hashtag("VPN", tagged, websocket_handle=handle)
        api.stream_user(home, websocket_handle=handle)
        settled(handle, errors)

        post = wall.do_post(requester, body="#vpn drops every ten minutes")
        for listener in (public, tagged, home):
            name, status = listener.next()
            assert (name, int(status.id)) == ("update", post.pk)
            assert status.account.username == "requester"
            assert [tag.name for tag in status.tags] == ["vpn"]
        wall.do_delete_post(requester, post)
        for listener in (public, tagged, home):
            assert listener.next() == ("delete", str(post.pk))
    finally:
        handle.close()


def test_unsubscribing_stops_one_stream_and_keeps_the_others(
    streaming: dict[str, int], requester: User, vpn_agent: User
) -> None:
    api = Mastodon(
        access_token=token_for(vpn_agent, scope="read"),
        api_base_url=base_url(streaming),
        version_check_mode="none",
    )
    public, tagged, errors = Collector(), Collector(), Collector(errors=True)
    handle = api.stream_open_websocket(errors)
    try:
        api.stream_public(public, websocket_handle=handle)
        subscription = api.stream_hashtag("vpn", tagged, websocket_handle=handle)
        settled(handle, errors)
        first = wall.do_post(requester, body="#vpn slow")
        assert int(tagged.next()[1].id) == first.pk
        assert int(public.next()[1].id) == first.pk

        subscription.close()
        settled(handle, errors)
        second = wall.do_post(requester, body="#vpn still slow")
        assert int(public.next()[1].id) == second.pk
        tagged.assert_silent()
    finally:
        handle.close()


def ws_url(streaming: dict[str, int], query: str = "") -> str:
    return f"ws://127.0.0.1:{streaming['streaming']}/api/v1/streaming{query}"


def test_a_team_post_reaches_a_member_over_websocket_and_never_an_outsider(
    streaming: dict[str, int], requester: User, vpn_agent: User, network_team: Team
) -> None:
    wall.do_follow(requester, FollowKind.HASHTAG, Hashtag.objects.get_or_create(name="vpn")[0])
    outsider = websocket_client.connect(
        ws_url(streaming, "?stream=user"),
        additional_headers={"Authorization": f"Bearer {token_for(requester, scope='read')}"},
        compression=None,
    )
    # A browser passes the token as the subprotocol; the server must choose it back.
    member_token = token_for(vpn_agent, scope="read")
    member = websocket_client.connect(
        ws_url(streaming, "?stream=user"),
        subprotocols=[member_token],  # type: ignore[list-item]
        compression=None,
    )
    with outsider, member:
        assert member.subprotocol == member_token
        for connection in (outsider, member):  # both subscriptions are in force once this answers
            connection.send(json.dumps({"type": "subscribe", "stream": "nonsense"}))
            assert json.loads(connection.recv(timeout=DEADLINE)) == {
                "error": "Unknown stream type",
                "status": 400,
            }
        team_post = wall.do_post(
            vpn_agent, body="#vpn gateway reboot", visibility=PostVisibility.TEAM, team=network_team
        )
        public_post = wall.do_post(vpn_agent, body="#vpn back for everyone")

        got = [json.loads(member.recv(timeout=DEADLINE)) for _ in range(2)]
        assert [(m["stream"], m["event"]) for m in got] == [(["user"], "update")] * 2
        assert [json.loads(m["payload"])["id"] for m in got] == [
            str(team_post.pk),
            str(public_post.pk),
        ]
        # Events leave in order: the public post arriving first proves the team post never will.
        seen = json.loads(outsider.recv(timeout=DEADLINE))
        assert json.loads(seen["payload"])["id"] == str(public_post.pk)


@pytest.mark.parametrize(
    ("message", "error", "status"),
    [
        ("not json", "Could not parse message", 400),
        (b"\xff\xfe", "Could not parse message", 400),
        ({"type": "shout"}, "Unknown message type", 400),
        ({"type": "subscribe", "stream": "hashtag"}, "No tag for stream provided", 400),
        ({"type": "subscribe", "stream": "user"}, "required scopes", 401),
    ],
)
def test_refused_websocket_messages_answer_errors_and_the_connection_stays(
    streaming: dict[str, int],
    requester: User,
    vpn_agent: User,
    message: Any,
    error: str,
    status: int,
) -> None:
    token = token_for(requester, scope="write read:notifications")
    with websocket_client.connect(
        ws_url(streaming, f"?access_token={token}"), compression=None
    ) as connection:
        connection.send(message if isinstance(message, str | bytes) else json.dumps(message))
        answer = json.loads(connection.recv(timeout=DEADLINE))
        assert error in answer["error"] and answer["status"] == status
        # Still open, and a permitted subscription works.
        connection.send(json.dumps({"type": "subscribe", "stream": "user:notification"}))
        connection.send(json.dumps({"type": "subscribe", "stream": "nonsense"}))
        assert json.loads(connection.recv(timeout=DEADLINE))["status"] == 400
        post = wall.do_post(vpn_agent, body="@requester could you check your VPN client?")
        notice = json.loads(connection.recv(timeout=DEADLINE))
        assert (notice["stream"], notice["event"]) == (["user:notification"], "notification")
        assert json.loads(notice["payload"])["status"]["id"] == str(post.pk)


@pytest.mark.parametrize(
    ("headers", "path", "status"),
    [
        ({}, "/api/v1/streaming", 401),
        ({"Authorization": "Bearer nope"}, "/api/v1/streaming", 401),
        ("valid", "/api/v1/streaming/elsewhere", 404),
    ],
)
def test_refused_websocket_handshakes_answer_mastodon_errors(
    streaming: dict[str, int], requester: User, headers: Any, path: str, status: int
) -> None:
    if headers == "valid":
        headers = {"Authorization": f"Bearer {token_for(requester)}"}
    url = f"ws://127.0.0.1:{streaming['streaming']}{path}"
    with pytest.raises(InvalidStatus) as refused:
        websocket_client.connect(url, additional_headers=headers, compression=None)
    assert refused.value.response.status_code == status
    assert "error" in json.loads(refused.value.response.body)
