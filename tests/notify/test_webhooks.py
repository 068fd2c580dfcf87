"""Outgoing webhooks against a real HTTP receiver: signed deliveries, retries with back-off,
turning off after repeated failures (the owner told once), enabling again, refusing bad URLs
at configuration time, keeping the secret out of the audit trail, logs and delivery log, and
who may see and change a webhook."""

# The shared receiver fixtures are imported, and test parameters name them.
# ruff: noqa: F811

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from structlog.testing import capture_logs

from hashdesk.audit.models import AuditEntry
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.models import DeliveryAttempt, OutboxMessage, OutboxStatus
from hashdesk.core.outbox import deliver_due, enqueue_many
from hashdesk.notify import webhooks
from hashdesk.notify.choices import category_of
from hashdesk.notify.models import Notification, WebhookEndpoint
from tests.api.conftest import as_token, nothing_changes  # noqa: F401 (fixtures)
from tests.api.support import assert_problem
from tests.notify.receivers import allow_loopback, webhook_receiver  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db


def notification_for(person, kind="incident.official_update", title="VPN: fix deployed"):
    return Notification.objects.create(
        recipient=person, kind=kind, title=title, body="Reconnect now.", url="/incidents/42/"
    )


@pytest.fixture
def hook(requester, webhook_receiver, allow_loopback):
    """The requester's webhook pointing at the receiver, which knows the secret."""
    endpoint, secret = webhooks.do_create_webhook(
        requester, "Team dashboard", webhook_receiver.url(), []
    )
    webhook_receiver.secret = secret
    return endpoint


def enqueue_for(notification, *endpoints):
    enqueue_many(webhooks.notice_webhooks(notification, list(endpoints)))
    return OutboxMessage.objects.filter(channel="webhook").order_by("-id").first()


def later(minutes=120):
    return timezone.now() + timedelta(minutes=minutes)


def webhook_rows():
    return OutboxMessage.objects.filter(channel="webhook").order_by("id")


# --- Signatures ---------------------------------------------------------------------------------


