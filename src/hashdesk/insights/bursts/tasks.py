"""The burst detector's minute job, run by the huey consumer (``hashdesk worker``)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from hashdesk.insights.bursts import live, promote  # noqa: F401  (promote: its visibility rules)


@db_periodic_task(crontab(minute="*"))
@lock_task("insights-bursts-minute")
def detect_bursts() -> int:
    """Feed every stream's detector and raise probable incidents; returns how many were raised.

    Locked: a run that outlasts its minute makes the next one skip instead of feeding the same
    buckets twice (the next minute catches up).
    """
    return live.run_minute().raised
