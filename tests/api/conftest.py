"""Fixtures for API tests: callers by token or session, and a no-change check."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils.crypto import get_random_string

from hashdesk.accounts.models import User
from hashdesk.audit.models import AuditEntry
from hashdesk.core.models import Event
from tests.api.support import ApiCaller, raw_token


@pytest.fixture
def as_token(db: Any) -> Callable[..., ApiCaller]:
    """``as_token(person, scope="write")``: a caller presenting a fresh personal token."""

    def make(person: User, scope: str = "write") -> ApiCaller:
        return ApiCaller(Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw_token(person, scope)}"})

    return make


@pytest.fixture
def anonymous() -> ApiCaller:
    return ApiCaller(Client(), {})


@pytest.fixture
def as_session(db: Any) -> Callable[..., ApiCaller]:
    """``as_session(person, csrf=True)``: a signed-in browser; writes carry the CSRF token
    unless ``csrf=False``. CSRF is enforced as in production (``enforce_csrf_checks``)."""

    def make(person: User, *, csrf: bool = True) -> ApiCaller:
        client = Client(enforce_csrf_checks=True)
        client.force_login(person)
        secret = get_random_string(32)
        client.cookies[settings.CSRF_COOKIE_NAME] = secret
        return ApiCaller(client, {"HTTP_X_CSRFTOKEN": secret} if csrf else {})

    return make


@pytest.fixture
def nothing_changes(db: Any) -> Callable[[], Any]:
    """``with nothing_changes(): ...`` fails if the block wrote an audit row or an event."""

    @contextmanager
    def check() -> Iterator[None]:
        before = (AuditEntry.objects.count(), Event.objects.count())
        yield
        assert (AuditEntry.objects.count(), Event.objects.count()) == before

    return check
