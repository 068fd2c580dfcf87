"""How a notification from Alertmanager reads: the rules ``actions.do_receive_notification``
applies, none of which writes (docs/integrations/alertmanager.md, "What a notification does").

- a group is known by the SHA-256 of its ``groupKey`` (``key_hash``);
- the ``severity`` label sets impact and urgency, the most severe alert counting
  (``severity_levels``);
- the receiver's service label names the service, through its mapping table or a service of
  that slug, else the default service or a 422 (``resolve_service``: reads only);
- the incident's title, description and work notes list the alerts by name, summary and
  labels (``incident_title``, ``incident_description``, ``listing``).
"""

from __future__ import annotations

import hashlib

from hashdesk.catalog.models import Service
from hashdesk.core.errors import ValidationFailed
from hashdesk.incidents.choices import Level
from hashdesk.incidents.models import DESCRIPTION_MAX, TITLE_MAX
from hashdesk.integrations.alertmanager.choices import UnknownServicePolicy
from hashdesk.integrations.alertmanager.models import AlertReceiver, ServiceMapping
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


def alert_name(alert: AlertIn) -> str:
    return (alert.labels.get("alertname") or alert.fingerprint)[:200]


def _describe(alert: AlertIn) -> str:
    summary = alert.annotations.get("summary") or alert.annotations.get("description") or ""
    labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k != "alertname")
    line = f"- **{alert_name(alert)}**"
    if summary:
        line += f": {summary}"
    if labels:
        line += f" ({labels})"
    return line


def listing(alerts: list[AlertIn]) -> str:
    """The alerts as a markdown list, the first ``NOTE_LIST_MAX`` by name, then "and N more"."""
    lines = [_describe(alert) for alert in alerts[:NOTE_LIST_MAX]]
    if len(alerts) > NOTE_LIST_MAX:
        lines.append(f"- and {len(alerts) - NOTE_LIST_MAX} more")
    return "\n".join(lines)


def incident_title(notification: Notification, firing: list[AlertIn], service: Service) -> str:
    summary = notification.common_annotations.get("summary")
    summaries = {alert.annotations.get("summary", "") for alert in firing}
    if not summary and len(summaries) == 1:
        summary = summaries.pop()
    if not summary:
        names = sorted({alert_name(alert) for alert in firing})
        summary = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        summary = f"{summary} firing on {service.name}"
    return summary[:TITLE_MAX]


def incident_description(notification: Notification, firing: list[AlertIn]) -> str:
    parts = ["Opened by Prometheus Alertmanager.", "", listing(firing)]
    if notification.common_annotations.get("description"):
        parts[1:1] = [notification.common_annotations["description"], ""]
    if notification.external_url:
        parts += ["", f"Alertmanager: {notification.external_url}"]
    return "\n".join(parts)[: DESCRIPTION_MAX - 100]
