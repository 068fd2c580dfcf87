"""The delivery log: who sees which deliveries, filters, one delivery's attempts, resending by
hand (page and API), and a list page whose queries do not grow with its rows.

Deliveries go to a real SMTP server (aiosmtpd) or to a closed port, through the outbox."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.core.models import OutboxMessage, OutboxStatus
from hashdesk.core.outbox import Delivery, deliver_due, enqueue_many
from hashdesk.core.visibility import can_view_delivery_log
from hashdesk.notify import delivery_log
from tests.api.support import ApiCaller, assert_problem, raw_token

pytestmark = pytest.mark.django_db

LIST = reverse("notify:deliveries")
SECRET_TEXT = "the body of this mail is not for the log"
# Deliveries these tests make have kinds starting "test." (the product may deliver others, such
# as a mail about a new API token, to the same people).
MINE = {"kind": "test."}


def _mail(person: User | None, key: str, *, subject: str = "VPN is down", kind: str = "") -> None:
    address = person.email if person is not None else "visitor@example.test"
    with transaction.atomic():
        enqueue_many(
            [
                Delivery(
                    channel="email",
                    payload={"to": [address], "subject": subject, "text": SECRET_TEXT},
                    key=key,
                    recipient_id=person.pk if person is not None else None,
                    target=address,
                    summary=subject,
                    kind=kind or "test.major_update",
                )
            ]
        )


def _row(key: str) -> OutboxMessage:
    return OutboxMessage.objects.get(idempotency_key=key)


def _signed_in(person: User) -> Client:
    client = Client()
    client.force_login(person)
    return client


@pytest.fixture
def as_token() -> Any:
    def make(person: User, scope: str = "write") -> ApiCaller:
        return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person, scope)}"})

    return make


@pytest.fixture
def delivered(settings: Any, smtp_server: Any) -> Any:
    """Mail goes to the real SMTP server."""
    for name, value in smtp_server.settings().items():
        setattr(settings, name, value)
    return smtp_server


@pytest.fixture
def refused(settings: Any, closed_smtp_port: int) -> None:
    """Mail goes to a port nobody listens on, and one failed attempt gives up."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = closed_smtp_port
    settings.EMAIL_TIMEOUT = 2
    settings.OUTBOX_MAX_ATTEMPTS = 1


def test_only_administrators_read_everyones_log(administrator, vpn_agent, requester):
    assert can_view_delivery_log(administrator)
    assert not can_view_delivery_log(vpn_agent)
    assert not can_view_delivery_log(requester)


def test_each_person_sees_their_own_deliveries_and_administrators_all(
    administrator, vpn_agent, requester, other_requester
):
    _mail(requester, "mine")
    _mail(other_requester, "theirs")
    _mail(None, "anonymous")

    def keys(person: User) -> set[str]:
        page = _signed_in(person).get(LIST, MINE)
        assert page.status_code == 200
        return {row["message"].idempotency_key for row in page.context["rows"]}

    assert keys(requester) == {"mine"}
    assert keys(other_requester) == {"theirs"}
    assert keys(vpn_agent) == set()
    assert keys(administrator) == {"mine", "theirs", "anonymous"}

    # Someone else's delivery does not exist for a requester or an agent.
    theirs = _row("theirs")
    for person in (requester, vpn_agent):
        assert (
            _signed_in(person).get(reverse("notify:delivery", args=[theirs.pk])).status_code == 404
        )
    assert (
        _signed_in(administrator).get(reverse("notify:delivery", args=[theirs.pk])).status_code
        == 200
    )


def test_signed_out_visitors_are_sent_to_sign_in():
    response = Client().get(LIST)
    assert response.status_code == 302
    assert "/accounts/" in response["Location"] or "login" in response["Location"]


def test_a_failed_mail_shows_its_error_and_a_sent_one_its_time(
    administrator, requester, other_requester, delivered, settings, closed_smtp_port
):
    _mail(requester, "good")
    deliver_due()
    settings.EMAIL_PORT = closed_smtp_port
    settings.EMAIL_TIMEOUT = 2
    settings.OUTBOX_MAX_ATTEMPTS = 1
    _mail(other_requester, "bad", subject="Change tonight", kind="test.change")
    deliver_due()
    assert _row("good").status == OutboxStatus.SENT
    assert _row("bad").status == OutboxStatus.FAILED
    assert len(delivered.mailbox.envelopes) == 1

    page = _signed_in(administrator).get(LIST)
    text = page.content.decode()
    assert "Sent" in text and "Failed" in text
    assert "Connection refused" in text or "refused" in text.lower()

    detail = _signed_in(administrator).get(reverse("notify:delivery", args=[_row("bad").pk]))
    text = detail.content.decode()
    assert "Attempts (1)" in text
    assert "colleague@example.test" in text  # To
    assert "Change tonight" in text  # Subject
    assert SECRET_TEXT not in text  # the payload itself is never shown


