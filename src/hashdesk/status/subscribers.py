"""Anonymous email subscribers of the status page (docs/status.md, "Subscribing by email").

A visitor asks for status mails with an address and, optionally, the public services to follow
(none: every public service). Nothing is sent to an address before its owner confirms it (double
opt-in): :func:`do_request_subscription` mails a signed link that expires after
:data:`CONFIRM_MAX_AGE`, and only :func:`do_confirm_subscription` — reached from that mailbox —
activates the subscription or changes its services. Every status mail carries a signed
unsubscribe link that works for as long as the subscription exists, also as RFC 8058 one-click.

The receiver at the bottom mails every active subscriber of the announced services when a
service-wide announcement is public (hashdesk.notify.announcements).

Addresses are personal data: the audit trail, which is append-only and hash-chained, stores a
keyed hash of the address (:func:`address_digest`), never the address, so erasing the subscriber
row erases the address everywhere.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac

from hashdesk.audit import trail
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.core import ratelimit
from hashdesk.core.errors import ValidationFailed
from hashdesk.core.logging import get_logger
from hashdesk.core.outbox import Delivery, enqueue_many
from hashdesk.core.visibility import visible_to
from hashdesk.notify.announcements import Announcement, announcement_receiver
from hashdesk.notify.email import status_email, thread_named
from hashdesk.status.models import StatusSubscriber

log = get_logger(__name__)

# A confirmation link works this long; afterwards the visitor asks again.
CONFIRM_MAX_AGE = timedelta(days=7)
EMAIL_MAX_LENGTH = 254
# Rate-limit buckets (settings.RATE_LIMITS): per client address and per mailbox.
RATE_BUCKET_IP = "status_subscribe_ip"
RATE_BUCKET_ADDRESS = "status_subscribe_address"
# Signing salts: a token of one kind never passes for the other.
_CONFIRM_SALT = "hashdesk.status.subscribe.confirm"
_UNSUBSCRIBE_SALT = "hashdesk.status.subscribe.unsubscribe"
_DIGEST_SALT = "hashdesk.status.subscriber.address"
# Where the mails point: the public status page (mounted at /status/ in hashdesk/urls.py).
STATUS_PAGE_PATH = "/status/"
# In the rendered announcement mail, replaced by each subscriber's own unsubscribe link.
_UNSUBSCRIBE_PLACEHOLDER = "hashdesk-unsubscribe-link-placeholder"

_validate_email = EmailValidator(message="Enter a valid email address, like name@example.com.")


class InvalidToken(Exception):
    """A confirm or unsubscribe link that was altered, is for another purpose, has expired, or
    names a subscription that no longer exists. ``expired`` tells the visitor which."""

    def __init__(self, *, expired: bool = False) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


@dataclass(frozen=True)
class PendingConfirmation:
    """What a valid confirm link asks for: the subscriber, and the services to follow (empty:
    every public service), still public and active now."""

    subscriber: StatusSubscriber
    services: list[Service]


# --- Addresses and tokens -----------------------------------------------------------------------


def normalise_address(raw: str) -> str:
    """The address as stored: trimmed and lower-cased (one subscription per mailbox), or
    ValidationFailed with a message a visitor understands."""
    address = (raw or "").strip().lower()
    if not address:
        raise ValidationFailed("Enter your email address.", field="email")
    if len(address) > EMAIL_MAX_LENGTH:
        raise ValidationFailed(
            f"An email address has at most {EMAIL_MAX_LENGTH} characters.", field="email"
        )
    try:
        _validate_email(address)
    except ValidationError as error:
        raise ValidationFailed(str(error.messages[0]), field="email") from None
    return address


def address_digest(address: str) -> str:
    """A keyed hash of ``address`` for the audit trail: whoever knows an address and holds the
    site's secret key can find its entries; the trail alone reveals no address."""
    return salted_hmac(_DIGEST_SALT, address.strip().lower(), algorithm="sha256").hexdigest()[:32]


