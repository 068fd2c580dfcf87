"""Events of problems (docs/problems.md, "Events"); sent to the staff stream only."""

from typing import ClassVar

from hashdesk.core.events import BaseEvent


class ProblemEvent(BaseEvent):
    """``op``: create, update, transition, link, unlink, known_error, recurrence.
    ``problem`` is ``actions.problem_snapshot``."""

    type: ClassVar[str] = "problem"
    problem: dict[str, object]
