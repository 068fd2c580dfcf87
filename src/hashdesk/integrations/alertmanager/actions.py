"""Every write of the Alertmanager integration (docs/integrations/alertmanager.md).

Configuring receivers (administrators), every change audited: ``do_create_receiver``,
``do_update_receiver``, ``do_rotate_token``, ``do_set_mapping``, ``do_remove_mapping``.

Receiving notifications (the webhook, ``views.receive``): ``do_receive_notification`` and the
receiver's log of what arrived, ``do_record_notification``. One notification is one
Alertmanager group (``groupKey``). The first firing notification of a group opens an incident
through the incident actions (source "alert", reported by the receiver's own account); later
notifications of the same group update that incident:

- an alert is known by its ``fingerprint``: one re-sent by ``repeat_interval`` adds nothing;
  a new fingerprint adds a work note (and may raise the severity);
- a resolved alert is recorded on the timeline; when every alert of the group is resolved the
  incident is resolved (policy ``resolve``) or only a note says so (policy ``record``);
- a group whose incident is resolved (by the policy or by an agent) is closed: an alert of
  that key firing again opens a new incident, which names the earlier one.

The human gate: with it on, an incident opened here stays internal until an agent publishes
it; with it off, it is made public at once and so reaches the status page and the wall like
any public incident. How a notification reads (group key, severity, service, text) is in
``rules.py``, which writes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from hashdesk.accounts import actions as account_actions
from hashdesk.accounts.choices import AccountKind
from hashdesk.accounts.models import User
from hashdesk.audit import trail
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.core.errors import Conflict, Forbidden, ValidationFailed
from hashdesk.core.validation import require_text
from hashdesk.core.visibility import is_administrator
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.choices import OPEN_STATES, Category, Channel, ResolutionCode, State
from hashdesk.incidents.models import Incident
from hashdesk.integrations.alertmanager import rules
from hashdesk.integrations.alertmanager.choices import (
    AlertStatus,
    Outcome,
    ResolvePolicy,
    UnknownServicePolicy,
)
from hashdesk.integrations.alertmanager.models import (
    LABEL_MAX,
    SLUG_MAX,
    Alert,
    AlertGroup,
    AlertNotification,
    AlertReceiver,
    ServiceMapping,
)
from hashdesk.integrations.alertmanager.payload import AlertIn, Notification

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
    # The account that reports its incidents: an integration's, so it cannot sign in and is
    # listed nowhere as a person; inactive too, so it is never counted among a burst's people.
    reporter = account_actions.do_create_user(
        actor,
        email=f"alertmanager+{slug}@alertmanager.invalid",
        display_name=f"Alertmanager ({name})"[:150],
        kind=AccountKind.INTEGRATION,
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


# --- Receiving notifications ----------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """What one notification did: its outcome, the group's incident, the alerts it added."""

    outcome: str
    incident: Incident | None
    new_alerts: int = 0
    resolved_alerts: int = 0


def _open_group(receiver: AlertReceiver, digest: str) -> AlertGroup | None:
    """The receiver's open group of this key, locked, closed first if its incident is no
    longer open (resolved or closed by a person, or by the resolve policy)."""
    group = (
        AlertGroup.objects.select_for_update()
        .select_related("incident")
        .filter(receiver=receiver, key_hash=digest, is_open=True)
        .first()
    )
    if group is not None and group.incident.state not in OPEN_STATES:
        _close(group)
        return None
    return group


def _close(group: AlertGroup) -> None:
    group.is_open = False
    group.closed_at = timezone.now()
    group.save(update_fields=["is_open", "closed_at"])


def _work_note(incident: Incident, body: str) -> None:
    incident_actions.do_add_update(None, incident, body=body, public=False)


def _open_incident(
    receiver: AlertReceiver, notification: Notification, firing: list[AlertIn], digest: str
) -> tuple[AlertGroup, Incident]:
    service = rules.resolve_service(receiver, notification)
    impact, urgency = rules.severity_levels(firing)
    incident = incident_actions.do_create_incident(
        None,
        title=rules.incident_title(notification, firing, service),
        description=rules.incident_description(notification, firing),
        service=service,
        category=Category.OTHER,
        impact=impact,
        urgency=urgency,
        source=Channel.ALERT,
        reporter=receiver.reporter,
    )
    if not receiver.human_gate and incident.visibility != Visibility.PUBLIC:
        incident = incident_actions.do_update_incident(
            None, incident, expected_version=incident.version, visibility=Visibility.PUBLIC
        )
    earlier = (
        AlertGroup.objects.filter(receiver=receiver, key_hash=digest)
        .select_related("incident")
        .order_by("-opened_at", "-id")
        .first()
    )
    group = AlertGroup.objects.create(
        receiver=receiver,
        group_key=notification.group_key,
        key_hash=digest,
        incident=incident,
    )
    if earlier is not None:
        _work_note(
            incident,
            f"The alerts of {earlier.incident.number} fired again after it was resolved.",
        )
    return group, incident


