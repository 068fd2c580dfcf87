"""Outgoing webhooks: a person's notifications sent as signed JSON to a URL of their choice.

The body of each delivery is built when the notification is enqueued (in the transaction that
creates it) and stored in the outbox row, so a retry or a resend sends exactly the same bytes.
The deliverer signs it at send time::

    Hashdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

and the receiver checks it with :func:`verify_signature` (or the few lines of hmac in
docs/notifications.md). ``Hashdesk-Delivery`` carries the idempotency key: it is the same on
every retry and resend, so receivers deduplicate on it.

A webhook that fails ``settings.NOTIFY_DISABLE_AFTER_FAILURES`` times in a row is turned off
and its owner told, once; :func:`do_enable_webhook` turns it back on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.core import http
from hashdesk.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hashdesk.core.logging import get_logger
from hashdesk.core.outbox import Delivery, PermanentDeliveryError, delivery_handler, enqueue_many
from hashdesk.core.validation import require_text
from hashdesk.core.visibility import can_view
from hashdesk.notify.choices import Category, category_of
from hashdesk.notify.models import Notification, WebhookEndpoint

log = get_logger(__name__)

CHANNEL = "webhook"
SIGNATURE_HEADER = "Hashdesk-Signature"
EVENT_HEADER = "Hashdesk-Event"
DELIVERY_HEADER = "Hashdesk-Delivery"
USER_AGENT = "Hashdesk-Webhooks/1"
TEST_KIND = "webhook.test"
DISABLED_KIND = "webhook.disabled"
# A signature older (or further in the future) than this is refused by verify_signature.
SIGNATURE_TOLERANCE_SECONDS = 300
MAX_URL_LENGTH = 500


# --- Signatures ---------------------------------------------------------------------------------


def generate_secret() -> str:
    return secrets.token_urlsafe(32)


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """The ``Hashdesk-Signature`` value for ``body`` signed at ``timestamp`` (now)."""
    moment = int(time.time()) if timestamp is None else timestamp
    return f"t={moment},v1={_digest(secret, moment, body)}"


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether ``header`` (a ``Hashdesk-Signature`` value) signs ``body`` with ``secret``.

    Refuses timestamps more than ``tolerance`` seconds from ``now`` (a replayed old request)
    and compares in constant time. Several ``v1=`` entries are accepted, any one matching.
    """
    timestamp: int | None = None
    candidates: list[str] = []
    for part in (header or "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    moment = time.time() if now is None else now
    if abs(moment - timestamp) > tolerance:
        return False
    expected = _digest(secret, timestamp, body)
    matches = [hmac.compare_digest(expected, candidate) for candidate in candidates]
    return any(matches)


# --- Configuration ------------------------------------------------------------------------------


def webhook_summary(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What the audit trail and the API show of a webhook: never its secret, and its URL only
    as scheme and host (a path may carry the receiver's own token)."""
    return {
        "id": endpoint.pk,
        "name": endpoint.name,
        "destination": http.describe_destination(endpoint.url),
        "categories": list(endpoint.categories),
        "is_active": endpoint.is_active,
    }


def _clean_url(url: str) -> str:
    text = (url or "").strip()
    if len(text) > MAX_URL_LENGTH:
        raise ValidationFailed(
            f"A webhook URL has at most {MAX_URL_LENGTH} characters.", field="url"
        )
    try:
        http.check_destination(text)
    except http.OutboundRefused as error:
        raise ValidationFailed(str(error), field="url") from error
    return text


def _clean_categories(categories: Iterable[str] | None) -> list[str]:
    chosen = list(dict.fromkeys(categories or []))
    unknown = [value for value in chosen if value not in Category.values]
    if unknown:
        raise ValidationFailed(
            f"Unknown categories: {', '.join(map(str, unknown))}. "
            f"Choose from {', '.join(Category.values)}.",
            field="categories",
        )
    return [value for value in Category.values if value in chosen]


def _clean_name(owner: User, name: str, *, exclude: int | None = None) -> str:
    label = require_text(name, field="name", max_length=100)
    taken = WebhookEndpoint.objects.filter(owner=owner, name__iexact=label)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise Conflict(f"You already have a webhook named {label}.", field="name")
    return label


def _owned(actor: User, endpoint_id: int) -> WebhookEndpoint:
    """The webhook, locked, if ``actor`` owns it. Administrators may see other people's
    webhooks but not change them: the secret and the URL are the owner's."""
    endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
    if endpoint is None or not can_view(actor, endpoint):
        raise NotFound("No such webhook.")
    if endpoint.owner_id != actor.pk:
        raise Forbidden("Only the person who owns a webhook can change it.")
    return endpoint


@transaction.atomic
def do_create_webhook(
    owner: User, name: str, url: str, categories: Iterable[str] | None = None
) -> tuple[WebhookEndpoint, str]:
    """Create a webhook for ``owner``; returns it and its signing secret, which is shown once.

    The URL is checked now (scheme, host, and every address it resolves to), so a typo or an
    internal address is refused here rather than failing at every delivery.
    """
    label = _clean_name(owner, name)
    target = _clean_url(url)
    chosen = _clean_categories(categories)
    secret = generate_secret()
    endpoint = WebhookEndpoint.objects.create(
        owner=owner, name=label, url=target, secret=secret, categories=chosen
    )
    trail.record(
        actor=owner, action="webhook.create", obj=endpoint, after=webhook_summary(endpoint)
    )
    log.info(
        "webhook created", webhook_id=endpoint.pk, destination=http.describe_destination(target)
    )
    return endpoint, secret


_UNCHANGED: Any = object()


@transaction.atomic
def do_update_webhook(
    actor: User,
    endpoint_id: int,
    *,
    name: str = _UNCHANGED,
    url: str = _UNCHANGED,
    categories: Iterable[str] = _UNCHANGED,
) -> WebhookEndpoint:
    """Rename a webhook, point it elsewhere or change its categories (what is passed)."""
    endpoint = _owned(actor, endpoint_id)
    before = webhook_summary(endpoint)
    changed: list[str] = []
    if name is not _UNCHANGED:
        label = _clean_name(actor, name, exclude=endpoint.pk)
        if label != endpoint.name:
            endpoint.name = label
            changed.append("name")
    if url is not _UNCHANGED:
        target = _clean_url(url)
        if target != endpoint.url:
            endpoint.url = target
            changed.append("url")
    if categories is not _UNCHANGED:
        chosen = _clean_categories(categories)
        if chosen != list(endpoint.categories):
            endpoint.categories = chosen
            changed.append("categories")
    if changed:
        endpoint.save(update_fields=changed)
        after = webhook_summary(endpoint)
        if "url" in changed and before["destination"] == after["destination"]:
            after["url_path_changed"] = True
        trail.record(actor=actor, action="webhook.update", obj=endpoint, before=before, after=after)
    return endpoint


@transaction.atomic
def do_delete_webhook(actor: User, endpoint_id: int) -> None:
    """Delete a webhook; its deliveries still waiting in the outbox fail as "deleted"."""
    endpoint = _owned(actor, endpoint_id)
    before = webhook_summary(endpoint)
    trail.record(actor=actor, action="webhook.delete", obj=endpoint, before=before)
    endpoint.delete()


@transaction.atomic
def do_enable_webhook(actor: User, endpoint_id: int) -> WebhookEndpoint:
    """Turn a disabled webhook on again with a fresh failure count."""
    endpoint = _owned(actor, endpoint_id)
    if endpoint.is_active:
        raise Conflict("This webhook is already on.")
    before = webhook_summary(endpoint)
    endpoint.is_active = True
    endpoint.consecutive_failures = 0
    endpoint.disabled_at = None
    endpoint.disabled_reason = ""
    endpoint.save(
        update_fields=["is_active", "consecutive_failures", "disabled_at", "disabled_reason"]
    )
    trail.record(
        actor=actor,
        action="webhook.enable",
        obj=endpoint,
        before=before,
        after=webhook_summary(endpoint),
    )
    return endpoint


@transaction.atomic
def do_rotate_secret(actor: User, endpoint_id: int) -> tuple[WebhookEndpoint, str]:
    """Give a webhook a new signing secret (returned once); the old one stops at once."""
    endpoint = _owned(actor, endpoint_id)
    endpoint.secret = generate_secret()
    endpoint.save(update_fields=["secret"])
    trail.record(actor=actor, action="webhook.rotate_secret", obj=endpoint)
    return endpoint, endpoint.secret


# --- Enqueueing ---------------------------------------------------------------------------------


def _absolute(url: str) -> str:
    if not url or url.startswith(("http://", "https://")):
        return url
    return f"{settings.PUBLIC_URL}/{url.lstrip('/')}"


def _body(
    *,
    key: str,
    kind: str,
    created_at: str,
    notification: dict[str, Any],
    recipient_id: int,
) -> str:
    document = {
        "id": key,
        "type": kind,
        "category": str(category_of(kind)),
        "created_at": created_at,
        "notification": notification,
        "recipient": {"id": recipient_id},
    }
    return json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def receives(endpoint: WebhookEndpoint, notification: Notification) -> bool:
    """Whether ``endpoint`` should get ``notification``: its owner's, switched on, and in one of
    its categories (none chosen means every category)."""
    if not endpoint.is_active or endpoint.owner_id != notification.recipient_id:
        return False
    return not endpoint.categories or category_of(notification.kind) in endpoint.categories


def webhooks_for(recipient_ids: Iterable[int]) -> dict[int, list[WebhookEndpoint]]:
    """The active webhooks of each person, in one query (for the dispatcher)."""
    found: dict[int, list[WebhookEndpoint]] = {}
    for endpoint in WebhookEndpoint.objects.filter(
        owner_id__in=set(recipient_ids), is_active=True
    ).order_by("owner_id", "name", "id"):
        found.setdefault(endpoint.owner_id, []).append(endpoint)
    return found


def notice_webhooks(notification: Notification, endpoints: list[WebhookEndpoint]) -> list[Delivery]:
    """One outbox row (channel ``webhook``) per endpoint for ``notification``.

    Endpoints that are off, another person's, or not subscribed to the notification's category
    are left out. The JSON body is built here, once: retries send the same bytes.
    """
    deliveries = []
    for endpoint in endpoints:
        if not receives(endpoint, notification):
            continue
        key = f"webhook:e{endpoint.pk}:n{notification.pk}"
        body = _body(
            key=key,
            kind=notification.kind,
            created_at=notification.created_at.isoformat(),
            notification={
                "id": notification.pk,
                "title": notification.title,
                "body": notification.body,
                "url": _absolute(notification.url),
            },
            recipient_id=notification.recipient_id,
        )
        deliveries.append(
            Delivery(
                channel=CHANNEL,
                payload={"endpoint_id": endpoint.pk, "kind": notification.kind, "body": body},
                key=key,
                recipient_id=notification.recipient_id,
                target=http.describe_destination(endpoint.url),
                summary=notification.title,
                kind=notification.kind,
            )
        )
    return deliveries


@transaction.atomic
def send_test_delivery(endpoint: WebhookEndpoint) -> str:
    """Enqueue a ``webhook.test`` ping to ``endpoint`` through the outbox; returns its key
    (the ``Hashdesk-Delivery`` header the receiver will see)."""
    if not endpoint.is_active:
        raise Conflict("This webhook is off; enable it before sending a test.")
    key = f"webhook:e{endpoint.pk}:test:{secrets.token_hex(8)}"
    now = timezone.now()
    title = f"Test delivery to the webhook “{endpoint.name}”"
    body = _body(
        key=key,
        kind=TEST_KIND,
        created_at=now.isoformat(),
        notification={
            "id": None,
            "title": title,
            "body": "Hashdesk sent this to check that your receiver gets and verifies webhooks.",
            "url": _absolute(reverse("notify:webhooks")),
        },
        recipient_id=endpoint.owner_id,
    )
    enqueue_many(
        [
            Delivery(
                channel=CHANNEL,
                payload={"endpoint_id": endpoint.pk, "kind": TEST_KIND, "body": body},
                key=key,
                recipient_id=endpoint.owner_id,
                target=http.describe_destination(endpoint.url),
                summary=title,
                kind=TEST_KIND,
            )
        ]
    )
    return key


@transaction.atomic
def do_send_test_delivery(actor: User, endpoint_id: int) -> str:
    return send_test_delivery(_owned(actor, endpoint_id))


# --- Delivering ---------------------------------------------------------------------------------


class WebhookRejected(Exception):
    """The receiver answered, but not with a 2xx status."""


def _succeeded(endpoint: WebhookEndpoint) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=0, last_success_at=timezone.now()
    )


def _failed(endpoint: WebhookEndpoint, reason: str) -> None:
    """Count a failure (atomically: workers in parallel must not lose counts) and turn the
    webhook off when the count reaches the limit — exactly once, whoever gets there."""
    now = timezone.now()
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            consecutive_failures=F("consecutive_failures") + 1, last_failure_at=now
        )
        limit = settings.NOTIFY_DISABLE_AFTER_FAILURES
        if limit <= 0:
            return
        summary = f"Turned off after {limit} failed deliveries in a row; the last: {reason}"
        turned_off = WebhookEndpoint.objects.filter(
            pk=endpoint.pk, is_active=True, consecutive_failures__gte=limit
        ).update(is_active=False, disabled_at=now, disabled_reason=summary[:300])
        if turned_off:
            _tell_owner_disabled(endpoint, summary)


def _tell_owner_disabled(endpoint: WebhookEndpoint, summary: str) -> None:
    from hashdesk.notify.actions import do_notify

    endpoint.refresh_from_db()
    trail.record(
        actor=None, action="webhook.disable", obj=endpoint, after=webhook_summary(endpoint)
    )
    log.warning(
        "webhook disabled",
        webhook_id=endpoint.pk,
        destination=http.describe_destination(endpoint.url),
        failures=endpoint.consecutive_failures,
    )
    do_notify(
        endpoint.owner,
        kind=DISABLED_KIND,
        title=f"Your webhook “{endpoint.name}” was turned off",
        body=f"{summary}. Fix the receiver, then enable the webhook again.",
        url=reverse("notify:webhooks"),
    )


def _headers(endpoint: WebhookEndpoint, body: bytes, kind: str, key: str) -> dict[str, str]:
    return {
        SIGNATURE_HEADER: signature_header(endpoint.secret, body),
        EVENT_HEADER: kind,
        DELIVERY_HEADER: key,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }


@delivery_handler(CHANNEL)
def deliver_webhook(payload: dict[str, Any], idempotency_key: str) -> None:
    """POST the stored body, signed now, to the endpoint. A 2xx answer is success; anything
    else fails the attempt (the outbox retries with back-off). A deleted or switched-off
    webhook, or a URL that now points at a forbidden network, fails at once."""
    endpoint = (
        WebhookEndpoint.objects.select_related("owner").filter(pk=payload["endpoint_id"]).first()
    )
    if endpoint is None:
        raise PermanentDeliveryError(f"webhook #{payload['endpoint_id']} was deleted")
    if not endpoint.is_active:
        raise PermanentDeliveryError(f"webhook {endpoint.name} is disabled")
    body = str(payload["body"]).encode()
    kind = str(payload.get("kind") or "")
    headers = _headers(endpoint, body, kind, idempotency_key)
    destination = http.describe_destination(endpoint.url)
    try:
        response = http.post_json(endpoint.url, body, headers)
    except http.HostNotFound as error:
        _failed(endpoint, str(error))
        raise
    except http.OutboundRefused as error:
        _failed(endpoint, str(error))
        raise PermanentDeliveryError(f"{destination} refused: {error}") from error
    except http.OutboundFailed as error:
        _failed(endpoint, str(error))
        raise
    if not response.ok:
        reason = f"{destination} answered {response.status}"
        if response.short_body():
            reason += f": {response.short_body()}"
        _failed(endpoint, reason)
        raise WebhookRejected(reason)
    _succeeded(endpoint)
    log.info(
        "webhook delivered",
        webhook_id=endpoint.pk,
        destination=destination,
        status=response.status,
        delivery=idempotency_key,
    )