def test_signature_round_trip_and_refusals():
    body = b'{"id":"webhook:e1:n1"}'
    header = webhooks.signature_header("s3cret", body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert webhooks.verify_signature("s3cret", header, body, now=1_700_000_010)
    # Wrong secret, changed body, replay long after, malformed header: all refused.
    assert not webhooks.verify_signature("other", header, body, now=1_700_000_010)
    assert not webhooks.verify_signature("s3cret", header, body + b" ", now=1_700_000_010)
    assert not webhooks.verify_signature("s3cret", header, body, now=1_700_000_000 + 301)
    assert not webhooks.verify_signature("s3cret", header, body, now=1_700_000_000 - 301)
    for broken in ("", "t=1700000000", "v1=abc", "t=soon,v1=abc", "garbage"):
        assert not webhooks.verify_signature("s3cret", broken, body, now=1_700_000_010)
    # Any one of several v1 values may match (a receiver accepting during a change of secret).
    _, good = header.split(",")
    assert webhooks.verify_signature(
        "s3cret", f"t=1700000000,v1={'0' * 64},{good}", body, now=1_700_000_010
    )


def test_the_documented_hmac_recipe_verifies_a_real_header():
    """docs: the receiver side with only hmac and hashlib."""
    import hashlib
    import hmac

    body = b'{"type":"webhook.test"}'
    header = webhooks.signature_header("abc", body)
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(b"abc", parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, parts["v1"])


# --- Delivering ---------------------------------------------------------------------------------


def test_a_notification_arrives_signed_with_its_delivery_id(requester, hook, webhook_receiver):
    notification = notification_for(requester)
    message = enqueue_for(notification, hook)
    assert message.target == f"http://127.0.0.1:{webhook_receiver.port}"

    report = deliver_due()

    assert report.sent == [message.pk]
    [received] = webhook_receiver.requests
    assert received.signature_valid is True
    assert received.header("hashdesk-delivery") == f"webhook:e{hook.pk}:n{notification.pk}"
    assert received.header("hashdesk-event") == "incident.official_update"
    assert received.header("user-agent") == "Hashdesk-Webhooks/1"
    assert received.header("content-type") == "application/json"
    document = received.json()
    assert document["id"] == received.header("hashdesk-delivery")
    assert document["type"] == "incident.official_update"
    assert document["category"] == category_of("incident.official_update")
    assert document["recipient"] == {"id": requester.pk}
    assert document["notification"]["id"] == notification.pk
    assert document["notification"]["title"] == "VPN: fix deployed"
    assert document["notification"]["url"].startswith("http")
    assert document["notification"]["url"].endswith("/incidents/42/")
    hook.refresh_from_db()
    assert hook.last_success_at is not None and hook.consecutive_failures == 0


def test_a_500_is_retried_with_back_off_and_the_same_bytes(requester, hook, webhook_receiver):
    webhook_receiver.answer_in_turn(500)
    message = enqueue_for(notification_for(requester), hook)

    first = deliver_due()
    assert first.retrying == [message.pk]
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING and message.attempts == 1
    assert message.next_attempt_at > timezone.now()  # backed off, not due now
    assert "answered 500" in message.last_error
    hook.refresh_from_db()
    assert hook.consecutive_failures == 1 and hook.last_failure_at is not None
    assert deliver_due().attempted == 0

    second = deliver_due(now=later())
    assert second.sent == [message.pk]
    one, two = webhook_receiver.requests
    assert one.header("hashdesk-delivery") == two.header("hashdesk-delivery")
    assert one.body == two.body
    assert one.signature_valid and two.signature_valid
    assert DeliveryAttempt.objects.filter(message=message).count() == 2
    hook.refresh_from_db()
    assert hook.consecutive_failures == 0  # a success resets the count
    assert hook.last_success_at is not None


def test_a_hanging_receiver_is_a_failed_attempt(requester, hook, webhook_receiver, settings):
    settings.OUTBOUND_TIMEOUT_SECONDS = 1
    webhook_receiver.hang(60)
    message = enqueue_for(notification_for(requester), hook)
    assert deliver_due().retrying == [message.pk]
    message.refresh_from_db()
    assert "did not answer within 1 s" in message.last_error


def test_repeated_failure_turns_the_webhook_off_and_tells_the_owner_once(
    requester, hook, webhook_receiver, settings
):
    settings.NOTIFY_DISABLE_AFTER_FAILURES = 3
    settings.OUTBOX_MAX_ATTEMPTS = 20
    webhook_receiver.answer(500, b"receiver broke")
    first = enqueue_for(notification_for(requester, title="One"), hook)
    second = enqueue_for(notification_for(requester, title="Two"), hook)

    deliver_due()  # two failures
    deliver_due(now=later(60 * 24))  # two more: the third turns it off, the fourth is refused

    hook.refresh_from_db()
    assert not hook.is_active and hook.disabled_at is not None
    assert "answered 500: receiver broke" in hook.disabled_reason
    alerts = Notification.objects.filter(recipient=requester, kind="webhook.disabled")
    assert alerts.count() == 1
    assert "Team dashboard" in alerts.get().title
    assert AuditEntry.objects.filter(action="webhook.disable", object_id=str(hook.pk)).count() == 1
    assert len(webhook_receiver.requests) == 3

    # What was still waiting fails at once, without reaching the receiver; nothing new is
    # enqueued for a webhook that is off.
    deliver_due(now=later(60 * 48))
    for message in (first, second):
        message.refresh_from_db()
        assert message.status == OutboxStatus.FAILED
        assert "webhook Team dashboard is disabled" in message.last_error
    hook.refresh_from_db()
    assert webhooks.notice_webhooks(notification_for(requester, title="Three"), [hook]) == []
    assert len(webhook_receiver.requests) == 3
    assert Notification.objects.filter(kind="webhook.disabled").count() == 1


def test_counting_past_the_limit_alerts_only_once(requester, hook, settings):
    settings.NOTIFY_DISABLE_AFTER_FAILURES = 2
    for _ in range(5):
        webhooks._failed(hook, "receiver down")
    hook.refresh_from_db()
    assert hook.consecutive_failures == 5 and not hook.is_active
    assert Notification.objects.filter(kind="webhook.disabled").count() == 1


def test_enable_again_resets_the_count_and_deliveries_flow(
    requester, hook, webhook_receiver, settings
):
    settings.NOTIFY_DISABLE_AFTER_FAILURES = 1
    webhook_receiver.answer_in_turn(503)
    enqueue_for(notification_for(requester), hook)
    deliver_due()
    hook.refresh_from_db()
    assert not hook.is_active

    webhooks.do_enable_webhook(requester, hook.pk)

    hook.refresh_from_db()
    assert hook.is_active and hook.consecutive_failures == 0
    assert hook.disabled_at is None and hook.disabled_reason == ""
    assert AuditEntry.objects.filter(action="webhook.enable", object_id=str(hook.pk)).exists()
    message = enqueue_for(notification_for(requester, title="After the fix"), hook)
    assert message.pk in deliver_due().sent
    assert webhook_receiver.requests[-1].json()["notification"]["title"] == "After the fix"
    with pytest.raises(Conflict):
        webhooks.do_enable_webhook(requester, hook.pk)


def test_a_destination_refused_at_delivery_time_fails_at_once(requester, hook, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []  # an administrator closed loopback again
    message = enqueue_for(notification_for(requester), hook)
    assert deliver_due().failed == [message.pk]
    message.refresh_from_db()
    assert message.attempts == 1 and "a loopback address" in message.last_error
    hook.refresh_from_db()
    assert hook.consecutive_failures == 1


def test_a_deleted_webhook_fails_its_waiting_deliveries(requester, hook, webhook_receiver):
    message = enqueue_for(notification_for(requester), hook)
    webhooks.do_delete_webhook(requester, hook.pk)
    assert deliver_due().failed == [message.pk]
    message.refresh_from_db()
    assert "was deleted" in message.last_error
    assert webhook_receiver.requests == []


def test_test_delivery_goes_through_the_outbox(requester, hook, webhook_receiver):
    key = webhooks.send_test_delivery(hook)
    message = OutboxMessage.objects.get(idempotency_key=key)
    assert message.kind == "webhook.test" and message.recipient_id == requester.pk
    deliver_due()
    [received] = webhook_receiver.requests
    assert received.signature_valid
    assert received.header("hashdesk-event") == "webhook.test"
    assert received.header("hashdesk-delivery") == key
    assert received.json()["recipient"] == {"id": requester.pk}


def test_enqueueing_picks_the_owners_active_endpoints_in_their_categories(
    requester, other_requester, hook, webhook_receiver, django_assert_num_queries
):
    changes_only, _ = webhooks.do_create_webhook(
        requester, "Changes", webhook_receiver.url("/changes"), ["changes"]
    )
    off, _ = webhooks.do_create_webhook(requester, "Off", webhook_receiver.url("/off"), [])
    WebhookEndpoint.objects.filter(pk=off.pk).update(is_active=False)
    off.refresh_from_db()
    theirs, _ = webhooks.do_create_webhook(other_requester, "Theirs", webhook_receiver.url(), [])
    notification = notification_for(requester)

    with django_assert_num_queries(0):
        deliveries = webhooks.notice_webhooks(notification, [hook, changes_only, off, theirs])

    assert [d.payload["endpoint_id"] for d in deliveries] == [hook.pk]
    change = notification_for(requester, kind="change.reminder")
    assert {
        d.payload["endpoint_id"] for d in webhooks.notice_webhooks(change, [hook, changes_only])
    } == {
        hook.pk,
        changes_only.pk,
    }
    assert webhooks.webhooks_for([requester.pk]) == {requester.pk: [changes_only, hook]}


# --- Configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.com/in", "Only http and https"),
        ("not a url", "cannot contain spaces"),
        ("http://10.0.0.5/in", "10.0.0.5 is a private address"),
        ("http://localhost:9000/in", "localhost resolves to 127.0.0.1, a loopback address"),
        ("https://user:pw@hooks.example.com/in", "user name or password"),
    ],
)
def test_bad_urls_are_refused_when_configuring_and_nothing_is_created(requester, url, message):
    with pytest.raises(ValidationFailed, match=message) as refused:
        webhooks.do_create_webhook(requester, "Bad", url, [])
    assert refused.value.field == "url"
    assert not WebhookEndpoint.objects.exists()
    assert not AuditEntry.objects.filter(action="webhook.create").exists()


