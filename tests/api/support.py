"""Callers and assertions shared by the API tests."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from django.test import Client

from hashdesk.accounts import actions as account_actions
from hashdesk.accounts.models import User

PROBLEM = "application/problem+json"


class ApiCaller:
    """Calls the API as one person, with a bearer token or a session (plus CSRF token)."""

    def __init__(self, client: Client, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def request(self, method: str, path: str, body: Any = None, **extra: Any) -> HttpResponse:
        kwargs: dict[str, Any] = {**self.headers, **extra}
        if body is not None:
            kwargs["data"] = body if isinstance(body, str | bytes) else json.dumps(body)
            kwargs["content_type"] = "application/json"
        return getattr(self.client, method.lower())(path, **kwargs)

    def get(self, path: str, **extra: Any) -> HttpResponse:
        return self.request("GET", path, **extra)

    def post(self, path: str, body: Any = None, **extra: Any) -> HttpResponse:
        return self.request("POST", path, body, **extra)

    def patch(self, path: str, body: Any = None, **extra: Any) -> HttpResponse:
        return self.request("PATCH", path, body, **extra)

    def delete(self, path: str, **extra: Any) -> HttpResponse:
        return self.request("DELETE", path, **extra)


def raw_token(person: User, scope: str = "write", **options: Any) -> str:
    _token, raw = account_actions.do_create_api_token(
        person, name=f"{scope} token", scope=scope, **options
    )
    return raw


def assert_problem(response: HttpResponse, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem with ``status`` (and type code); returns its body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    problem = json.loads(response.content)
    assert problem["status"] == status
    assert problem["type"].startswith("urn:hashdesk:problem:")
    assert problem["title"] and problem["detail"]
    assert "Traceback" not in response.content.decode()
    if code is not None:
        assert problem["type"] == f"urn:hashdesk:problem:{code}"
    return problem
