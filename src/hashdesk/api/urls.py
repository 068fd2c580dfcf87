"""URLs under ``/api/``: an index, the NinjaAPI's operations, then a problem 404 for the rest."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, re_path, reverse
from django.views.decorators.csrf import csrf_exempt

from hashdesk.api.main import API_VERSION, api
from hashdesk.api.problems import (
    problem_response,
    status_problem,
    unknown_path,
    with_problem_405,
)

# Ninja's own root view only raises 404; it exists so that paths can be reversed.
ROOT_NAME = "api-root"


@csrf_exempt  # read-only; other methods get a 405 problem, not the CSRF failure page
def api_index(request: HttpRequest, **kwargs: object) -> HttpResponse:
    """``GET /api/``: where the versions, the OpenAPI document and the docs are."""
    if request.method not in {"GET", "HEAD"}:
        return problem_response(
            request,
            status_problem(405, f"{request.method} is not allowed here; use GET."),
            headers={"Allow": "GET, HEAD"},
        )
    return JsonResponse(
        {
            "versions": {f"v{API_VERSION}": f"{reverse('api:api-root')}v{API_VERSION}/"},
            "openapi": reverse("api:openapi-json"),
            "docs": reverse("api:openapi-view"),
        }
    )


def _operation_patterns() -> list[URLPattern | URLResolver]:
    patterns, _app_name, _namespace = api.urls
    wrapped: list[URLPattern | URLResolver] = []
    for pattern in patterns:
        if isinstance(pattern, URLPattern):
            view = api_index if pattern.name == ROOT_NAME else with_problem_405(pattern.callback)
            pattern = URLPattern(pattern.pattern, view, pattern.default_args, pattern.name)
        wrapped.append(pattern)
    return wrapped


# The namespace matches NinjaAPI(urls_namespace="api"), which the docs page reverses.
app_name = "api"
urlpatterns: list[URLPattern | URLResolver] = [
    *_operation_patterns(),
    # [\s\S], not ".": a path with a newline in it is unknown too and gets a problem document.
    re_path(r"^[\s\S]*$", unknown_path, name="unknown"),
]
