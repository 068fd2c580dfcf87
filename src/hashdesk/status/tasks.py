"""Background work of the status page (docs/status.md, "Live updates").

After a write commits, :func:`announce_status_changes` rebuilds the tiers' snapshots and sends
the ``status`` events of those that changed. Time changes the page without any write too (a
scheduled maintenance comes within 30 days, its window ends, a new day starts a new bar): once a
minute the page is rebuilt and the tiers whose page changed are told, as after a write.
"""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from hashdesk.status import hooks


@db_task()
def announce_status_changes() -> None:
    """Queued after every commit that wrote what the page is made of (status/hooks.py)."""
    hooks.refresh(bump=False)


@db_periodic_task(crontab())
def refresh_status_page() -> None:
    """Every minute: a new generation, and the tiers whose page changed are told."""
    hooks.refresh()