@transaction.atomic
def do_receive_notification(receiver: AlertReceiver, notification: Notification) -> Result:
    """Open, update or resolve the group's incident; all of it or nothing."""
    digest = rules.key_hash(notification.group_key)
    group = _open_group(receiver, digest)
    firing = [a for a in notification.alerts if a.status == AlertStatus.FIRING]
    now = timezone.now()
    outcome = Outcome.UNCHANGED
    if group is None:
        if not firing:
            # Resolved alerts of a group we never opened (or closed already): nothing to do.
            return Result(Outcome.UNCHANGED, None)
        try:
            with transaction.atomic():
                group, incident = _open_incident(receiver, notification, firing, digest)
        except IntegrityError:
            # Another process opened this group's incident in between: update that one.
            group = _open_group(receiver, digest)
            if group is None:
                raise
        else:
            outcome = Outcome.OPENED
    incident = group.incident
    known = {alert.fingerprint: alert for alert in group.alerts.all()}
    # Each fingerprint once per notification (the last entry wins, as in Alertmanager).
    by_fingerprint = {alert.fingerprint: alert for alert in notification.alerts}
    new = [
        a
        for a in by_fingerprint.values()
        if a.fingerprint not in known and a.status == AlertStatus.FIRING
    ]
    refired = [
        a
        for a in by_fingerprint.values()
        if a.fingerprint in known
        and a.status == AlertStatus.FIRING
        and known[a.fingerprint].status == AlertStatus.RESOLVED
    ]
    newly_resolved = [
        a
        for a in by_fingerprint.values()
        if a.status == AlertStatus.RESOLVED
        and (a.fingerprint not in known or known[a.fingerprint].status == AlertStatus.FIRING)
    ]
    if new:
        Alert.objects.bulk_create(
            Alert(
                group=group,
                fingerprint=a.fingerprint,
                name=rules.alert_name(a),
                service_id=incident.service_id,
                status=AlertStatus.FIRING,
                labels=a.labels,
                starts_at=a.starts_at,
                ends_at=None,
                first_fired_at=now,
                updated_at=now,
            )
            for a in new
        )
    # Resolved alerts never seen firing are recorded too: the group's tally stays complete.
    unseen_resolved = [a for a in newly_resolved if a.fingerprint not in known]
    if unseen_resolved:
        Alert.objects.bulk_create(
            Alert(
                group=group,
                fingerprint=a.fingerprint,
                name=rules.alert_name(a),
                service_id=incident.service_id,
                status=AlertStatus.RESOLVED,
                labels=a.labels,
                starts_at=a.starts_at,
                ends_at=a.ends_at,
                first_fired_at=None,
                updated_at=now,
            )
            for a in unseen_resolved
        )
    for alerts, status in ((refired, AlertStatus.FIRING), (newly_resolved, AlertStatus.RESOLVED)):
        changed = [a.fingerprint for a in alerts if a.fingerprint in known]
        if changed:
            Alert.objects.filter(group=group, fingerprint__in=changed).update(
                status=status,
                updated_at=now,
                ends_at=now if status == AlertStatus.RESOLVED else None,
            )
    if outcome != Outcome.OPENED and (new or refired):
        lines = []
        if new:
            lines += [f"{len(new)} new alert(s) firing:", rules.listing(new)]
        if refired:
            lines += [f"{len(refired)} alert(s) firing again:", rules.listing(refired)]
        _work_note(incident, "\n".join(lines))
        incident = _raise_severity(incident, new + refired)
        outcome = Outcome.UPDATED
    if newly_resolved:
        _work_note(
            incident,
            f"{len(newly_resolved)} alert(s) resolved:\n{rules.listing(newly_resolved)}",
        )
        if outcome == Outcome.UNCHANGED:
            outcome = Outcome.UPDATED
    still_firing = Alert.objects.filter(group=group, status=AlertStatus.FIRING).exists()
    if not still_firing and newly_resolved:
        if receiver.resolve_policy == ResolvePolicy.RESOLVE:
            incident = incident_actions.do_transition(
                None,
                incident,
                State.RESOLVED,
                expected_version=None,
                resolution_code=ResolutionCode.SOLVED,
                resolution_notes="Every alert of the group was resolved in Alertmanager.",
            )
            _close(group)
            outcome = Outcome.RESOLVED
        else:
            _work_note(incident, "Every alert of the group is resolved; the incident stays open.")
    return Result(outcome, incident, new_alerts=len(new), resolved_alerts=len(newly_resolved))


def _raise_severity(incident: Incident, alerts: list[AlertIn]) -> Incident:
    """A more severe alert joining the group raises the incident's impact and urgency."""
    impact, urgency = rules.severity_levels(alerts)
    changes: dict[str, Any] = {}
    if impact < incident.impact:
        changes["impact"] = impact
    if urgency < incident.urgency:
        changes["urgency"] = urgency
    if not changes:
        return incident
    current = Incident.objects.get(pk=incident.pk)
    return incident_actions.do_update_incident(
        None, current, expected_version=current.version, **changes
    )


def do_record_notification(
    receiver: AlertReceiver,
    *,
    outcome: str,
    notification: Notification | None = None,
    incident: Incident | None = None,
    detail: str = "",
) -> AlertNotification:
    """The receiver's log of what it received (shown on its page), written after the
    notification's own transaction, so a rejected one is logged too."""
    return AlertNotification.objects.create(
        receiver=receiver,
        group_key=notification.group_key if notification else "",
        status=notification.status if notification else "",
        alert_count=len(notification.alerts) if notification else 0,
        outcome=outcome,
        detail=detail[:500],
        incident=incident,
    )
