"""WSGI entry point: the web app is served by granian's WSGI workers (docs/architecture.md)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashdesk.settings")

application = get_wsgi_application()