def test_names_are_unique_per_person_and_categories_known(requester, hook, webhook_receiver):
    with pytest.raises(Conflict, match="already have a webhook named"):
        webhooks.do_create_webhook(requester, "team dashboard", webhook_receiver.url(), [])
    with pytest.raises(ValidationFailed, match="Unknown categories: gossip"):
        webhooks.do_create_webhook(requester, "Other", webhook_receiver.url(), ["gossip"])


def test_the_secret_never_reaches_audit_logs_or_the_delivery_log(
    requester, webhook_receiver, allow_loopback, caplog
):
    url = webhook_receiver.url("/in/path-token-123?key=abc")
    with capture_logs() as logs:
        endpoint, secret = webhooks.do_create_webhook(requester, "Private", url, [])
        webhook_receiver.secret = secret
        _, rotated = webhooks.do_rotate_secret(requester, endpoint.pk)
        webhook_receiver.secret = rotated
        enqueue_for(notification_for(requester), endpoint)
        deliver_due()
    assert len(secret) >= 40 and rotated != secret
    assert webhook_receiver.requests[0].signature_valid
    audit = json.dumps(
        list(AuditEntry.objects.values("object_repr", "before", "after")), default=str
    )
    message = OutboxMessage.objects.get(channel="webhook")
    attempts = json.dumps(list(DeliveryAttempt.objects.values("error")))
    for text in (
        caplog.text,
        audit,
        json.dumps(logs, default=str),
        message.target,
        json.dumps(message.payload),
        attempts,
    ):
        assert secret not in text and rotated not in text
        assert "path-token-123" not in text
    assert message.target == f"http://127.0.0.1:{webhook_receiver.port}"
    assert {"webhook.create", "webhook.rotate_secret"} <= set(
        AuditEntry.objects.values_list("action", flat=True)
    )


