"""Chat tools through apprise: administrators configure them, announcements and people's own
notices reach a real HTTP receiver, failures retry and disable, the URL never leaks
(docs/notifications.md, "Chat tools")."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from hashdesk.audit.models import AuditEntry
from hashdesk.catalog.choices import Visibility
from hashdesk.core.errors import Forbidden, ValidationFailed
from hashdesk.core.models import OutboxMessage, OutboxStatus
from hashdesk.core.outbox import deliver_due, enqueue_many, requeue_failed
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents import major
from hashdesk.notify import chat_tools
from hashdesk.notify.announcements import Announcement, announce
from hashdesk.notify.chat_tools import (
    do_create_chat_tool,
    do_delete_chat_tool,
    do_enable_chat_tool,
    do_update_chat_tool,
    notice_chat,
)
from hashdesk.notify.choices import Category, category_of
from hashdesk.notify.models import ChatTool, Notification
from tests.api.support import ApiCaller, assert_problem, raw_token
from tests.servers import free_port

pytestmark = pytest.mark.django_db

TOKEN = "xq7hookSECRETtoken4711"


# --- A real HTTP receiver -----------------------------------------------------------------------


@dataclass
class Received:
    method: str
    path: str
    body: dict[str, Any]


@dataclass
class ChatReceiver:
    """A stdlib HTTP server on loopback standing in for a chat server."""

    port: int
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mattermost_url(self, token: str = TOKEN) -> str:
        return f"mmost://127.0.0.1:{self.port}/{token}"

    def json_url(self, path: str = f"hooks/{TOKEN}") -> str:
        return f"json://127.0.0.1:{self.port}/{path}"


def _handler_for(receiver: ChatReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {"raw": raw.decode(errors="replace")}
            with receiver.lock:
                receiver.requests.append(Received("POST", self.path, body))
                status = receiver.status
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def receiver() -> Iterator[ChatReceiver]:
    port = free_port()
    state = ChatReceiver(port=port)
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers (a hanging chat server)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()


@pytest.fixture
def loopback_allowed(settings: Any) -> Any:
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.OUTBOUND_TIMEOUT_SECONDS = 2
    return settings


def signed_in(person: Any) -> Client:
    client = Client()
    client.force_login(person)
    return client


def deliver_everything(now: Any = None) -> Any:
    return deliver_due(limit=100, now=now or timezone.now())


def major_announcement(service_ids: tuple[int, ...], **overrides: Any) -> Announcement:
    values: dict[str, Any] = {
        "kind": "incident.major_declared",
        "key": "incident:42:major_declared",
        "service_ids": service_ids,
        "title": "Major incident INC-000042: VPN down",
        "body": "Nobody can connect to the VPN.",
        "url": "/incidents/INC-000042/",
        "audience": Visibility.PUBLIC,
    }
    values.update(overrides)
    return Announcement(**values)


@pytest.fixture
def mattermost(administrator, vpn_service, receiver, loopback_allowed) -> ChatTool:
    return do_create_chat_tool(
        administrator,
        name="Ops Mattermost",
        apprise_url=receiver.mattermost_url(),
        services=[vpn_service],
    )


# --- Configuration ------------------------------------------------------------------------------


def test_administrator_adds_a_tool_on_the_page_and_its_url_is_never_shown(
    administrator, vpn_service, receiver, loopback_allowed
):
    client = signed_in(administrator)
    response = client.post(
        reverse("notify:chat-tool-create"),
        {
            "name": "Ops Mattermost",
            "apprise_url": receiver.mattermost_url(),
            "services": [vpn_service.pk],
            "categories": ["major", "incidents"],
            "offered_to_people": "on",
        },
    )
    assert response.status_code == 302
    tool = ChatTool.objects.get(name="Ops Mattermost")
    assert tool.apprise_url == receiver.mattermost_url()
    assert tool.display_target == f"mmost://127.0.0.1:{receiver.port}"
    assert tool.categories == ["major", "incidents"]
    assert tool.offered_to_people and tool.created_by == administrator
    assert list(tool.services.all()) == [vpn_service]

    listing = client.get(reverse("notify:chat-tools"))
    assert listing.status_code == 200
    assert "Ops Mattermost" in listing.content.decode()
    assert tool.display_target in listing.content.decode()
    edit = client.get(reverse("notify:chat-tool-edit", args=[tool.pk]))
    assert edit.status_code == 200
    for page in (listing, edit):
        assert TOKEN not in page.content.decode()
    entry = AuditEntry.objects.get(action="chattool.create")
    assert (entry.after or {})["display_target"] == tool.display_target
    assert TOKEN not in json.dumps(entry.after)


def test_editing_keeps_the_url_unless_a_new_one_is_typed(
    administrator, mattermost, receiver, vpn_service
):
    client = signed_in(administrator)
    url = reverse("notify:chat-tool-edit", args=[mattermost.pk])
    response = client.post(
        url, {"name": "Operations", "apprise_url": "", "services": [vpn_service.pk]}
    )
    assert response.status_code == 302
    mattermost.refresh_from_db()
    assert mattermost.name == "Operations"
    assert mattermost.apprise_url == receiver.mattermost_url()

    new_url = receiver.json_url("incoming/N3wS3cretValue")
    response = client.post(url, {"name": "Operations", "apprise_url": new_url})
    assert response.status_code == 302
    mattermost.refresh_from_db()
    assert mattermost.apprise_url == new_url
    assert mattermost.display_target == f"json://127.0.0.1:{receiver.port}"
    assert list(mattermost.services.all()) == []
    updates = AuditEntry.objects.filter(action="chattool.update").order_by("sequence")
    assert [(e.after or {}).get("apprise_url_changed", False) for e in updates] == [False, True]
    trail = json.dumps([[e.before, e.after] for e in updates])
    assert TOKEN not in trail and "N3wS3cretValue" not in trail


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/not-apprise",
        "mmost://",
        "not a url at all",
        "mailto://someone:secret@example.com",
    ],
)
def test_a_url_apprise_or_hashdesk_does_not_take_is_refused_on_the_form(
    administrator, loopback_allowed, url
):
    client = signed_in(administrator)
    response = client.post(reverse("notify:chat-tool-create"), {"name": "Chat", "apprise_url": url})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Not an apprise URL Hashdesk understands" in page
    assert not ChatTool.objects.exists()
    assert "secret" not in page


def test_a_tool_on_a_forbidden_network_is_refused_at_configuration(
    administrator, receiver, settings
):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(ValidationFailed) as refused:
        do_create_chat_tool(administrator, name="Local", apprise_url=receiver.mattermost_url())
    assert refused.value.field == "apprise_url"
    assert "Hashdesk may not send to mmost://127.0.0.1" in refused.value.detail
    assert TOKEN not in refused.value.detail

    client = signed_in(administrator)
    response = client.post(
        reverse("notify:chat-tool-create"),
        {"name": "Local", "apprise_url": receiver.mattermost_url()},
    )
    assert response.status_code == 400
    assert "Hashdesk may not send to" in response.content.decode()
    assert not ChatTool.objects.exists()


def test_cloud_tools_show_their_public_endpoint_not_their_tokens(administrator, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    slack = chat_tools.destination_of("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#ops")
    assert slack.display == "slack://hooks.slack.com"
    telegram = chat_tools.destination_of("tgram://123456789:abcdefg_hijklmnop/12315544/")
    assert telegram.display == "tgram://api.telegram.org"
    assert chat_tools.destination_of("ntfy://hashdesk-alerts").display == "ntfy://ntfy.sh"
    assert (
        chat_tools.destination_of("mmosts://chat.example.com/abcdef123").display
        == "mmosts://chat.example.com"
    )


def test_the_schemes_come_from_the_setting(administrator, receiver, loopback_allowed):
    loopback_allowed.CHAT_TOOL_SCHEMES = ["slack"]
    with pytest.raises(ValidationFailed, match="Not an apprise URL Hashdesk understands"):
        do_create_chat_tool(administrator, name="MM", apprise_url=receiver.mattermost_url())


def test_names_are_unique_and_categories_are_checked(administrator, mattermost, receiver):
    with pytest.raises(ValidationFailed, match="already is a chat tool named"):
        do_create_chat_tool(administrator, name="ops mattermost", apprise_url=receiver.json_url())
    with pytest.raises(ValidationFailed) as refused:
        do_update_chat_tool(administrator, mattermost, categories=["knowledge"])
    assert refused.value.field == "categories"


def test_people_who_are_not_administrators_cannot_configure_tools(
    requester, vpn_agent, change_manager, mattermost, receiver
):
    pages = [
        ("get", reverse("notify:chat-tools")),
        ("get", reverse("notify:chat-tool-create")),
        ("get", reverse("notify:chat-tool-edit", args=[mattermost.pk])),
        ("post", reverse("notify:chat-tool-delete", args=[mattermost.pk])),
        ("post", reverse("notify:chat-tool-test", args=[mattermost.pk])),
        ("post", reverse("notify:chat-tool-enable", args=[mattermost.pk])),
    ]
    for person in (requester, vpn_agent, change_manager):
        client = signed_in(person)
        for method, url in pages:
            assert getattr(client, method)(url).status_code == 403, (person, url)
        with pytest.raises(Forbidden):
            do_create_chat_tool(person, name="Mine", apprise_url=receiver.json_url())
        with pytest.raises(Forbidden):
            do_delete_chat_tool(person, mattermost)
    assert Client().get(reverse("notify:chat-tools")).status_code == 302  # to sign-in
    assert ChatTool.objects.count() == 1


def test_removing_a_tool_on_the_page(administrator, mattermost):
    client = signed_in(administrator)
    url = reverse("notify:chat-tool-delete", args=[mattermost.pk])
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    assert not ChatTool.objects.exists()
    entry = AuditEntry.objects.get(action="chattool.delete")
    assert (entry.before or {})["name"] == "Ops Mattermost"
    assert TOKEN not in json.dumps(entry.before)


# --- Announcements ------------------------------------------------------------------------------


def test_a_major_incident_announcement_reaches_mattermost_once(
    mattermost, receiver, vpn_service, sso_service, settings, django_assert_max_num_queries
):
    # The chat-tool receiver's share: one read of the tools, one insert in a savepoint.
    with transaction.atomic(), django_assert_max_num_queries(4):
        chat_tools.announce_to_chat_tools(major_announcement((vpn_service.pk, sso_service.pk)))
    message = OutboxMessage.objects.get(channel="chat")
    assert message.target == f"mmost://127.0.0.1:{receiver.port}"
    assert message.kind == "incident.major_declared"
    assert message.payload["tool_id"] == mattermost.pk
    assert TOKEN not in json.dumps(message.payload) + message.target + message.summary

    # Announced again (a replay): still one message.
    announce(major_announcement((vpn_service.pk,)))
    assert OutboxMessage.objects.filter(channel="chat").count() == 1

    report = deliver_everything()
    assert report.sent == [message.pk]
    assert len(receiver.requests) == 1
    posted = receiver.requests[0]
    assert posted.path == f"/hooks/{TOKEN}"
    assert "Major incident INC-000042: VPN down" in posted.body["text"]
    assert "Nobody can connect to the VPN." in posted.body["text"]
    assert f"{settings.PUBLIC_URL}/incidents/INC-000042/" in posted.body["text"]
    assert deliver_everything().attempted == 0


def test_a_generic_json_tool_and_the_categories_it_announces(
    administrator, receiver, vpn_service, loopback_allowed
):
    everything = do_create_chat_tool(
        administrator,
        name="Everything",
        apprise_url=receiver.json_url("all/AllT0ken99"),
        services=[vpn_service],
        categories=["major", "incidents", "changes"],
    )
    default = do_create_chat_tool(
        administrator,
        name="Default",
        apprise_url=receiver.json_url("default/DefT0ken99"),
        services=[vpn_service],
    )
    assert category_of("incident.update") == Category.INCIDENTS
    announce(
        major_announcement(
            (vpn_service.pk,),
            kind="incident.update",
            key="incident:42:entry:7",
            title="Update on INC-000042: VPN down",
            body="A fix is being rolled out.",
        )
    )
    announce(
        major_announcement(
            (vpn_service.pk,),
            kind="change.start",
            key="change:9:start",
            title="Change CHG-000009 started",
            body="Upgrading the VPN gateways.",
            url="/changes/CHG-000009/",
            audience=Visibility.INTERNAL,
        )
    )
    sent = {(m.payload["tool_id"], m.kind) for m in OutboxMessage.objects.filter(channel="chat")}
    assert sent == {
        (everything.pk, "incident.update"),
        (everything.pk, "change.start"),
        (default.pk, "change.start"),
    }
    report = deliver_everything()
    assert len(report.sent) == 3
    by_path = {r.path: r.body for r in receiver.requests}
    assert set(by_path) == {"/all/AllT0ken99", "/default/DefT0ken99"}
    titles = sorted(r.body["title"] for r in receiver.requests)
    assert titles == [
        "Change CHG-000009 started",
        "Change CHG-000009 started",
        "Update on INC-000042: VPN down",
    ]
    assert any("A fix is being rolled out." in r.body["message"] for r in receiver.requests)


def test_tools_of_other_services_disabled_tools_and_confidential_news_hear_nothing(
    administrator, mattermost, receiver, vpn_service, sso_service
):
    disabled = do_create_chat_tool(
        administrator,
        name="Disabled",
        apprise_url=receiver.json_url(),
        services=[vpn_service],
    )
    ChatTool.objects.filter(pk=disabled.pk).update(is_active=False)
    announce(major_announcement((sso_service.pk,)))
    announce(major_announcement((vpn_service.pk,), audience=Visibility.CONFIDENTIAL, key="c:1"))
    announce(major_announcement((), key="nothing:1"))
    announce(major_announcement((vpn_service.pk,), kind="problem.published", key="p:1"))
    assert not OutboxMessage.objects.filter(channel="chat").exists()


def test_a_declared_major_incident_is_announced_to_the_tool(
    administrator, vpn_agent, requester, receiver, vpn_service, loopback_allowed
):
    tool = do_create_chat_tool(
        administrator, name="Ops", apprise_url=receiver.mattermost_url(), services=[vpn_service]
    )
    incident = incident_actions.do_create_incident(
        requester, title="VPN drops every minute", description="", service=vpn_service
    )
    major.do_declare_major(vpn_agent, incident, reason="Everyone is cut off.", commander=vpn_agent)
    message = OutboxMessage.objects.get(channel="chat", kind="incident.major_declared")
    assert message.payload["tool_id"] == tool.pk
    deliver_everything()
    assert len(receiver.requests) == 1
    assert incident.number in receiver.requests[0].body["text"]


def test_long_announcement_keys_are_hashed(mattermost, vpn_service):
    announce(major_announcement((vpn_service.pk,), key="x" * 200))
    message = OutboxMessage.objects.get(channel="chat")
    assert len(message.idempotency_key) <= 100
    announce(major_announcement((vpn_service.pk,), key="x" * 200))
    assert OutboxMessage.objects.filter(channel="chat").count() == 1


# --- A person's own notices ---------------------------------------------------------------------


def test_a_persons_notice_mentions_their_handle(mattermost, requester, receiver, settings):
    notification = Notification.objects.create(
        recipient=requester,
        kind="wall.mention",
        title="Robin mentioned you",
        body="Can you check the VPN?",
        url="/wall/posts/7/",
    )
    delivery = notice_chat(notification, mattermost, "@robin")
    assert delivery.channel == "chat" and delivery.recipient_id == requester.pk
    assert delivery.payload == {
        "tool_id": mattermost.pk,
        "title": "Robin mentioned you",
        "body": "Can you check the VPN?",
        "url": f"{settings.PUBLIC_URL}/wall/posts/7/",
        "handle": "robin",
    }
    assert TOKEN not in delivery.target
    enqueue_many([delivery])
    deliver_everything()
    text = receiver.requests[0].body["text"]
    assert "@robin Can you check the VPN?" in text
    assert "/wall/posts/7/" in text


# --- Failures -----------------------------------------------------------------------------------


def test_a_failing_receiver_is_retried_then_the_tool_is_disabled_and_admins_told_once(
    mattermost, receiver, vpn_service, administrator, make_person, loopback_allowed
):
    from hashdesk.accounts.choices import Role

    second_admin = make_person("second.admin@example.test", roles=[Role.ADMINISTRATOR])
    loopback_allowed.NOTIFY_DISABLE_AFTER_FAILURES = 3
    loopback_allowed.OUTBOX_MAX_ATTEMPTS = 10
    receiver.status = 500
    announce(major_announcement((vpn_service.pk,)))
    announce(major_announcement((vpn_service.pk,), key="incident:43:major_declared"))

    moment = timezone.now()
    report = deliver_due(now=moment)
    assert len(report.retrying) == 2
    mattermost.refresh_from_db()
    assert mattermost.consecutive_failures == 2 and mattermost.is_active
    message = OutboxMessage.objects.filter(channel="chat").order_by("id").first()
    assert message is not None and "did not take the message" in message.last_error
    assert "500" in message.last_error
    assert TOKEN not in message.last_error

    moment += timedelta(days=1)
    report = deliver_due(now=moment)
    mattermost.refresh_from_db()
    assert not mattermost.is_active and mattermost.disabled_at is not None
    assert mattermost.consecutive_failures >= 3
    assert len(receiver.requests) == 3  # the fourth attempt found the tool disabled
    alerts = Notification.objects.filter(kind="chattool.disabled")
    assert sorted(a.recipient_id for a in alerts) == sorted([administrator.pk, second_admin.pk])
    assert "Ops Mattermost" in alerts[0].title
    assert category_of("chattool.disabled") == Category.ACCOUNT

    moment += timedelta(days=1)
    deliver_due(now=moment)
    assert Notification.objects.filter(kind="chattool.disabled").count() == 2
    assert OutboxMessage.objects.filter(channel="chat", status=OutboxStatus.FAILED).count() == 2
    assert AuditEntry.objects.filter(action="chattool.disable").count() == 1

    # Fixed and enabled again: the failed messages are resent and the counter starts over.
    receiver.status = 200
    do_enable_chat_tool(administrator, mattermost)
    assert requeue_failed() == 2
    report = deliver_everything(now=timezone.now() + timedelta(days=3))
    assert len(report.sent) == 2
    mattermost.refresh_from_db()
    assert mattermost.is_active and mattermost.consecutive_failures == 0


def test_success_resets_the_failure_count(mattermost, receiver, vpn_service):
    ChatTool.objects.filter(pk=mattermost.pk).update(consecutive_failures=2)
    announce(major_announcement((vpn_service.pk,)))
    deliver_everything()
    mattermost.refresh_from_db()
    assert mattermost.consecutive_failures == 0


def test_a_forbidden_network_is_refused_at_delivery(mattermost, receiver, vpn_service, settings):
    announce(major_announcement((vpn_service.pk,)))
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    report = deliver_everything()
    assert len(report.failed) == 1
    message = OutboxMessage.objects.get(channel="chat")
    assert message.status == OutboxStatus.FAILED
    assert "Hashdesk may not send to" in message.last_error
    assert receiver.requests == []
    mattermost.refresh_from_db()
    assert mattermost.consecutive_failures == 1


def test_a_hanging_server_does_not_hold_the_worker(
    administrator, vpn_service, silent_server, loopback_allowed
):
    loopback_allowed.OUTBOUND_TIMEOUT_SECONDS = 1
    do_create_chat_tool(
        administrator,
        name="Hanging",
        apprise_url=f"json://127.0.0.1:{silent_server}/hook",
        services=[vpn_service],
    )
    announce(major_announcement((vpn_service.pk,)))
    report = deliver_everything()
    assert len(report.retrying) == 1


def test_a_removed_tool_fails_its_waiting_messages_visibly(administrator, mattermost, vpn_service):
    announce(major_announcement((vpn_service.pk,)))
    do_delete_chat_tool(administrator, mattermost)
    report = deliver_everything()
    assert len(report.failed) == 1
    assert OutboxMessage.objects.get(channel="chat").last_error == "The chat tool was removed."


def test_send_test_and_enable_on_the_page(administrator, mattermost, receiver):
    client = signed_in(administrator)
    response = client.post(reverse("notify:chat-tool-test", args=[mattermost.pk]), follow=True)
    assert "on its way" in response.content.decode()
    deliver_everything()
    assert "Hashdesk test message" in receiver.requests[0].body["text"]

    ChatTool.objects.filter(pk=mattermost.pk).update(
        is_active=False, disabled_at=timezone.now(), consecutive_failures=10
    )
    response = client.post(reverse("notify:chat-tool-test", args=[mattermost.pk]), follow=True)
    assert "enable it before sending a test" in response.content.decode()
    listing = client.get(reverse("notify:chat-tools")).content.decode()
    assert "Enable again" in listing
    client.post(reverse("notify:chat-tool-enable", args=[mattermost.pk]))
    mattermost.refresh_from_db()
    assert mattermost.is_active and mattermost.consecutive_failures == 0
    assert AuditEntry.objects.filter(action="chattool.enable").count() == 1


def test_apprise_errors_are_redacted():
    url = "mmost://chat.example.com/SuperSecretHook1"
    text = "Failed to send to http://chat.example.com/hooks/SuperSecretHook1: 500"
    assert "SuperSecretHook1" not in chat_tools.redact(text, url)


# --- API ----------------------------------------------------------------------------------------


def api(person: Any) -> ApiCaller:
    return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person)}"})


def test_api_creates_reads_changes_and_removes_a_tool_without_showing_its_url(
    administrator, vpn_service, receiver, loopback_allowed
):
    caller = api(administrator)
    response = caller.post(
        "/api/v1/chat-tools",
        {
            "name": "Ops",
            "apprise_url": receiver.mattermost_url(),
            "services": [vpn_service.slug],
            "categories": ["major"],
        },
    )
    assert response.status_code == 201, response.content
    created = json.loads(response.content)
    assert created["display_target"] == f"mmost://127.0.0.1:{receiver.port}"
    assert created["services"] == [vpn_service.slug]
    assert "apprise_url" not in created
    tool_id = created["id"]

    listing = caller.get("/api/v1/chat-tools")
    assert listing.status_code == 200
    assert [t["name"] for t in json.loads(listing.content)["items"]] == ["Ops"]
    changed = caller.patch(f"/api/v1/chat-tools/{tool_id}", {"offered_to_people": True})
    assert changed.status_code == 200 and json.loads(changed.content)["offered_to_people"] is True
    assert ChatTool.objects.get(pk=tool_id).apprise_url == receiver.mattermost_url()
    for body in (created, json.loads(listing.content), json.loads(changed.content)):
        assert TOKEN not in json.dumps(body)

    test = caller.post(f"/api/v1/chat-tools/{tool_id}/test")
    assert test.status_code == 202
    assert OutboxMessage.objects.filter(idempotency_key=json.loads(test.content)["key"]).exists()

    bad = caller.patch(f"/api/v1/chat-tools/{tool_id}", {"apprise_url": "nonsense"})
    problem = assert_problem(bad, 422, "invalid")
    assert "Not an apprise URL Hashdesk understands" in problem["detail"]
    assert caller.delete(f"/api/v1/chat-tools/{tool_id}").status_code == 204
    assert not ChatTool.objects.exists()


def test_api_refuses_forbidden_networks_and_non_administrators(
    administrator, requester, vpn_agent, receiver, settings, mattermost
):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    problem = assert_problem(
        api(administrator).post(
            "/api/v1/chat-tools", {"name": "Local", "apprise_url": receiver.json_url()}
        ),
        422,
    )
    assert "Hashdesk may not send to" in problem["detail"]
    for person in (requester, vpn_agent):
        caller = api(person)
        assert_problem(caller.get("/api/v1/chat-tools"), 403)
        assert_problem(caller.get(f"/api/v1/chat-tools/{mattermost.pk}"), 403)
        assert_problem(
            caller.post("/api/v1/chat-tools", {"name": "x", "apprise_url": "json://x"}), 403
        )
        assert_problem(caller.delete(f"/api/v1/chat-tools/{mattermost.pk}"), 403)
    assert_problem(api(administrator).get("/api/v1/chat-tools/999999"), 404)
