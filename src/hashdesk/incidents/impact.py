"""Impact from people: the documented, configurable policy (docs/incidents.md).

``settings.INCIDENT_IMPACT_POLICY`` has a rule per level, ``high`` and ``medium``. A rule is met
when ANY of its thresholds is reached by the incident's affected users: their count, the number
of distinct sites, the number of distinct departments, or (``"vip": true``) any VIP among them.
The suggested impact is 1 (high) if the high rule is met, else 2 if the medium rule is, else 3.

Rescoring only ever raises the impact: a person who set it by hand (``impact_source="manual"``)
is never overridden downwards, and people leaving an incident do not quietly lower it; an
agent lowers it explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, Q

from hashdesk.incidents.choices import Level

THRESHOLDS = ("affected_users", "sites", "departments")


@dataclass(frozen=True)
class Signals:
    affected_users: int
    sites: int
    departments: int
    any_vip: bool


def signals_for(incident_id: int) -> Signals:
    """Count the affected people of one incident (a single aggregate query)."""
    from hashdesk.incidents.models import AffectedUser

    row = AffectedUser.objects.filter(incident_id=incident_id).aggregate(
        users=Count("user_id"),
        sites=Count("user__site", distinct=True, filter=~Q(user__site="")),
        departments=Count("user__department", distinct=True, filter=~Q(user__department="")),
        vips=Count("user_id", filter=Q(user__is_vip=True)),
    )
    return Signals(row["users"], row["sites"], row["departments"], row["vips"] > 0)


def signals_of_reporter(reporter: Any) -> Signals:
    """What ``signals_for`` counts for a new incident, whose only affected person is its
    reporter: computed from the person already loaded, without a query."""
    return Signals(
        affected_users=1,
        sites=1 if reporter.site else 0,
        departments=1 if reporter.department else 0,
        any_vip=bool(reporter.is_vip),
    )


def _rule_met(rule: dict[str, Any], signals: Signals) -> bool:
    for name in THRESHOLDS:
        limit = rule.get(name)
        if limit is not None and getattr(signals, name) >= limit:
            return True
    return bool(rule.get("vip")) and signals.any_vip


def _policy() -> dict[str, dict[str, Any]]:
    policy = settings.INCIDENT_IMPACT_POLICY
    if not isinstance(policy, dict) or not {"high", "medium"} <= set(policy):
        raise ImproperlyConfigured("INCIDENT_IMPACT_POLICY needs a 'high' and a 'medium' rule.")
    for level, rule in policy.items():
        for name in THRESHOLDS:
            value = rule.get(name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ImproperlyConfigured(
                    f"INCIDENT_IMPACT_POLICY[{level!r}][{name!r}] must be a positive integer."
                )
    return policy


def suggested_impact(signals: Signals) -> int:
    policy = _policy()
    if _rule_met(policy["high"], signals):
        return Level.HIGH
    if _rule_met(policy["medium"], signals):
        return Level.MEDIUM
    return Level.LOW


def rescored_impact(current: int, signals: Signals) -> int:
    """The impact after rescoring: the more severe of the current and the suggested one."""
    return min(int(current), suggested_impact(signals))
