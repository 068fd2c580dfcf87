"""Every change to incoming webhooks, and every message they bring (docs/integrations/slack.md).

Administrators create, rotate, disable, enable and delete hooks; each change writes an audit row
in its transaction. A message is turned into a call of the target's own action — an official
post on the service's wall timeline (wall.actions.publish_change_notice) or a message in the
service's chat room (chat.actions.do_send_message) — so redaction, room rules, events and
notifications are theirs, written once.
"""

from __future__ import annotations

import hashlib
import hmac
import string
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import get_random_string

from hashdesk.accounts import actions as account_actions
from hashdesk.accounts.choices import AccountKind, Role
from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.catalog.models import Service
from hashdesk.chat import actions as chat_actions
from hashdesk.chat.models import BODY_MAX as CHAT_BODY_MAX
from hashdesk.core import ratelimit
from hashdesk.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    RateLimited,
    ValidationFailed,
)
from hashdesk.core.validation import require_text
from hashdesk.core.visibility import is_administrator
from hashdesk.integrations.slack.choices import HookTarget
from hashdesk.integrations.slack.models import NAME_MAX, PUBLIC_ID_LENGTH, IncomingWebhook
from hashdesk.integrations.slack.payload import HookRefused, SlackMessage
from hashdesk.wall import actions as wall_actions
from hashdesk.wall.models import BODY_MAX as WALL_BODY_MAX

SECRET_LENGTH = 32  # 62 ** 32: about 190 bits
BOT_EMAIL = "slack-hook-{public_id}@hooks.invalid"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> str:
    return get_random_string(SECRET_LENGTH)


def hook_url(hook: IncomingWebhook, secret: str) -> str:
    """The address a Slack client posts to; it holds the secret, so it is shown once."""
    path = reverse("slack:receive", args=[hook.public_id, secret])
    return f"{settings.PUBLIC_URL}{path}"


def hook_snapshot(hook: IncomingWebhook) -> dict[str, Any]:
    """What the audit trail records of a hook (never its secret or hash)."""
    return {
        "name": hook.name,
        "public_id": hook.public_id,
        "target": hook.target,
        "service_id": hook.service_id,
        "room_id": hook.room_id,
        "bot_id": hook.bot_id,
        "is_active": hook.is_active,
    }


def _require_admin(actor: User | None) -> User:
    if actor is None or not is_administrator(actor):
        raise Forbidden("Only administrators manage incoming webhooks.")
    return actor


def _clean_name(name: str, *, exclude: int | None = None) -> str:
    clean = require_text(name, field="name", max_length=NAME_MAX)
    taken = IncomingWebhook.objects.filter(name__iexact=clean)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise Conflict(f"A hook named {clean} exists already.", field="name")
    return clean


def _lock(hook: IncomingWebhook) -> IncomingWebhook:
    try:
        return IncomingWebhook.objects.select_for_update().get(pk=hook.pk)
    except IncomingWebhook.DoesNotExist:
        raise NotFound("No such hook.") from None


# --- Administration ---------------------------------------------------------------------------


@transaction.atomic
def do_create_hook(
    actor: User | None, *, name: str, service: Service, target: str
) -> tuple[IncomingWebhook, str]:
    """A new hook and its secret (shown once, in its URL). Its account is made here, through
    the accounts action, named like the hook: an integration's account, so it authors the
    hook's posts under that name but is listed nowhere as a person, cannot sign in and is
    never notified. A room hook's account joins the service's room."""
    admin = _require_admin(actor)
    clean_name = _clean_name(name)
    if target not in HookTarget.values:
        raise ValidationFailed("Choose where the hook posts.", field="target")
    if not service.is_active:
        raise ValidationFailed("This service is retired.", field="service")
    public_id = "B" + get_random_string(
        PUBLIC_ID_LENGTH - 1, string.ascii_uppercase + string.digits
    )
    bot = account_actions.do_create_user(
        admin,
        email=BOT_EMAIL.format(public_id=public_id.lower()),
        display_name=clean_name,
        roles=[Role.REQUESTER],
        kind=AccountKind.INTEGRATION,
    )
    room = None
    if target == HookTarget.ROOM:
        room = chat_actions.service_room(service)
        if room.archived_at is not None:
            raise ValidationFailed("The service's chat room is archived.", field="target")
        chat_actions.add_member(room, bot)
    secret = _new_secret()
    hook = IncomingWebhook.objects.create(
        name=clean_name,
        public_id=public_id,
        secret_hash=_hash(secret),
        target=target,
        service=service,
        room=room,
        bot=bot,
        created_by=admin,
    )
    trail.record(actor=admin, action="slack.hook.create", obj=hook, after=hook_snapshot(hook))
    return hook, secret


