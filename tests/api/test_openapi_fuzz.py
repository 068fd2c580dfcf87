"""schemathesis against /api/openapi.json: generated requests to every operation, as an
administrator with a write token, never get a server error and always get the documented answer
(status code, content type, body schema; errors as problem+json)."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hashdesk.catalog import actions
from tests.api.support import raw_token

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Not negative_data_rejection: every call replaces the generated Authorization header with a
# valid token, and query values such as an empty object serialise to a valid "q=", so a
# "negative" case is often a valid request by the time it is sent (a false failure seen in CI).
# Refusal of bad input is asserted case by case in test_problems.py and each endpoint's tests.


@pytest.fixture
def wsgi_requests_keep_the_test_transaction():
    """Calls go through the real WSGI handler, which closes "old" connections after each request
    and would so close the test's transaction; Django's test client disconnects it the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(
    db, wsgi_requests_keep_the_test_transaction, administrator, vpn_service, sso_service, settings
):
    """A write token, and a little catalogue so that some generated slugs find something."""
    settings.RATE_LIMITS_ENABLED = False
    actions.do_create_category(None, name="Network")
    actions.do_create_configuration_item(None, service=vpn_service, name="vpn-gw")
    return raw_token(administrator, "write")


# Loaded when the module is collected: serving the OpenAPI document needs no database.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_generated_requests_get_documented_answers(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Bearer {admin_token}"}, checks=CHECKS)
