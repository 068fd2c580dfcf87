"""``python -m hashdesk.realtime``: run the event server with the settings from the environment."""

from __future__ import annotations

import os


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashdesk.settings")
    # Django must be set up before the server's modules import models.
    django.setup()
    from hashdesk.realtime.server import run_event_server

    run_event_server()


if __name__ == "__main__":
    main()