@transaction.atomic
def do_rotate_hook_secret(actor: User | None, hook: IncomingWebhook) -> tuple[IncomingWebhook, str]:
    """A new secret; the old URL stops working at once."""
    admin = _require_admin(actor)
    hook = _lock(hook)
    secret = _new_secret()
    hook.secret_hash = _hash(secret)
    hook.rotated_at = timezone.now()
    hook.save(update_fields=["secret_hash", "rotated_at"])
    trail.record(actor=admin, action="slack.hook.rotate", obj=hook, after={"name": hook.name})
    return hook, secret


@transaction.atomic
def do_set_hook_active(
    actor: User | None, hook: IncomingWebhook, *, active: bool
) -> IncomingWebhook:
    """Disable a hook (its URL answers 410 ``channel_is_archived``) or enable it again."""
    admin = _require_admin(actor)
    hook = _lock(hook)
    if hook.is_active == active:
        raise Conflict("This hook is enabled already." if active else "This hook is disabled.")
    hook.is_active = active
    hook.save(update_fields=["is_active"])
    trail.record(
        actor=admin,
        action="slack.hook.enable" if active else "slack.hook.disable",
        obj=hook,
        before={"is_active": not active},
        after={"is_active": active},
    )
    return hook


@transaction.atomic
def do_delete_hook(actor: User | None, hook: IncomingWebhook) -> None:
    """Remove a hook. Its account stays, deactivated, as the author of what the hook posted."""
    admin = _require_admin(actor)
    hook = _lock(hook)
    before = hook_snapshot(hook)
    bot = hook.bot
    trail.record(actor=admin, action="slack.hook.delete", obj=hook, before=before)
    hook.delete()
    account_actions.do_set_active(admin, bot, active=False)


# --- Messages ---------------------------------------------------------------------------------


def authenticate(public_id: str, secret: str) -> IncomingWebhook:
    """The hook the URL names, when its secret matches (compared in constant time)."""
    hook = (
        IncomingWebhook.objects.select_related("service", "bot", "room")
        .filter(public_id=public_id)
        .first()
    )
    if hook is None:
        raise HookRefused(404, "no_service")
    if not hmac.compare_digest(_hash(secret), hook.secret_hash):
        raise HookRefused(403, "invalid_token")
    if not hook.is_active:
        raise HookRefused(410, "channel_is_archived")
    return hook


def _fit(text: str, limit: int) -> str:
    """Slack truncates an over-long message rather than refusing it; so do we."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def do_post_hook_message(hook: IncomingWebhook, message: SlackMessage) -> int:
    """Post ``message`` where ``hook`` points; returns the post's or chat message's id.

    Counted against the hook's rate limit first (before the transaction, as core.ratelimit
    asks). The target's action refuses what it refuses; its domain errors become Slack's codes
    (:class:`HookRefused`) and nothing is stored.
    """
    try:
        ratelimit.hit("slack_hook", hook.public_id)
        with transaction.atomic():
            return _deliver(hook, message)
    except RateLimited as error:
        raise HookRefused(429, "rate_limited", retry_after=error.retry_after) from error
    except DomainError as error:
        raise _refusal(error) from error


def _refusal(error: DomainError) -> HookRefused:
    if isinstance(error, Conflict):
        return HookRefused(410, "channel_is_archived")
    if isinstance(error, NotFound):
        return HookRefused(404, "channel_not_found")
    if isinstance(error, Forbidden):
        return HookRefused(403, "action_prohibited")
    return HookRefused(400, "invalid_payload")


def _deliver(hook: IncomingWebhook, message: SlackMessage) -> int:
    hook = (
        IncomingWebhook.objects.select_for_update(of=("self",))
        .select_related("service", "bot", "room")
        .get(pk=hook.pk)
    )
    if not hook.is_active or not hook.service.is_active:
        raise Conflict("This hook or its service is retired.")
    if hook.target == HookTarget.TIMELINE:
        post = wall_actions.publish_change_notice(
            hook.service,
            hook.bot,
            _fit(message.text, WALL_BODY_MAX),
            audit_action="slack.hook.post",
        )
        posted = post.pk
    else:
        if hook.room is None:
            raise NotFound("The hook's room is gone.")
        sent = chat_actions.do_send_message(
            hook.bot, hook.room, body=_fit(message.text, CHAT_BODY_MAX)
        )
        posted = sent.message.pk
    IncomingWebhook.objects.filter(pk=hook.pk).update(
        last_used_at=timezone.now(), message_count=F("message_count") + 1
    )
    return posted
