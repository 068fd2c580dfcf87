"""The OpenAPI document and the interactive docs page."""

from __future__ import annotations

import json

import pytest
from django.test import Client


def test_openapi_document_describes_v1_with_problem_errors():
    document = json.loads(Client().get("/api/openapi.json").content)
    assert document["openapi"].startswith("3.1")
    services = document["paths"]["/api/v1/services"]
    assert set(services) == {"get", "post"}
    assert services["get"]["operationId"] == "list_services"
    for status in ("401", "422", "429"):
        assert list(services["get"]["responses"][status]["content"]) == ["application/problem+json"]
    assert list(services["post"]["responses"]["201"]["content"]) == ["application/json"]
    schemes = document["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}


def test_patch_schemas_are_not_nullable_where_null_is_refused():
    schemas = json.loads(Client().get("/api/openapi.json").content)["components"]["schemas"]
    name = schemas["ServiceUpdate"]["properties"]["name"]
    assert name["type"] == "string" and "default" not in name
    assert schemas["ServiceUpdate"]["additionalProperties"] is False


@pytest.mark.django_db
def test_docs_page_loads_its_scripts_from_this_site_only():
    response = Client().get("/api/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy


def test_api_root_points_to_the_versions_and_docs():
    index = json.loads(Client().get("/api/").content)
    assert index == {
        "versions": {"v1": "/api/v1/"},
        "openapi": "/api/openapi.json",
        "docs": "/api/docs",
    }
    response = Client(enforce_csrf_checks=True).post("/api/")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
