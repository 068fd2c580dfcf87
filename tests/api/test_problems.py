"""Every error is an RFC 9457 problem, bad input changes nothing, and no traceback leaks."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from hashdesk.catalog import api as catalog_api
from hashdesk.catalog.models import Service
from tests.api.support import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(as_token, administrator):
    return as_token(administrator)


@pytest.mark.parametrize("body", ["{", '{"name": "VPN",}', "not json", "\xff"])
def test_malformed_json_is_400(admin_api, body, nothing_changes):
    with nothing_changes():
        response = admin_api.post("/api/v1/services", body)
    assert_problem(response, 400, "malformed_body")
    assert not Service.objects.exists()


@pytest.mark.parametrize("body", ["[]", '"a string"', "42", "null"])
def test_a_body_that_is_not_an_object_is_422(admin_api, body, nothing_changes):
    with nothing_changes():
        response = admin_api.post("/api/v1/services", body)
    assert_problem(response, 422, "invalid")
    assert not Service.objects.exists()


def test_unknown_fields_are_refused_with_a_pointer(admin_api, nothing_changes):
    with nothing_changes():
        response = admin_api.post(
            "/api/v1/services", {"name": "Printing", "hashtag": "print", "colour": "red"}
        )
    problem = assert_problem(response, 422, "invalid")
    assert problem["errors"] == [
        {
            "field": "colour",
            "location": "body",
            "pointer": "/colour",
            "message": "Extra inputs are not permitted",
            "code": "extra_forbidden",
        }
    ]
    assert not Service.objects.exists()


def test_every_bad_field_is_listed(admin_api, nothing_changes):
    with nothing_changes():
        response = admin_api.post(
            "/api/v1/services",
            {"name": "x" * 101, "hashtag": 7, "criticality": "apocalyptic", "visibility": None},
        )
    problem = assert_problem(response, 422)
    by_field = {e["field"]: e for e in problem["errors"]}
    assert set(by_field) == {"name", "hashtag", "criticality", "visibility"}
    assert by_field["name"]["code"] == "string_too_long"
    assert by_field["hashtag"]["pointer"] == "/hashtag"
    assert not Service.objects.exists()


def test_a_missing_body_is_422(admin_api):
    problem = assert_problem(admin_api.post("/api/v1/services", ""), 422)
    assert problem["errors"] == [
        {
            "field": "body",
            "location": "body",
            "pointer": "",
            "message": "A JSON object is required as the request body.",
            "code": "missing",
        }
    ]


def test_bad_query_parameters_are_422(admin_api):
    for query in ("limit=0", "limit=201", "limit=ten", "criticality=huge", "is_active=perhaps"):
        problem = assert_problem(admin_api.get(f"/api/v1/services?{query}"), 422)
        assert problem["errors"][0]["location"] == "query"


def test_unknown_api_path_is_a_problem_404(admin_api, anonymous):
    assert_problem(admin_api.get("/api/v1/nothing-here"), 404, "not_found")
    assert_problem(anonymous.get("/api/v2/services"), 404, "not_found")
    assert_problem(admin_api.get("/api/v1/configuration-items/not-a-number"), 404)
    assert_problem(admin_api.delete("/api/v1/nothing%0Ahere"), 404, "not_found")


def test_wrong_method_is_a_problem_405_with_allow(admin_api, vpn_service):
    response = admin_api.request("PUT", "/api/v1/services/vpn", {"name": "VPN"})
    assert_problem(response, 405, "method_not_allowed")
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "PATCH"}


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_a_body_over_the_limit_is_413(admin_api, nothing_changes):
    with nothing_changes():
        response = admin_api.post(
            "/api/v1/services", {"name": "Big", "hashtag": "big", "description": "x" * 2000}
        )
    problem = assert_problem(response, 413, "too_large")
    assert problem["max_bytes"] == 1024
    assert not Service.objects.exists()


def test_duplicate_hashtag_is_409_and_changes_nothing(admin_api, vpn_service, nothing_changes):
    with nothing_changes():
        response = admin_api.post("/api/v1/services", {"name": "Other VPN", "hashtag": "#VPN"})
    problem = assert_problem(response, 409, "conflict")
    assert problem["errors"][0]["field"] == "hashtag"
    assert Service.objects.count() == 1


def test_an_unexpected_error_is_a_500_problem_without_internals(
    admin_api, vpn_service, monkeypatch
):
    def explode(ids):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(catalog_api, "affected_service_ids", explode)
    response = admin_api.get("/api/v1/services/vpn/affected")
    problem = assert_problem(response, 500, "server_error")
    assert "hunter2" not in response.content.decode()
    assert problem["request_id"] == response["X-Request-ID"]


def test_problems_name_the_request(admin_api):
    response = admin_api.get("/api/v1/services/nope", HTTP_X_REQUEST_ID="trace-me-1234")
    problem = json.loads(response.content)
    assert problem["instance"] == "/api/v1/services/nope"
    assert problem["request_id"] == "trace-me-1234"
