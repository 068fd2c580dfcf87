"""The incident state machine, as data.

    new ──► assigned ──► in_progress ◄──► on_hold
     │          │             │              │
     └──────────┴─────┬───────┴──────────────┘
                      ▼
                  resolved ──► closed
                      │
                      └──► in_progress   (reopen)

Any open state may also go to ``cancelled``. ``closed`` and ``cancelled`` are final.
"""

from __future__ import annotations

from typing import Any

from hashdesk.core.errors import ValidationFailed
from hashdesk.incidents.choices import OPEN_STATES, HoldReason, ResolutionCode, State

__all__ = ["OPEN_STATES", "TRANSITIONS", "allowed_next", "check_transition"]

TRANSITIONS: dict[State, tuple[State, ...]] = {
    State.NEW: (State.ASSIGNED, State.IN_PROGRESS, State.RESOLVED, State.CANCELLED),
    State.ASSIGNED: (State.IN_PROGRESS, State.ON_HOLD, State.RESOLVED, State.CANCELLED),
    State.IN_PROGRESS: (State.ON_HOLD, State.RESOLVED, State.CANCELLED),
    State.ON_HOLD: (State.IN_PROGRESS, State.RESOLVED, State.CANCELLED),
    State.RESOLVED: (State.CLOSED, State.IN_PROGRESS),
    State.CLOSED: (),
    State.CANCELLED: (),
}

# What each target state needs, checked against the incident and the fields given.
NEEDS_OWNER = frozenset({State.ASSIGNED, State.IN_PROGRESS})


def allowed_next(state: str) -> tuple[State, ...]:
    return TRANSITIONS[State(state)]


def _names(states: tuple[State, ...]) -> str:
    return ", ".join(s.label for s in states) if states else "none (it is final)"


def check_transition(incident: Any, to_state: str, **fields: Any) -> None:
    """Raise ValidationFailed unless ``incident`` may move to ``to_state`` with ``fields``."""
    if to_state not in State.values:
        raise ValidationFailed(f"Unknown state {to_state!r}.", field="state")
    current = State(incident.state)
    target = State(to_state)
    nexts = allowed_next(current)
    if target not in nexts:
        raise ValidationFailed(
            f"An incident cannot go from {current.label} to {target.label}. "
            f"From {current.label} it can go to: {_names(nexts)}.",
            field="state",
            allowed=[str(s) for s in nexts],
        )
    if target in NEEDS_OWNER and not (incident.assignee_id or incident.assignment_group_id):
        raise ValidationFailed(
            f"{target.label} needs an assignee or an assignment group first.", field="assignee"
        )
    if target == State.ON_HOLD and fields.get("hold_reason") not in HoldReason.values:
        raise ValidationFailed(
            "Putting an incident on hold needs a reason: " + ", ".join(HoldReason.values) + ".",
            field="hold_reason",
        )
    if target == State.RESOLVED:
        if fields.get("resolution_code") not in ResolutionCode.values:
            raise ValidationFailed(
                "Resolving needs a resolution code: " + ", ".join(ResolutionCode.values) + ".",
                field="resolution_code",
            )
        if not (fields.get("resolution_notes") or "").strip():
            raise ValidationFailed("Resolving needs resolution notes.", field="resolution_notes")
    if target == State.CANCELLED and not (fields.get("resolution_notes") or "").strip():
        raise ValidationFailed(
            "Cancelling needs a short reason in the notes.", field="resolution_notes"
        )
