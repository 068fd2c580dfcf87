"""My webhooks over the API: list, read, create, change, delete, rotate the secret, send a test
and enable again. The secret is returned on create and rotate only; the URL is returned to its
owner (who typed it), and to administrators only as scheme and host."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status
from pydantic import Field

from hashdesk.api.auth import acting_user
from hashdesk.api.pagination import Keyset, PageParams, paginate
from hashdesk.api.schemas import (
    READ_ERRORS,
    WRITE_ERRORS,
    Input,
    ObjectId,
    Output,
    optional,
    with_errors,
)
from hashdesk.core import http
from hashdesk.core.errors import NotFound
from hashdesk.core.visibility import visible_to
from hashdesk.notify import webhooks
from hashdesk.notify.models import WebhookEndpoint

router = Router(tags=["webhooks"])

WEBHOOK_ORDER = Keyset(("name", "id"))
CategoryName = Literal[
    "major", "incidents", "changes", "problems", "mentions", "chat", "knowledge", "account"
]


class WebhookOut(Output):
    id: int
    owner_id: int
    name: str
    url: str | None = Field(description="The full URL; only its owner sees it.")
    destination: str = Field(description="Scheme, host and port: safe to show and log.")
    categories: list[str] = Field(description="Categories it receives; empty means all.")
    is_active: bool
    consecutive_failures: int
    disabled_at: datetime | None
    disabled_reason: str
    last_success_at: datetime | None
    last_failure_at: datetime | None
    created_at: datetime


class WebhookPage(Output):
    items: list[WebhookOut]
    next_cursor: str | None


class WebhookCreate(Input):
    name: str = Field(min_length=1, max_length=100)
    url: str = Field(min_length=1, max_length=webhooks.MAX_URL_LENGTH)
    categories: list[CategoryName] = Field(default_factory=list, max_length=20)


class WebhookUpdate(Input):
    name: str = optional(min_length=1, max_length=100)
    url: str = optional(min_length=1, max_length=webhooks.MAX_URL_LENGTH)
    categories: list[CategoryName] = optional(max_length=20)


class WebhookWithSecret(Output):
    webhook: WebhookOut
    secret: str = Field(description="The HMAC-SHA256 signing secret. Shown only this once.")


class TestQueued(Output):
    delivery: str = Field(description="The Hashdesk-Delivery header the receiver will get.")


def _out(endpoint: WebhookEndpoint, viewer_id: int) -> dict[str, Any]:
    mine = endpoint.owner_id == viewer_id
    return {
        "id": endpoint.pk,
        "owner_id": endpoint.owner_id,
        "name": endpoint.name,
        "url": endpoint.url if mine else None,
        "destination": http.describe_destination(endpoint.url),
        "categories": list(endpoint.categories),
        "is_active": endpoint.is_active,
        "consecutive_failures": endpoint.consecutive_failures,
        "disabled_at": endpoint.disabled_at,
        "disabled_reason": endpoint.disabled_reason,
        "last_success_at": endpoint.last_success_at,
        "last_failure_at": endpoint.last_failure_at,
        "created_at": endpoint.created_at,
    }


def _visible(request: HttpRequest, endpoint_id: int) -> WebhookEndpoint:
    endpoint = (
        visible_to(acting_user(request), WebhookEndpoint.objects.all())
        .filter(pk=endpoint_id)
        .first()
    )
    if endpoint is None:
        raise NotFound("No such webhook.")
    return endpoint


@router.get("webhooks", response=with_errors({200: WebhookPage}, READ_ERRORS))
def list_webhooks(
    request: HttpRequest, response: HttpResponse, page: Query[PageParams]
) -> dict[str, Any]:
    """My webhooks by name (administrators: everyone's)."""
    user = acting_user(request)
    result = paginate(
        request, response, visible_to(user, WebhookEndpoint.objects.all()), WEBHOOK_ORDER, page
    )
    result["items"] = [_out(endpoint, user.pk) for endpoint in result["items"]]
    return result


@router.post("webhooks", response=with_errors({201: WebhookWithSecret}, WRITE_ERRORS))
def create_webhook(request: HttpRequest, payload: WebhookCreate) -> Status[dict[str, Any]]:
    """Add a webhook. The URL is checked now: a bad URL or an internal network is a 422 whose
    ``errors`` name the ``url`` field. The secret is in this answer and nowhere else."""
    user = acting_user(request)
    endpoint, secret = webhooks.do_create_webhook(
        user, payload.name, payload.url, list(payload.categories)
    )
    return Status(201, {"webhook": _out(endpoint, user.pk), "secret": secret})


@router.get("webhooks/{int:webhook_id}", response=with_errors({200: WebhookOut}, READ_ERRORS))
def get_webhook(request: HttpRequest, webhook_id: ObjectId) -> dict[str, Any]:
    """One webhook with its delivery health."""
    return _out(_visible(request, webhook_id), acting_user(request).pk)


@router.patch("webhooks/{int:webhook_id}", response=with_errors({200: WebhookOut}, WRITE_ERRORS))
def update_webhook(
    request: HttpRequest, webhook_id: ObjectId, payload: WebhookUpdate
) -> dict[str, Any]:
    """Rename a webhook, point it elsewhere or change its categories."""
    user = acting_user(request)
    changes = payload.model_dump(exclude_unset=True)
    endpoint = webhooks.do_update_webhook(user, webhook_id, **changes)
    return _out(endpoint, user.pk)


@router.delete("webhooks/{int:webhook_id}", response=with_errors({204: None}, WRITE_ERRORS))
def delete_webhook(request: HttpRequest, webhook_id: ObjectId) -> Status[None]:
    """Delete a webhook; deliveries still waiting fail."""
    webhooks.do_delete_webhook(acting_user(request), webhook_id)
    return Status(204, None)


@router.post(
    "webhooks/{int:webhook_id}/secret",
    response=with_errors({200: WebhookWithSecret}, WRITE_ERRORS),
)
def rotate_webhook_secret(request: HttpRequest, webhook_id: ObjectId) -> dict[str, Any]:
    """Replace the signing secret; the new one is in this answer only."""
    user = acting_user(request)
    endpoint, secret = webhooks.do_rotate_secret(user, webhook_id)
    return {"webhook": _out(endpoint, user.pk), "secret": secret}


@router.post(
    "webhooks/{int:webhook_id}/test", response=with_errors({202: TestQueued}, WRITE_ERRORS)
)
def test_webhook(request: HttpRequest, webhook_id: ObjectId) -> Status[dict[str, str]]:
    """Queue a ``webhook.test`` delivery; its result shows in the webhook's health."""
    key = webhooks.do_send_test_delivery(acting_user(request), webhook_id)
    return Status(202, {"delivery": key})


@router.post(
    "webhooks/{int:webhook_id}/enable", response=with_errors({200: WebhookOut}, WRITE_ERRORS)
)
def enable_webhook(request: HttpRequest, webhook_id: ObjectId) -> dict[str, Any]:
    """Turn a disabled webhook on again, with a fresh failure count."""
    user = acting_user(request)
    return _out(webhooks.do_enable_webhook(user, webhook_id), user.pk)
