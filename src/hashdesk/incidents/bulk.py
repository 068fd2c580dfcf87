"""Bulk changes from the agent queue: assign or move many incidents at once.

Each incident goes through the same action as on its own page (``actions.do_assign``,
``actions.do_transition``), in its own transaction, based on the version the agent saw. One
incident refused (an illegal move, a version changed meanwhile, a final state) is reported and
left exactly as it was; the others are still applied. So there is no all-or-nothing here on
purpose: a queue of fifty is not held back by one stale row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hashdesk.accounts.models import Team, User
from hashdesk.core.errors import Conflict, DomainError, Forbidden
from hashdesk.core.visibility import is_staff, visible_to
from hashdesk.incidents import actions
from hashdesk.incidents.models import Incident

# (incident id, the version the agent saw)
Target = tuple[int, int]


@dataclass
class BulkOutcome:
    updated: list[Incident] = field(default_factory=list)
    # (number, why) for each incident left unchanged.
    refused: list[tuple[str, str]] = field(default_factory=list)

    def summary(self) -> str:
        """ "7 updated, 2 refused: INC-000012 (reason), INC-000019 (reason)"."""
        text = f"{len(self.updated)} updated"
        if self.refused:
            reasons = ", ".join(f"{number} ({reason})" for number, reason in self.refused)
            text += f", {len(self.refused)} refused: {reasons}"
        return text


def _reason(error: DomainError) -> str:
    if isinstance(error, Conflict):
        # The action's message names the number and versions; the summary already names it.
        return "changed by someone else since the queue was loaded; reload and try again"
    return error.detail.rstrip(".")


def _apply(
    actor: User, targets: Sequence[Target], change: Callable[[Incident, int], Incident]
) -> BulkOutcome:
    if not is_staff(actor):
        raise Forbidden("Only service desk staff can change incidents in bulk.")
    versions = dict(targets)
    found = {
        incident.pk: incident
        for incident in visible_to(actor, Incident.objects.filter(pk__in=list(versions)))
    }
    outcome = BulkOutcome()
    for pk, version in targets:
        incident = found.get(pk)
        if incident is None:
            outcome.refused.append((f"#{pk}", "no such incident"))
            continue
        try:
            outcome.updated.append(change(incident, version))
        except Forbidden:
            raise
        except DomainError as error:
            outcome.refused.append((str(incident.number), _reason(error)))
    return outcome


def bulk_assign(
    actor: User,
    targets: Sequence[Target],
    *,
    group: Team | None = None,
    assignee: User | None = None,
) -> BulkOutcome:
    """Assign every target to ``group`` and/or ``assignee`` (``actions.do_assign`` each)."""
    return _apply(
        actor,
        targets,
        lambda incident, version: actions.do_assign(
            actor, incident, expected_version=version, group=group, assignee=assignee
        ),
    )


def bulk_transition(
    actor: User,
    targets: Sequence[Target],
    to_state: str,
    *,
    hold_reason: str | None = None,
    resolution_code: str | None = None,
    resolution_notes: str = "",
) -> BulkOutcome:
    """Move every target to ``to_state`` (``actions.do_transition`` each)."""
    return _apply(
        actor,
        targets,
        lambda incident, version: actions.do_transition(
            actor,
            incident,
            to_state,
            expected_version=version,
            hold_reason=hold_reason or None,
            resolution_code=resolution_code or None,
            resolution_notes=resolution_notes,
        ),
    )
