"""The change state machine, as data (docs/changes.md, "Lifecycle").

    draft ──► assess ──► authorise ──► scheduled ──► implementing ──► review ──► closed
      │         ▲            │             ▲               │
      │         └────────────┘ (rejected)  │               ├──► failed
      └──────── standard: pre-approved ────┘               └──► backed_out

Emergency changes may go from draft straight to authorise (the emergency CAB). Any state before
implementing may go to cancelled. closed, failed, backed_out and cancelled are final.
"""

from __future__ import annotations

from hashdesk.changes.choices import ChangeState, ChangeType
from hashdesk.changes.models import Change
from hashdesk.core.errors import Conflict, ValidationFailed

S = ChangeState

TRANSITIONS: dict[ChangeState, tuple[ChangeState, ...]] = {
    S.DRAFT: (S.ASSESS, S.AUTHORISE, S.SCHEDULED, S.CANCELLED),
    S.ASSESS: (S.AUTHORISE, S.CANCELLED),
    S.AUTHORISE: (S.SCHEDULED, S.ASSESS, S.CANCELLED),
    S.SCHEDULED: (S.IMPLEMENTING, S.CANCELLED),
    S.IMPLEMENTING: (S.REVIEW, S.FAILED, S.BACKED_OUT),
    S.REVIEW: (S.CLOSED,),
    S.CLOSED: (),
    S.FAILED: (),
    S.BACKED_OUT: (),
    S.CANCELLED: (),
}
FINAL_STATES = frozenset({S.CLOSED, S.FAILED, S.BACKED_OUT, S.CANCELLED})
OPEN_STATES = frozenset(set(S) - FINAL_STATES)
# Before these, a change's plan (services, risk) may still be reworked.
PLANNING_STATES = frozenset({S.DRAFT, S.ASSESS})
# Planned times may move until the change starts.
MOVABLE_STATES = frozenset({S.DRAFT, S.ASSESS, S.AUTHORISE, S.SCHEDULED})
# Targets whose notes are required (stored as the change's closure notes).
NEEDS_NOTES = frozenset({S.CLOSED, S.FAILED, S.BACKED_OUT, S.CANCELLED})
NEEDS_PLANS = frozenset({S.ASSESS, S.AUTHORISE, S.SCHEDULED})


def allowed_next(change: Change) -> tuple[ChangeState, ...]:
    """Where ``change`` may go next: the table, narrowed by its type."""
    nexts = TRANSITIONS[ChangeState(change.state)]
    if change.state == S.DRAFT:
        # Standard changes are pre-approved: draft → scheduled only. Emergency ones may skip
        # assessment and go to the emergency CAB; normal ones are assessed first.
        skip = {
            ChangeType.STANDARD: {S.ASSESS, S.AUTHORISE},
            ChangeType.NORMAL: {S.AUTHORISE, S.SCHEDULED},
            ChangeType.EMERGENCY: {S.SCHEDULED},
        }[ChangeType(change.type)]
        nexts = tuple(s for s in nexts if s not in skip)
    return nexts


def _names(states: tuple[ChangeState, ...]) -> str:
    return ", ".join(s.label for s in states) if states else "none (it is final)"


def check_transition(change: Change, to_state: str, *, notes: str) -> ChangeState:
    """The target state if ``change`` may go there now; otherwise Conflict (the move is not in
    the table) or ValidationFailed (the change lacks what the target needs)."""
    if to_state not in S.values:
        raise ValidationFailed(f"Unknown state {to_state!r}.", field="state")
    current, target = ChangeState(change.state), ChangeState(to_state)
    nexts = allowed_next(change)
    if target not in nexts:
        raise Conflict(
            f"A {change.get_type_display().lower()} change cannot go from {current.label} to "
            f"{target.label}. From {current.label} it can go to: {_names(nexts)}.",
            field="state",
            allowed=[str(s) for s in nexts],
        )
    if target in NEEDS_PLANS:
        for field in ("implementation_plan", "backout_plan"):
            if not getattr(change, field).strip():
                label = field.replace("_", " ").replace("backout", "back-out")
                raise ValidationFailed(f"{target.label} needs the {label}.", field=field)
    if target == S.SCHEDULED and (change.planned_start is None or change.planned_end is None):
        raise ValidationFailed(
            "Scheduling needs a planned start and end.",
            field="planned_start" if change.planned_start is None else "planned_end",
        )
    if target in NEEDS_NOTES and not notes.strip():
        what = "the reason" if target == S.CANCELLED else "what happened"
        raise ValidationFailed(f"{target.label} needs notes saying {what}.", field="notes")
    return target
