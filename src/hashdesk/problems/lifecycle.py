"""The problem state machine, as data (docs/problems.md, "Lifecycle").

    new ──► investigating ──► known_error ──► resolved ──► closed
     │            ▲  │              │            │
     │            │  └──────────────┼──► resolved│
     └────────────┼─────────────────┘            │
                  └──────── reopen ──────────────┘

A problem may be resolved from investigating or known error (the fix is in), closed from
resolved, and reopened (→ investigating) from resolved — when the problem is reported again
after the fix. Known error is reached by publishing the workaround (``do_publish_known_error``),
never by a bare transition. Closed is final.
"""

from __future__ import annotations

from hashdesk.core.errors import Conflict, ValidationFailed
from hashdesk.problems.choices import ProblemState
from hashdesk.problems.models import Problem

S = ProblemState

TRANSITIONS: dict[ProblemState, tuple[ProblemState, ...]] = {
    S.NEW: (S.INVESTIGATING, S.KNOWN_ERROR, S.RESOLVED, S.CLOSED),
    S.INVESTIGATING: (S.KNOWN_ERROR, S.RESOLVED, S.CLOSED),
    S.KNOWN_ERROR: (S.INVESTIGATING, S.RESOLVED),
    S.RESOLVED: (S.INVESTIGATING, S.CLOSED),
    S.CLOSED: (),
}
FINAL_STATES = frozenset({S.CLOSED})
# Targets reached only through their own action.
BY_ACTION = frozenset({S.KNOWN_ERROR})
# Targets that need the resolution text.
NEEDS_RESOLUTION = frozenset({S.RESOLVED})


def allowed_next(problem: Problem) -> tuple[ProblemState, ...]:
    return TRANSITIONS[ProblemState(problem.state)]


def _names(states: tuple[ProblemState, ...]) -> str:
    return ", ".join(s.label for s in states) if states else "none (it is closed)"


def check_transition(problem: Problem, to_state: str) -> ProblemState:
    """The target if ``problem`` may go there now; Conflict otherwise (409)."""
    if to_state not in S.values:
        raise ValidationFailed(f"Unknown state {to_state!r}.", field="state")
    current, target = ProblemState(problem.state), ProblemState(to_state)
    nexts = allowed_next(problem)
    if target not in nexts:
        raise Conflict(
            f"A problem cannot go from {current.label} to {target.label}. "
            f"From {current.label} it can go to: {_names(nexts)}.",
            field="state",
            allowed=[str(s) for s in nexts],
        )
    if target in BY_ACTION:
        raise Conflict(
            "A problem becomes a known error by publishing its workaround.",
            field="state",
            allowed=[str(s) for s in nexts if s not in BY_ACTION],
        )
    return target
