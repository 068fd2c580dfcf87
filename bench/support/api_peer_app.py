"""WSGI app for bench/api_reads.py: Hashdesk unchanged, plus two peer-reference views.

The peer views run behind the same middleware, in the same server and workers, so the difference
between them and ``GET /api/v1/services`` is what the API itself costs (authentication, the
visibility filter, the query and the serialisation). They exist only in this benchmark.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hashdesk.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import include, path  # noqa: E402

from hashdesk.catalog.models import Service  # noqa: E402


def peer_json(request: HttpRequest) -> JsonResponse:
    """The smallest Django JSON view: the framework's own floor."""
    return JsonResponse({"ok": True})


def peer_json_one_read(request: HttpRequest) -> JsonResponse:
    """A JSON view with one SQLite read, as in the issue's reference figures."""
    return JsonResponse({"services": Service.objects.count()})


urlpatterns = [
    path("bench/peer-json", peer_json),
    path("bench/peer-json-one-read", peer_json_one_read),
    path("", include("hashdesk.urls")),
]

settings.ROOT_URLCONF = __name__
application = get_wsgi_application()