def confirm_token(subscriber: StatusSubscriber, service_ids: Sequence[int]) -> str:
    """A signed link token carrying the services asked for; :func:`read_confirm_token` refuses
    it after :data:`CONFIRM_MAX_AGE`."""
    return signing.dumps(
        {"s": subscriber.pk, "a": address_digest(subscriber.email)[:12], "v": sorted(service_ids)},
        salt=_CONFIRM_SALT,
        compress=True,
    )


def unsubscribe_token(subscriber_id: int) -> str:
    """A signed token that never expires: unsubscribe links in old mails must keep working."""
    return signing.Signer(salt=_UNSUBSCRIBE_SALT).sign(str(subscriber_id))


def absolute(path: str) -> str:
    return f"{settings.PUBLIC_URL}{path}"


def confirm_url(token: str) -> str:
    return absolute(reverse("status:subscribe-confirm", args=[token]))


def unsubscribe_url(subscriber_id: int) -> str:
    return _unsubscribe_links()(subscriber_id)


def _unsubscribe_links() -> Callable[[int], str]:
    """A function from subscriber id to unsubscribe link that resolves the URL and derives the
    signing key once: an announcement builds one link per subscriber, thousands at a time."""
    signer = signing.Signer(salt=_UNSUBSCRIBE_SALT)
    marker = "0"
    template = absolute(reverse("status:subscribe-unsubscribe", args=[marker]))
    prefix, suffix = template.rsplit(f"/{marker}/", 1)

    def link(subscriber_id: int) -> str:
        return f"{prefix}/{signer.sign(str(subscriber_id))}/{suffix}"

    return link


def read_confirm_token(token: str) -> PendingConfirmation:
    """The confirmation ``token`` asks for, or InvalidToken (nothing is changed by reading)."""
    try:
        data = signing.loads(token, salt=_CONFIRM_SALT, max_age=CONFIRM_MAX_AGE)
    except signing.SignatureExpired:
        raise InvalidToken(expired=True) from None
    except signing.BadSignature:
        raise InvalidToken() from None
    try:
        subscriber_id = int(data["s"])
        digest = str(data["a"])
        service_ids = [int(pk) for pk in data["v"]]
    except (KeyError, TypeError, ValueError):
        raise InvalidToken() from None
    subscriber = StatusSubscriber.objects.filter(pk=subscriber_id).first()
    # The row must still be the same mailbox's (a row deleted and its id reused is not).
    if subscriber is None or address_digest(subscriber.email)[:12] != digest:
        raise InvalidToken()
    # Services that stopped being public since the request are left out, never followed.
    services = list(public_services().filter(pk__in=service_ids)) if service_ids else []
    if service_ids and not services:
        raise InvalidToken()
    return PendingConfirmation(subscriber=subscriber, services=services)


