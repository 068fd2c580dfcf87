"""The delivery log over the API: deliveries I may see, one with its attempts, and resending.

Administrators see every delivery; everyone else the deliveries addressed to them
(notify.delivery_log). Payloads are never returned, only each channel's safe details.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from pydantic import Field

from hashdesk.api.auth import acting_user
from hashdesk.api.pagination import Keyset, PageParams, paginate
from hashdesk.api.schemas import READ_ERRORS, WRITE_ERRORS, Output, with_errors
from hashdesk.core.models import DeliveryAttempt, OutboxMessage
from hashdesk.notify import delivery_log

router = Router(tags=["deliveries"])

DELIVERY_ORDER = Keyset(("-id",))


class DeliveryDetailOut(Output):
    label: str
    value: str


class DeliveryOut(Output):
    id: int
    channel: str
    recipient_id: int | None
    recipient: str = Field(description="The person's name, or the target for no account.")
    target: str
    summary: str
    kind: str
    status: Literal["pending", "retrying", "sent", "failed"]
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When pending or retrying.")
    last_error: str


class AttemptOut(Output):
    attempted_at: datetime
    succeeded: bool
    error: str
    duration_ms: int


class DeliveryFullOut(DeliveryOut):
    idempotency_key: str
    details: list[DeliveryDetailOut] = Field(description="What each channel may show.")
    tries: list[AttemptOut]


class DeliveryPage(Output):
    items: list[DeliveryOut]
    next_cursor: str | None


class ResendOut(Output):
    requeued: bool = Field(description="true: the failed delivery itself is tried again.")
    delivery: DeliveryFullOut = Field(description="The delivery now queued (a copy if sent).")


class DeliveryFilters(PageParams):
    status: Literal["pending", "retrying", "sent", "failed"] | None = None
    channel: str | None = Field(None, max_length=50)
    q: str | None = Field(
        None, max_length=delivery_log.SEARCH_MAX, description="Recipient or target."
    )
    kind: str | None = Field(None, max_length=60, description="Kinds starting with this.")


def _summary(message: OutboxMessage) -> dict[str, Any]:
    return {
        "id": message.pk,
        "channel": message.channel,
        "recipient_id": message.recipient_id,
        "recipient": delivery_log.recipient_label(message),
        "target": message.target,
        "summary": message.summary,
        "kind": message.kind,
        "status": delivery_log.state_of(message),
        "attempts": message.attempts,
        "created_at": message.created_at,
        "sent_at": message.sent_at,
        "next_attempt_at": delivery_log.next_attempt(message),
        "last_error": message.last_error,
    }


def _full(message: OutboxMessage) -> dict[str, Any]:
    attempts: list[DeliveryAttempt] = delivery_log.attempts_of(message)
    return {
        **_summary(message),
        "idempotency_key": message.idempotency_key,
        "details": [
            {"label": label, "value": value} for label, value in delivery_log.safe_details(message)
        ],
        "tries": [
            {
                "attempted_at": attempt.attempted_at,
                "succeeded": attempt.succeeded,
                "error": attempt.error,
                "duration_ms": attempt.duration_ms,
            }
            for attempt in attempts
        ],
    }


@router.get("deliveries", response=with_errors({200: DeliveryPage}, READ_ERRORS))
def list_deliveries(
    request: HttpRequest, response: HttpResponse, filters: Query[DeliveryFilters]
) -> dict[str, Any]:
    """Deliveries I may see, newest first: all of them for administrators, mine otherwise."""
    user = acting_user(request)
    chosen = delivery_log.clean_filters(
        status=filters.status, channel=filters.channel, search=filters.q, kind=filters.kind
    )
    rows = delivery_log.apply_filters(delivery_log.deliveries_for(user), chosen)
    page = paginate(request, response, rows, DELIVERY_ORDER, filters)
    return {"items": [_summary(m) for m in page["items"]], "next_cursor": page["next_cursor"]}


@router.get("deliveries/{delivery_id}", response=with_errors({200: DeliveryFullOut}, READ_ERRORS))
def get_delivery(request: HttpRequest, delivery_id: int) -> dict[str, Any]:
    """One delivery with every attempt."""
    return _full(delivery_log.message_for(acting_user(request), delivery_id))


@router.post(
    "deliveries/{delivery_id}/resend", response=with_errors({200: ResendOut}, WRITE_ERRORS)
)
def resend_delivery(request: HttpRequest, delivery_id: int) -> dict[str, Any]:
    """Try a failed delivery again, or send a sent one once more as a marked copy
    (idempotency key ``<key>:resend:<n>``); a pending one is a 409."""
    user = acting_user(request)
    resent = delivery_log.do_resend(user, delivery_log.message_for(user, delivery_id))
    return {"requeued": resent.requeued, "delivery": _full(resent.message)}
