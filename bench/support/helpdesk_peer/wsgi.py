"""WSGI entry point of the peer (``granian ... helpdesk_peer.wsgi:application``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk_peer.settings")
application = get_wsgi_application()