def read_unsubscribe_token(token: str) -> StatusSubscriber:
    try:
        subscriber_id = int(signing.Signer(salt=_UNSUBSCRIBE_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        raise InvalidToken() from None
    subscriber = StatusSubscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        raise InvalidToken()
    return subscriber


# --- Services -----------------------------------------------------------------------------------


def public_services() -> Any:
    """The services an anonymous visitor may follow: active and visible to anonymous viewers
    (asked of hashdesk.core.visibility, like every other list)."""
    return visible_to(None, Service.objects.filter(is_active=True)).order_by("name", "pk")


def _chosen_services(service_ids: Iterable[Any]) -> list[Service]:
    """The chosen services, or ValidationFailed naming none: an unknown service and one the
    visitor may not see get the same answer, so the form reveals nothing about either."""
    try:
        wanted = sorted({int(pk) for pk in service_ids})
    except (TypeError, ValueError):
        raise ValidationFailed("Choose services from the list.", field="services") from None
    if not wanted:
        return []
    services = list(public_services().filter(pk__in=wanted))
    if len(services) != len(wanted):
        raise ValidationFailed(
            "Choose services from the list; one of those chosen cannot be followed.",
            field="services",
        )
    return services


# --- Actions ------------------------------------------------------------------------------------


def do_request_subscription(email: str, service_ids: Iterable[Any], *, ip: str) -> None:
    """Ask for status mails: one confirmation mail to ``email``, whatever its state.

    The answer is the same whether the address is new, waiting for confirmation, subscribed or
    unsubscribed, so nobody learns who follows the status page. An address already subscribed
    keeps its services until its owner confirms the new choice from the mailbox. Rate limits
    (per client address, then per mailbox) are counted before the write transaction, so a
    refused request still counts.
    """
    ratelimit.hit(RATE_BUCKET_IP, ip or "unknown")
    address = normalise_address(email)
    services = _chosen_services(service_ids)
    ratelimit.hit(RATE_BUCKET_ADDRESS, address)
    _write_request(address, [service.pk for service in services])


@transaction.atomic
def _write_request(address: str, service_ids: list[int]) -> None:
    now = timezone.now()
    subscriber, created = StatusSubscriber.objects.get_or_create(email=address)
    subscriber.confirmation_sent_at = now
    subscriber.save(update_fields=["confirmation_sent_at"])
    token = confirm_token(subscriber, service_ids)
    names = list(
        Service.objects.filter(pk__in=service_ids).order_by("name").values_list("name", flat=True)
    )
    context = {
        "confirm_url": confirm_url(token),
        "services": names,
        "days": CONFIRM_MAX_AGE.days,
        "status_url": absolute(STATUS_PAGE_PATH),
    }
    enqueue_many(
        [
            _status_email(
                address,
                subject="Confirm your Hashdesk status updates",
                text=render_to_string("status/subscribe_mail_confirm.txt", context),
                html=render_to_string("status/subscribe_mail_confirm.html", context),
                key=f"status-confirm:{subscriber.pk}:{now.timestamp():.6f}",
                unsubscribe=unsubscribe_url(subscriber.pk),
                kind="status.subscription_confirm",
            )
        ]
    )
    trail.record(
        actor=None,
        action="status.subscription_requested",
        object_type=StatusSubscriber._meta.label_lower,
        object_id=subscriber.pk,
        after={
            "address_digest": address_digest(address),
            "new": created,
            "service_ids": service_ids,
        },
    )
    log.info("status subscription requested", subscriber_id=subscriber.pk, new=created)


@transaction.atomic
def do_confirm_subscription(token: str) -> StatusSubscriber:
    """Activate the subscription the confirm ``token`` asks for, with its services (again:
    confirming twice changes nothing more). InvalidToken when the link does not hold."""
    pending = read_confirm_token(token)
    subscriber = StatusSubscriber.objects.select_for_update().get(pk=pending.subscriber.pk)
    before = _snapshot(subscriber)
    now = timezone.now()
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = now
    subscriber.unsubscribed_at = None
    subscriber.save(update_fields=["confirmed_at", "unsubscribed_at"])
    subscriber.services.set(pending.services)
    trail.record(
        actor=None,
        action="status.subscription_confirmed",
        object_type=StatusSubscriber._meta.label_lower,
        object_id=subscriber.pk,
        before=before,
        after=_snapshot(subscriber),
    )
    log.info("status subscription confirmed", subscriber_id=subscriber.pk)
    return subscriber


@transaction.atomic
def do_unsubscribe(token: str) -> StatusSubscriber:
    """Stop every status mail to the subscriber the unsubscribe ``token`` names (repeating it
    changes nothing). InvalidToken when the link does not hold."""
    subscriber = StatusSubscriber.objects.select_for_update().get(
        pk=read_unsubscribe_token(token).pk
    )
    if subscriber.unsubscribed_at is not None:
        return subscriber
    before = _snapshot(subscriber)
    subscriber.unsubscribed_at = timezone.now()
    subscriber.save(update_fields=["unsubscribed_at"])
    trail.record(
        actor=None,
        action="status.subscription_cancelled",
        object_type=StatusSubscriber._meta.label_lower,
        object_id=subscriber.pk,
        before=before,
        after=_snapshot(subscriber),
    )
    log.info("status subscription cancelled", subscriber_id=subscriber.pk)
    return subscriber


def _snapshot(subscriber: StatusSubscriber) -> dict[str, Any]:
    return {
        "address_digest": address_digest(subscriber.email),
        "confirmed_at": subscriber.confirmed_at,
        "unsubscribed_at": subscriber.unsubscribed_at,
        "service_ids": sorted(subscriber.services.values_list("pk", flat=True)),
    }


# --- Mails --------------------------------------------------------------------------------------


def _status_email(
    address: str,
    *,
    subject: str,
    text: str,
    html: str,
    key: str,
    unsubscribe: str,
    kind: str,
    thread: str | None = None,
) -> Delivery:
    return status_email(
        address,
        subject,
        text,
        html,
        key=key,
        unsubscribe_url=unsubscribe,
        # A thread name the mail work does not know is left out rather than failing the
        # announcing transaction.
        thread=thread if thread and thread_named(thread) else None,
        kind=kind,
    )


def announcement_key(announcement_key: str, subscriber_id: int) -> str:
    """The outbox idempotency key of one subscriber's mail of one announcement (at most 100
    characters: a long announcement key is hashed)."""
    key = f"status:{announcement_key}:s{subscriber_id}"
    if len(key) <= 100:
        return key
    digest = hashlib.sha256(announcement_key.encode()).hexdigest()[:40]
    return f"status:h{digest}:s{subscriber_id}"


def recipients_of(service_ids: Iterable[int]) -> Any:
    """(id, email) of every active subscriber who follows one of ``service_ids`` or follows
    every public service; one query when evaluated."""
    through = StatusSubscriber.services.through
    follows_one = through.objects.filter(service_id__in=list(service_ids)).values(
        "statussubscriber_id"
    )
    follows_some = through.objects.values("statussubscriber_id")
    return (
        StatusSubscriber.objects.filter(confirmed_at__isnull=False, unsubscribed_at__isnull=True)
        .filter(Q(pk__in=follows_one) | ~Q(pk__in=follows_some))
        .order_by("pk")
        .values_list("pk", "email")
    )


@announcement_receiver
def _mail_announcement(announcement: Announcement) -> None:
    mail_status_subscribers(announcement)


def mail_status_subscribers(announcement: Announcement) -> int:
    """Mail a PUBLIC announcement to every active subscriber of its services; returns how many
    mails were offered to the outbox. A constant number of queries however many subscribers:
    one read, then the outbox's bulk insert; the mail is rendered once and only the
    unsubscribe link differs per subscriber.

    Nothing goes out while the status page is for signed-in people only
    (``STATUS_PAGE_PUBLIC``): subscribers are the public, and the organisation chose not to
    publish. Their subscriptions stay and resume when the page is public again.
    """
    if announcement.audience != Visibility.PUBLIC or not settings.STATUS_PAGE_PUBLIC:
        return 0
    if not announcement.service_ids:
        return 0
    recipients = list(recipients_of(announcement.service_ids))
    if not recipients:
        return 0
    context = {
        "announcement": announcement,
        "status_url": absolute(STATUS_PAGE_PATH),
        "unsubscribe_url": _UNSUBSCRIBE_PLACEHOLDER,
    }
    text = render_to_string("status/subscribe_mail_announcement.txt", context)
    html = render_to_string("status/subscribe_mail_announcement.html", context)
    deliveries = []
    links = _unsubscribe_links()
    for subscriber_id, address in recipients:
        link = links(subscriber_id)
        deliveries.append(
            _status_email(
                address,
                subject=announcement.title,
                text=text.replace(_UNSUBSCRIBE_PLACEHOLDER, link),
                html=html.replace(_UNSUBSCRIBE_PLACEHOLDER, link),
                key=announcement_key(announcement.key, subscriber_id),
                unsubscribe=link,
                kind=announcement.kind,
                thread=announcement.thread or None,
            )
        )
    offered = enqueue_many(deliveries)
    log.info(
        "status subscribers mailed",
        announcement=announcement.key,
        kind=announcement.kind,
        mails=offered,
    )
    return offered