def test_filters_narrow_the_log(administrator, requester, other_requester, settings):
    _mail(requester, "a", kind="test.major_update")
    _mail(other_requester, "b", kind="test.change")
    OutboxMessage.objects.filter(idempotency_key="b").update(
        status=OutboxStatus.FAILED, attempts=8, last_error="SMTPRecipientsRefused"
    )
    OutboxMessage.objects.filter(idempotency_key="a").update(attempts=2)
    client = _signed_in(administrator)

    def keys(**query: str) -> set[str]:
        page = client.get(LIST, {**MINE, **query})
        return {row["message"].idempotency_key for row in page.context["rows"]}

    assert keys(status="failed") == {"b"}
    assert keys(status="retrying") == {"a"}
    assert keys(status="pending") == set()
    assert keys(status="sent") == set()
    assert keys(channel="email") == {"a", "b"}
    assert keys(channel="webhook") == set()
    assert keys(kind="test.change") == {"b"}
    assert keys(q="colleague") == {"b"}
    assert keys(q="Requester") == {"a"}  # the person's name
    assert keys(status="nonsense") == {"a", "b"}  # an unknown status is "any", not an error


def test_the_list_pages_by_id_newest_first(administrator, requester, monkeypatch):
    monkeypatch.setattr(delivery_log, "PAGE_SIZE", 2)
    for n in range(5):
        _mail(requester, f"k{n}")
    client = _signed_in(administrator)
    seen: list[str] = []
    url = f"{LIST}?kind=test."
    while True:
        page = client.get(url)
        seen += [row["message"].idempotency_key for row in page.context["rows"]]
        if not page.context["older_query"]:
            break
        url = f"{LIST}?{page.context['older_query']}"
    assert seen == ["k4", "k3", "k2", "k1", "k0"]