def test_another_person_cannot_change_my_webhook(requester, other_requester, administrator, hook):
    for action in (
        webhooks.do_delete_webhook,
        webhooks.do_enable_webhook,
        webhooks.do_rotate_secret,
    ):
        with pytest.raises(NotFound):
            action(other_requester, hook.pk)
    # An administrator sees it but may not change it.
    with pytest.raises(Forbidden):
        webhooks.do_update_webhook(administrator, hook.pk, name="Mine now")
    with pytest.raises(Forbidden):
        webhooks.do_rotate_secret(administrator, hook.pk)


# --- Pages --------------------------------------------------------------------------------------


@pytest.fixture
def browser(requester):
    client = Client()
    client.force_login(requester)
    return client


def test_create_page_shows_the_secret_once(browser, requester, webhook_receiver, allow_loopback):
    page = browser.get("/notifications/webhooks/new/")
    assert page.status_code == 200 and b'name="webhook-url"' in page.content

    created = browser.post(
        "/notifications/webhooks/new/",
        {
            "webhook-name": "Dashboard",
            "webhook-url": webhook_receiver.url(),
            "webhook-categories": ["major"],
        },
    )

    assert created.status_code == 200
    endpoint = WebhookEndpoint.objects.get(owner=requester)
    assert endpoint.categories == ["major"]
    assert endpoint.secret in created.content.decode()
    assert "no-store" in created["Cache-Control"]
    listing = browser.get("/notifications/webhooks/").content.decode()
    assert "Dashboard" in listing and f"http://127.0.0.1:{webhook_receiver.port}" in listing
    assert endpoint.secret not in listing and "/hook" not in listing


