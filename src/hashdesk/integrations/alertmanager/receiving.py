"""What a notification from Alertmanager does (docs/integrations/alertmanager.md).

One notification is one Alertmanager group (``groupKey``). The first firing notification of a
group opens an incident through the incident actions (source "alert", reported by the
receiver's own account); later notifications of the same group update that incident:

- an alert is known by its ``fingerprint``: one re-sent by ``repeat_interval`` adds nothing;
  a new fingerprint adds a work note (and may raise the severity);
- a resolved alert is recorded on the timeline; when every alert of the group is resolved the
  incident is resolved (policy ``resolve``) or only a note says so (policy ``record``);
- a group whose incident is resolved (by the policy or by an agent) is closed: an alert of
  that key firing again opens a new incident, which names the earlier one.

The human gate: with it on, an incident opened here stays internal until an agent publishes
it; with it off, it is made public at once and so reaches the status page and the wall like
any public incident.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import Service
from hashdesk.core.errors import ValidationFailed
from hashdesk.incidents import actions as incident_actions
from hashdesk.incidents.choices import (
    OPEN_STATES,
    Category,
    Channel,
    Level,
    ResolutionCode,
    State,
)
from hashdesk.incidents.models import DESCRIPTION_MAX, TITLE_MAX, Incident
from hashdesk.integrations.alertmanager.choices import (
    AlertStatus,
    Outcome,
    ResolvePolicy,
    UnknownServicePolicy,
)
from hashdesk.integrations.alertmanager.models import (
    Alert,
    AlertGroup,
    AlertNotification,
    AlertReceiver,
    ServiceMapping,
)
from hashdesk.integrations.alertmanager.payload import AlertIn, Notification

# severity label → (impact, urgency); the matrix makes P1, P3 and P5 of them.
SEVERITY_LEVELS: dict[str, tuple[int, int]] = {
    "critical": (Level.HIGH, Level.HIGH),
    "warning": (Level.MEDIUM, Level.MEDIUM),
    "info": (Level.LOW, Level.LOW),
}
# No severity label, or one not above: between warning and info (P4).
UNKNOWN_SEVERITY = (Level.LOW, Level.MEDIUM)
# How many alerts a timeline note lists by name before it says "and N more".
NOTE_LIST_MAX = 20


class UnknownService(ValidationFailed):
    """The service label names no service and the receiver rejects such notifications."""

    code = "unknown_service"


@dataclass(frozen=True)
class Result:
    outcome: str
    incident: Incident | None
    new_alerts: int = 0
    resolved_alerts: int = 0


def key_hash(group_key: str) -> str:
    return hashlib.sha256(group_key.encode()).hexdigest()


def severity_levels(alerts: list[AlertIn]) -> tuple[int, int]:
    """The most severe (impact, urgency) among the alerts' severity labels."""
    levels = [
        SEVERITY_LEVELS.get(alert.labels.get("severity", "").lower(), UNKNOWN_SEVERITY)
        for alert in alerts
    ]
    return min(levels, default=UNKNOWN_SEVERITY)


def resolve_service(receiver: AlertReceiver, notification: Notification) -> Service:
    """The service the group is about: the receiver's label in the group's labels, the common
    labels, or else the first alert that has it; mapped, or a service of that slug."""
    label = receiver.service_label
    value = notification.group_labels.get(label) or notification.common_labels.get(label)
    if not value:
        value = next((a.labels[label] for a in notification.alerts if a.labels.get(label)), "")
    service: Service | None = None
    if value:
        mapping = (
            ServiceMapping.objects.filter(receiver=receiver, label_value=value)
            .select_related("service")
            .first()
        )
        if mapping is not None:
            service = mapping.service
        else:
            service = Service.objects.filter(slug=value, is_active=True).first()
    if service is not None:
        return service
    if (
        receiver.unknown_policy == UnknownServicePolicy.DEFAULT_SERVICE
        and receiver.default_service is not None
    ):
        return receiver.default_service
    what = f"{label}={value!r}" if value else f"no {label!r} label"
    raise UnknownService(
        f"The alerts name no known service ({what}); map the value on the receiver's page.",
        field=f"labels.{label}",
    )


def _alert_name(alert: AlertIn) -> str:
    return (alert.labels.get("alertname") or alert.fingerprint)[:200]


def _describe(alert: AlertIn) -> str:
    summary = alert.annotations.get("summary") or alert.annotations.get("description") or ""
    labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k != "alertname")
    line = f"- **{_alert_name(alert)}**"
    if summary:
        line += f": {summary}"
    if labels:
        line += f" ({labels})"
    return line


def _listing(alerts: list[AlertIn]) -> str:
    lines = [_describe(alert) for alert in alerts[:NOTE_LIST_MAX]]
    if len(alerts) > NOTE_LIST_MAX:
        lines.append(f"- and {len(alerts) - NOTE_LIST_MAX} more")
    return "\n".join(lines)


def _title(notification: Notification, firing: list[AlertIn], service: Service) -> str:
    summary = notification.common_annotations.get("summary")
    summaries = {alert.annotations.get("summary", "") for alert in firing}
    if not summary and len(summaries) == 1:
        summary = summaries.pop()
    if not summary:
        names = sorted({_alert_name(alert) for alert in firing})
        summary = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        summary = f"{summary} firing on {service.name}"
    return summary[:TITLE_MAX]


def _description(notification: Notification, firing: list[AlertIn]) -> str:
    parts = ["Opened by Prometheus Alertmanager.", "", _listing(firing)]
    if notification.common_annotations.get("description"):
        parts[1:1] = [notification.common_annotations["description"], ""]
    if notification.external_url:
        parts += ["", f"Alertmanager: {notification.external_url}"]
    return "\n".join(parts)[: DESCRIPTION_MAX - 100]


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
    service = resolve_service(receiver, notification)
    impact, urgency = severity_levels(firing)
    incident = incident_actions.do_create_incident(
        None,
        title=_title(notification, firing, service),
        description=_description(notification, firing),
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
def apply_notification(receiver: AlertReceiver, notification: Notification) -> Result:
    """Open, update or resolve the group's incident; all of it or nothing."""
    digest = key_hash(notification.group_key)
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
                name=_alert_name(a),
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
                name=_alert_name(a),
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
            lines += [f"{len(new)} new alert(s) firing:", _listing(new)]
        if refired:
            lines += [f"{len(refired)} alert(s) firing again:", _listing(refired)]
        _work_note(incident, "\n".join(lines))
        incident = _raise_severity(incident, new + refired)
        outcome = Outcome.UPDATED
    if newly_resolved:
        _work_note(
            incident, f"{len(newly_resolved)} alert(s) resolved:\n{_listing(newly_resolved)}"
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
    impact, urgency = severity_levels(alerts)
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


def record_notification(
    receiver: AlertReceiver,
    *,
    outcome: str,
    notification: Notification | None = None,
    incident: Incident | None = None,
    detail: str = "",
) -> AlertNotification:
    """The receiver's log of what it received (shown on its page)."""
    return AlertNotification.objects.create(
        receiver=receiver,
        group_key=notification.group_key if notification else "",
        status=notification.status if notification else "",
        alert_count=len(notification.alerts) if notification else 0,
        outcome=outcome,
        detail=detail[:500],
        incident=incident,
    )