def test_list_queries_do_not_grow_with_rows(
    administrator, requester, other_requester, django_assert_max_num_queries
):
    client = _signed_in(administrator)
    _mail(requester, "one")
    with django_assert_max_num_queries(12) as few:
        client.get(LIST, MINE)
    for n in range(30):
        _mail(requester if n % 2 else other_requester, f"many-{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(LIST, MINE)
    assert len(page.context["rows"]) == 31


def test_resending_a_failed_mail_tries_it_again(
    administrator, requester, refused, settings, smtp_server
):
    _mail(requester, "lost")
    deliver_due()
    message = _row("lost")
    assert message.status == OutboxStatus.FAILED

    response = _signed_in(administrator).post(reverse("notify:delivery-resend", args=[message.pk]))
    assert response.status_code == 302
    message.refresh_from_db()
    assert (message.status, message.attempts) == (OutboxStatus.PENDING, 0)
    assert AuditEntry.objects.filter(action="notify.delivery_requeue").count() == 1

    for name, value in smtp_server.settings().items():
        setattr(settings, name, value)
    deliver_due()
    message.refresh_from_db()
    assert message.status == OutboxStatus.SENT
    assert [e.rcpt_tos for e in smtp_server.mailbox.envelopes] == [[requester.email]]
    assert [t.succeeded for t in message.tries.order_by("id")] == [False, True]


def test_resending_a_sent_mail_makes_a_marked_copy(administrator, requester, delivered):
    _mail(requester, "told")
    deliver_due()
    original = _row("told")
    client = _signed_in(administrator)
    for expected in ("told:resend:1", "told:resend:2"):
        response = client.post(reverse("notify:delivery-resend", args=[original.pk]))
        copy = _row(expected)
        assert response.status_code == 302
        assert response["Location"] == reverse("notify:delivery", args=[copy.pk])
        assert (copy.channel, copy.payload, copy.recipient_id) == (
            "email",
            original.payload,
            requester.pk,
        )
        assert (copy.summary, copy.kind, copy.status) == (
            original.summary,
            original.kind,
            OutboxStatus.PENDING,
        )
    deliver_due()
    assert len(delivered.mailbox.envelopes) == 3
    message_ids = {
        e.content.split(b"Message-ID: ")[1].split(b"\r\n")[0] for e in delivered.mailbox.envelopes
    }
    assert len(message_ids) == 3  # receivers can tell a deliberate resend from a retry
    entry = AuditEntry.objects.get(
        action="notify.delivery_resend", object_id=str(_row("told:resend:1").pk)
    )
    assert entry.actor_id == administrator.pk


def test_a_pending_delivery_is_not_resent(administrator, requester):
    _mail(requester, "waiting")
    message = _row("waiting")
    client = _signed_in(administrator)
    response = client.post(reverse("notify:delivery-resend", args=[message.pk]), follow=True)
    assert "still pending" in response.content.decode()
    assert OutboxMessage.objects.count() == 1
    assert not AuditEntry.objects.filter(action__startswith="notify.delivery_").exists()


def test_people_resend_their_own_deliveries_but_not_others(
    requester, other_requester, vpn_agent, delivered
):
    _mail(requester, "mine")
    _mail(other_requester, "theirs")
    deliver_due()
    mine, theirs = _row("mine"), _row("theirs")

    response = _signed_in(requester).post(reverse("notify:delivery-resend", args=[mine.pk]))
    assert response.status_code == 302
    assert _row("mine:resend:1").recipient_id == requester.pk

    for person in (requester, vpn_agent):
        response = _signed_in(person).post(reverse("notify:delivery-resend", args=[theirs.pk]))
        assert response.status_code == 404
    assert not OutboxMessage.objects.filter(idempotency_key__startswith="theirs:").exists()


def test_resend_needs_the_csrf_token(administrator, requester, delivered):
    _mail(requester, "told")
    deliver_due()
    client = Client(enforce_csrf_checks=True)
    client.force_login(administrator)
    response = client.post(reverse("notify:delivery-resend", args=[_row("told").pk]))
    assert response.status_code == 403
    assert OutboxMessage.objects.count() == 1


def test_a_long_key_is_digested_for_its_resends(administrator, requester, delivered):
    key = "email:" + "x" * 94
    _mail(requester, key)
    deliver_due()
    resent = delivery_log.do_resend(administrator, _row(key))
    assert len(resent.message.idempotency_key) <= 100
    assert resent.message.idempotency_key.endswith(":resend:1")
    again = delivery_log.do_resend(administrator, _row(key))
    assert again.message.idempotency_key.endswith(":resend:2")


def test_the_notifications_page_links_the_delivery_log(requester):
    page = _signed_in(requester).get(reverse("notify:list"))
    assert LIST in page.content.decode()


# --- API -----------------------------------------------------------------------------------------


def test_api_lists_my_deliveries_and_administrators_all(
    as_token, administrator, requester, other_requester, delivered
):
    _mail(requester, "mine")
    _mail(other_requester, "theirs")
    deliver_due()
    mine = as_token(requester).get("/api/v1/deliveries?kind=test.")
    assert mine.status_code == 200, mine.content
    items = json.loads(mine.content)["items"]
    assert [item["target"] for item in items] == [requester.email]
    assert items[0]["status"] == "sent" and items[0]["attempts"] == 1
    assert "payload" not in items[0]

    everyone = json.loads(
        as_token(administrator).get("/api/v1/deliveries?kind=test.&limit=1").content
    )
    assert len(everyone["items"]) == 1 and everyone["next_cursor"]
    rest = as_token(administrator).get(
        f"/api/v1/deliveries?kind=test.&limit=1&cursor={everyone['next_cursor']}"
    )
    assert [i["target"] for i in json.loads(rest.content)["items"]] == [requester.email]

    failed = json.loads(
        as_token(administrator).get("/api/v1/deliveries?kind=test.&status=failed").content
    )
    assert failed["items"] == []


def test_api_detail_shows_attempts_and_safe_details(as_token, requester, delivered):
    _mail(requester, "mine")
    deliver_due()
    message = _row("mine")
    body = json.loads(as_token(requester).get(f"/api/v1/deliveries/{message.pk}").content)
    assert body["idempotency_key"] == "mine"
    assert [d["label"] for d in body["details"]] == ["To", "Subject"]
    assert [t["succeeded"] for t in body["tries"]] == [True]
    assert SECRET_TEXT not in json.dumps(body)


def test_api_errors_are_problem_details(as_token, requester, other_requester, administrator):
    _mail(other_requester, "theirs")
    theirs = _row("theirs")
    assert_problem(as_token(requester).get(f"/api/v1/deliveries/{theirs.pk}"), 404)
    assert_problem(as_token(requester).post(f"/api/v1/deliveries/{theirs.pk}/resend"), 404)
    assert_problem(as_token(administrator).post(f"/api/v1/deliveries/{theirs.pk}/resend"), 409)
    assert_problem(as_token(administrator).get("/api/v1/deliveries?cursor=nonsense"), 422)
    assert_problem(as_token(administrator).get("/api/v1/deliveries?status=lost"), 422)
    assert_problem(as_token(requester, "read").post(f"/api/v1/deliveries/{theirs.pk}/resend"), 403)


def test_api_resend(as_token, administrator, requester, delivered):
    _mail(requester, "told")
    deliver_due()
    response = as_token(administrator).post(f"/api/v1/deliveries/{_row('told').pk}/resend")
    assert response.status_code == 200, response.content
    body = json.loads(response.content)
    assert body["requeued"] is False
    assert body["delivery"]["idempotency_key"] == "told:resend:1"
    assert body["delivery"]["status"] == "pending"
