"""Configuring Alertmanager receivers (administrators), every change audited.

What a notification does to incidents is in ``receiving.py``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from django.db import transaction
from django.utils.text import slugify

from hashdesk.accounts import actions as account_actions
from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.catalog.models import Service
from hashdesk.core.errors import Conflict, Forbidden, ValidationFailed
from hashdesk.core.validation import require_text
from hashdesk.core.visibility import is_administrator
from hashdesk.integrations.alertmanager.choices import ResolvePolicy, UnknownServicePolicy
from hashdesk.integrations.alertmanager.models import (
    LABEL_MAX,
    SLUG_MAX,
    AlertReceiver,
    ServiceMapping,
)

TOKEN_PREFIX = "hdam_"
LABEL_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(receiver: AlertReceiver, token: str) -> bool:
    """Constant-time comparison of the token's hash with the stored one."""
    return hmac.compare_digest(receiver.token_hash, hash_token(token))


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def receiver_snapshot(receiver: AlertReceiver) -> dict[str, Any]:
    """The receiver as the audit trail shows it (never the token or its hash)."""
    return {
        "id": receiver.pk,
        "name": receiver.name,
        "slug": receiver.slug,
        "token_hint": receiver.token_hint,
        "service_label": receiver.service_label,
        "default_service_id": receiver.default_service_id,
        "unknown_policy": receiver.unknown_policy,
        "resolve_policy": receiver.resolve_policy,
        "human_gate": receiver.human_gate,
    }


def _require_admin(actor: User) -> None:
    if not is_administrator(actor):
        raise Forbidden("Only administrators configure Alertmanager receivers.")


def _check_settings(
    *,
    service_label: str,
    unknown_policy: str,
    resolve_policy: str,
    default_service: Service | None,
) -> str:
    label = require_text(service_label, field="service_label", max_length=LABEL_MAX)
    if not set(label) <= LABEL_NAME_CHARS or label[0].isdigit():
        raise ValidationFailed(
            "A Prometheus label name has letters, digits and underscores only.",
            field="service_label",
        )
    if unknown_policy not in UnknownServicePolicy.values:
        raise ValidationFailed("Unknown policy for unknown services.", field="unknown_policy")
    if resolve_policy not in ResolvePolicy.values:
        raise ValidationFailed("Unknown resolve policy.", field="resolve_policy")
    if unknown_policy == UnknownServicePolicy.DEFAULT_SERVICE and default_service is None:
        raise ValidationFailed(
            "Choose the default service, or reject unknown label values.",
            field="default_service",
        )
    return label


@transaction.atomic
def do_create_receiver(
    actor: User,
    *,
    name: str,
    slug: str = "",
    service_label: str = "service",
    default_service: Service | None = None,
    unknown_policy: str = UnknownServicePolicy.REJECT,
    resolve_policy: str = ResolvePolicy.RESOLVE,
    human_gate: bool = True,
) -> tuple[AlertReceiver, str]:
    """A new receiver and its token (returned once, kept only as a hash)."""
    _require_admin(actor)
    name = require_text(name, field="name", max_length=100)
    slug = slugify(slug or name)[:SLUG_MAX]
    if not slug:
        raise ValidationFailed("The receiver needs a name with letters or digits.", field="slug")
    if AlertReceiver.objects.filter(slug=slug).exists():
        raise Conflict(f"A receiver named {slug} exists already.", field="slug")
    label = _check_settings(
        service_label=service_label,
        unknown_policy=unknown_policy,
        resolve_policy=resolve_policy,
        default_service=default_service,
    )
    # The account that reports its incidents: cannot sign in (no password), and inactive so
    # it is never notified nor counted among the people of a burst.
    reporter = account_actions.do_create_user(
        actor,
        email=f"alertmanager+{slug}@alertmanager.invalid",
        display_name=f"Alertmanager ({name})"[:150],
    )
    account_actions.do_set_active(actor, reporter, active=False)
    token = new_token()
    receiver = AlertReceiver.objects.create(
        name=name,
        slug=slug,
        token_hash=hash_token(token),
        token_hint=token[: len(TOKEN_PREFIX) + 4],
        service_label=label,
        default_service=default_service,
        unknown_policy=unknown_policy,
        resolve_policy=resolve_policy,
        human_gate=human_gate,
        reporter=reporter,
    )
    trail.record(
        actor=actor,
        action="alertmanager.receiver_create",
        obj=receiver,
        after=receiver_snapshot(receiver),
    )
    return receiver, token


@transaction.atomic
def do_update_receiver(actor: User, receiver: AlertReceiver, **changes: Any) -> AlertReceiver:
    """Change a receiver's settings (name, service label, policies, gate, default service)."""
    _require_admin(actor)
    allowed = {
        "name",
        "service_label",
        "default_service",
        "unknown_policy",
        "resolve_policy",
        "human_gate",
    }
    unknown = set(changes) - allowed
    if unknown:
        name = sorted(unknown)[0]
        raise ValidationFailed(f"Unknown field {name!r}.", field=name)
    receiver = AlertReceiver.objects.select_for_update().get(pk=receiver.pk)
    before = receiver_snapshot(receiver)
    for field, value in changes.items():
        setattr(receiver, field, value)
    receiver.name = require_text(receiver.name, field="name", max_length=100)
    receiver.service_label = _check_settings(
        service_label=receiver.service_label,
        unknown_policy=receiver.unknown_policy,
        resolve_policy=receiver.resolve_policy,
        default_service=receiver.default_service,
    )
    receiver.save()
    trail.record(
        actor=actor,
        action="alertmanager.receiver_update",
        obj=receiver,
        before=before,
        after=receiver_snapshot(receiver),
    )
    return receiver


@transaction.atomic
def do_rotate_token(actor: User, receiver: AlertReceiver) -> str:
    """A new token for the receiver; the old one stops working at once."""
    _require_admin(actor)
    receiver = AlertReceiver.objects.select_for_update().get(pk=receiver.pk)
    token = new_token()
    receiver.token_hash = hash_token(token)
    receiver.token_hint = token[: len(TOKEN_PREFIX) + 4]
    receiver.save(update_fields=["token_hash", "token_hint"])
    trail.record(
        actor=actor,
        action="alertmanager.token_rotate",
        obj=receiver,
        after={"token_hint": receiver.token_hint},
    )
    return token


@transaction.atomic
def do_set_mapping(
    actor: User, receiver: AlertReceiver, *, label_value: str, service: Service
) -> ServiceMapping:
    """Map a value of the receiver's service label to a service (replacing an older mapping)."""
    _require_admin(actor)
    value = require_text(label_value, field="label_value", max_length=LABEL_MAX)
    mapping, created = ServiceMapping.objects.update_or_create(
        receiver=receiver, label_value=value, defaults={"service": service}
    )
    trail.record(
        actor=actor,
        action="alertmanager.mapping_set",
        obj=receiver,
        after={"label_value": value, "service_id": service.pk, "created": created},
    )
    return mapping


@transaction.atomic
def do_remove_mapping(actor: User, mapping: ServiceMapping) -> None:
    _require_admin(actor)
    receiver = mapping.receiver
    before = {"label_value": mapping.label_value, "service_id": mapping.service_id}
    mapping.delete()
    trail.record(actor=actor, action="alertmanager.mapping_remove", obj=receiver, before=before)
