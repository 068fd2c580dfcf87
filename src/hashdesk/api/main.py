"""The REST API: one NinjaAPI mounted at ``/api/``, operations under ``/api/v1/``.

OpenAPI 3.1 is served at ``/api/openapi.json`` and the interactive docs at ``/api/docs``
(docs/api.md). Operations are thin: parse typed input, look objects up through
``core.visibility``, call an action, shape the answer. Errors are problem details
(``api/problems.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation

from hashdesk.api.auth import API_AUTH
from hashdesk.api.problems import PROBLEM_CONTENT_TYPE, install_handlers

API_VERSION = "1"


def _docs_csp(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Swagger UI sets inline style attributes; allow those (and only those) on the docs page."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
            "base-uri 'self'; frame-ancestors 'none'"
        )
        return response

    return wrapper


class HashdeskAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        # Operation functions are named for what they do (list_services), unique across apps.
        return str(operation.view_func.__name__)

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        # Ninja documents every body as application/json; errors really are problem+json.
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, answer in operation.get("responses", {}).items():
                    content = answer.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
        return schema


api = HashdeskAPI(
    title="Hashdesk API",
    version=API_VERSION,
    description=(
        "The Hashdesk REST API. Authenticate with a personal token "
        "(`Authorization: Bearer hd_…`) or a browser session plus `X-CSRFToken` for writes. "
        "Errors are RFC 9457 problem details; lists are cursor-paginated. See docs/api.md."
    ),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
    docs_decorator=_docs_csp,
    auth=API_AUTH,
)
install_handlers(api)

api.add_router("/v1/", "hashdesk.accounts.api.router")
api.add_router("/v1/", "hashdesk.catalog.api.router")
api.add_router("/v1/", "hashdesk.incidents.api.router")
api.add_router("/v1/", "hashdesk.incidents.api_major.router")
api.add_router("/v1/", "hashdesk.incidents.api_attachments.router")
api.add_router("/v1/", "hashdesk.notify.api.router")
api.add_router("/v1/", "hashdesk.notify.api_preferences.router")
api.add_router("/v1/", "hashdesk.notify.api_webhooks.router")
api.add_router("/v1/", "hashdesk.notify.api_chat_tools.router")
api.add_router("/v1/", "hashdesk.notify.api_deliveries.router")
api.add_router("/v1/", "hashdesk.wall.api.router")
api.add_router("/v1/", "hashdesk.wall.api_media.router")
api.add_router("/v1/", "hashdesk.wall.api_answers.router")
api.add_router("/v1/", "hashdesk.chat.api.router")
api.add_router("/v1/", "hashdesk.chat.api_help.router")
api.add_router("/v1/", "hashdesk.knowledge.api.router")
# Before hashdesk.changes.api: its changes/{number} would otherwise take "calendar".
api.add_router("/v1/", "hashdesk.changes.api_calendar.router")
api.add_router("/v1/", "hashdesk.changes.api_review.router")
api.add_router("/v1/", "hashdesk.changes.api_comms.router")
api.add_router("/v1/", "hashdesk.changes.api.router")
api.add_router("/v1/", "hashdesk.problems.api.router")
api.add_router("/v1/", "hashdesk.insights.api_similar.router")
api.add_router("/v1/", "hashdesk.insights.api_candidates.router")
api.add_router("/v1/", "hashdesk.insights.api_bursts.router")
api.add_router("/v1/", "hashdesk.insights.api_routing.router")
api.add_router("/v1/", "hashdesk.insights.api_deflection.router")
api.add_router("/v1/", "hashdesk.search.api.router")
api.add_router("/v1/", "hashdesk.status.api.router")
api.add_router("/v1/", "hashdesk.integrations.transfer.api.router")