def test_create_page_explains_a_forbidden_network(browser, requester):
    response = browser.post(
        "/notifications/webhooks/new/",
        {"webhook-name": "Internal", "webhook-url": "http://192.168.1.20/in"},
    )
    assert response.status_code == 400
    assert "192.168.1.20 is a private address" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_pages_edit_test_enable_rotate_and_delete(browser, requester, hook, webhook_receiver):
    listing = browser.get("/notifications/webhooks/").content.decode()
    assert "Team dashboard" in listing and "Active" in listing and "Send test" in listing

    edited = browser.post(
        f"/notifications/webhooks/{hook.pk}/edit/",
        {"webhook-name": "Wallboard", "webhook-url": webhook_receiver.url("/v2")},
    )
    assert edited.status_code == 302
    hook.refresh_from_db()
    assert hook.name == "Wallboard" and hook.url.endswith("/v2")

    assert browser.post(f"/notifications/webhooks/{hook.pk}/test/").status_code == 302
    assert OutboxMessage.objects.filter(kind="webhook.test").count() == 1

    WebhookEndpoint.objects.filter(pk=hook.pk).update(
        is_active=False, disabled_reason="Turned off after 10 failed deliveries in a row"
    )
    listing = browser.get("/notifications/webhooks/").content.decode()
    assert "Disabled" in listing and "Enable again" in listing and "Turned off after" in listing
    assert browser.post(f"/notifications/webhooks/{hook.pk}/enable/").status_code == 302
    hook.refresh_from_db()
    assert hook.is_active

    assert b"A new secret" in browser.get(f"/notifications/webhooks/{hook.pk}/secret/").content
    old = hook.secret
    rotated = browser.post(f"/notifications/webhooks/{hook.pk}/secret/")
    hook.refresh_from_db()
    assert hook.secret != old and hook.secret in rotated.content.decode()

    assert b"Delete" in browser.get(f"/notifications/webhooks/{hook.pk}/delete/").content
    assert browser.post(f"/notifications/webhooks/{hook.pk}/delete/").status_code == 302
    assert not WebhookEndpoint.objects.filter(pk=hook.pk).exists()


def test_pages_of_my_webhook_are_not_found_for_another_person(other_requester, hook):
    client = Client()
    client.force_login(other_requester)
    for path in ("edit", "delete", "secret"):
        assert client.get(f"/notifications/webhooks/{hook.pk}/{path}/").status_code == 404
    for path in ("test", "enable", "delete", "secret"):
        assert client.post(f"/notifications/webhooks/{hook.pk}/{path}/").status_code == 404
    assert "Team dashboard" not in client.get("/notifications/webhooks/").content.decode()


def test_administrators_see_every_webhook_but_change_none(administrator, hook):
    client = Client()
    client.force_login(administrator)
    listing = client.get("/notifications/webhooks/").content.decode()
    assert "Everyone else\u2019s webhooks" in listing and "Team dashboard" in listing
    assert client.get(f"/notifications/webhooks/{hook.pk}/edit/").status_code == 403
    assert client.post(f"/notifications/webhooks/{hook.pk}/delete/").status_code == 403


def test_writes_need_the_csrf_token(requester, hook):
    client = Client(enforce_csrf_checks=True)
    client.force_login(requester)
    assert client.post(f"/notifications/webhooks/{hook.pk}/delete/").status_code == 403
    assert WebhookEndpoint.objects.filter(pk=hook.pk).exists()


def test_pages_need_sign_in(client, hook):
    assert client.get("/notifications/webhooks/").status_code == 302


# --- API ----------------------------------------------------------------------------------------


def body(response):
    return json.loads(response.content)


def test_api_crud_test_and_enable(as_token, requester, webhook_receiver, allow_loopback):
    caller = as_token(requester)
    created = caller.post(
        "/api/v1/webhooks",
        {"name": "Pager", "url": webhook_receiver.url(), "categories": ["major", "incidents"]},
    )
    assert created.status_code == 201, created.content
    answer = body(created)
    webhook_id, secret = answer["webhook"]["id"], answer["secret"]
    assert answer["webhook"]["destination"] == f"http://127.0.0.1:{webhook_receiver.port}"
    assert answer["webhook"]["categories"] == ["major", "incidents"]
    webhook_receiver.secret = secret

    page = body(caller.get("/api/v1/webhooks"))
    assert [item["id"] for item in page["items"]] == [webhook_id]
    assert "secret" not in page["items"][0]
    assert body(caller.get(f"/api/v1/webhooks/{webhook_id}"))["name"] == "Pager"

    changed = caller.patch(
        f"/api/v1/webhooks/{webhook_id}", {"name": "Pager duty", "categories": []}
    )
    assert changed.status_code == 200 and body(changed)["categories"] == []

    queued = caller.post(f"/api/v1/webhooks/{webhook_id}/test")
    assert queued.status_code == 202
    deliver_due()
    [received] = webhook_receiver.requests
    assert received.header("hashdesk-delivery") == body(queued)["delivery"]
    assert received.signature_valid

    rotated = body(caller.post(f"/api/v1/webhooks/{webhook_id}/secret"))
    assert rotated["secret"] != secret

    assert_problem(caller.post(f"/api/v1/webhooks/{webhook_id}/enable"), 409)
    WebhookEndpoint.objects.filter(pk=webhook_id).update(is_active=False, consecutive_failures=9)
    enabled = body(caller.post(f"/api/v1/webhooks/{webhook_id}/enable"))
    assert enabled["is_active"] and enabled["consecutive_failures"] == 0

    assert caller.delete(f"/api/v1/webhooks/{webhook_id}").status_code == 204
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("http://10.1.2.3/hook", "10.1.2.3 is a private address"),
        ("http://[::ffff:127.0.0.1]/hook", "a loopback address (127.0.0.1) in IPv6 form"),
        ("gopher://hooks.example.com/", "Only http and https"),
    ],
)
def test_api_refuses_bad_urls_with_a_field_error(as_token, requester, nothing_changes, url, detail):
    caller = as_token(requester)
    with nothing_changes():
        response = caller.post("/api/v1/webhooks", {"name": "Bad", "url": url})
    problem = assert_problem(response, 422)
    assert detail in problem["detail"]
    assert problem["errors"][0]["field"] == "url"
    assert problem["errors"][0]["pointer"] == "/url"
    assert not WebhookEndpoint.objects.exists()


def test_api_hides_my_webhook_from_others(as_token, other_requester, administrator, hook):
    other = as_token(other_requester)
    assert_problem(other.get(f"/api/v1/webhooks/{hook.pk}"), 404)
    assert_problem(other.patch(f"/api/v1/webhooks/{hook.pk}", {"name": "x"}), 404)
    assert_problem(other.delete(f"/api/v1/webhooks/{hook.pk}"), 404)
    assert_problem(other.post(f"/api/v1/webhooks/{hook.pk}/test"), 404)
    assert body(other.get("/api/v1/webhooks"))["items"] == []

    admin = as_token(administrator)
    seen = body(admin.get(f"/api/v1/webhooks/{hook.pk}"))
    assert seen["url"] is None and seen["destination"].startswith("http://127.0.0.1:")
    assert_problem(admin.patch(f"/api/v1/webhooks/{hook.pk}", {"name": "x"}), 403)


def test_api_read_only_tokens_cannot_create(as_token, requester, webhook_receiver, allow_loopback):
    response = as_token(requester, scope="read").post(
        "/api/v1/webhooks", {"name": "Pager", "url": webhook_receiver.url()}
    )
    assert_problem(response, 403)
    assert not WebhookEndpoint.objects.exists()
