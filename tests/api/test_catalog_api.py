"""The catalogue API: services, dependencies, configuration items and categories."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from hashdesk.audit.models import AuditEntry
from hashdesk.catalog import actions
from hashdesk.catalog.models import ConfigurationItem, Service, ServiceDependency
from tests.api.support import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_api(as_token, administrator):
    return as_token(administrator)


@pytest.fixture
def remote_desktop(vpn_service):
    """Remote desktop depends on VPN."""
    service = actions.do_create_service(
        None, name="Remote desktop", hashtag="rdp", visibility="internal"
    )
    actions.do_add_dependency(None, service, vpn_service)
    return service


def body(response):
    return json.loads(response.content)


# --- Reading ------------------------------------------------------------------------------------


def test_service_detail_has_team_category_graph_and_items(admin_api, vpn_service, remote_desktop):
    category = actions.do_create_category(None, name="Network access")
    actions.do_update_service(None, vpn_service, category=category)
    actions.do_create_configuration_item(None, service=vpn_service, name="vpn-gw-1")
    upstream = actions.do_create_service(None, name="Firewall", hashtag="fw")
    actions.do_add_dependency(None, vpn_service, upstream)

    detail = body(admin_api.get("/api/v1/services/vpn"))
    assert detail["tag"] == "#vpn"
    assert detail["owner_team"] == {"slug": "network", "name": "Network"}
    assert detail["category"]["slug"] == "network-access"
    assert [s["slug"] for s in detail["depends_on"]] == ["firewall"]
    assert [s["slug"] for s in detail["dependents"]] == ["remote-desktop"]
    assert [c["name"] for c in detail["configuration_items"]] == ["vpn-gw-1"]


def test_unknown_service_is_404(admin_api):
    assert_problem(admin_api.get("/api/v1/services/no-such"), 404, "not_found")


def test_affected_lists_transitive_dependents_nearest_first(admin_api, vpn_service, remote_desktop):
    gateway = actions.do_create_service(None, name="App gateway", hashtag="gateway")
    actions.do_add_dependency(None, gateway, remote_desktop)
    answer = body(admin_api.get("/api/v1/services/vpn/affected"))
    assert answer["service"]["slug"] == "vpn"
    assert [s["slug"] for s in answer["affected"]] == ["remote-desktop", "app-gateway"]


def test_list_filters(admin_api, vpn_service, sso_service):
    category = actions.do_create_category(None, name="Identity")
    actions.do_update_service(None, sso_service, category=category)
    actions.do_create_service(None, name="Old fax", hashtag="fax", criticality="low")
    actions.do_update_service(None, Service.objects.get(hashtag="fax"), is_active=False)

    def slugs(query):
        return [s["slug"] for s in body(admin_api.get(f"/api/v1/services?{query}"))["items"]]

    assert slugs("") == ["old-fax", "single-sign-on", "vpn"]
    assert slugs("category=identity") == ["single-sign-on"]
    assert slugs("criticality=high") == ["vpn"]
    assert slugs("is_active=false") == ["old-fax"]
    assert slugs("q=%23vpn") == ["vpn"]
    assert slugs("q=sign") == ["single-sign-on"]


# --- Pagination ---------------------------------------------------------------------------------


def make_services(count, prefix="Service"):
    return [
        actions.do_create_service(
            None, name=f"{prefix} {i:02d}", hashtag=f"{prefix.lower()}{i:02d}"
        )
        for i in range(count)
    ]


def test_cursor_pages_walk_the_whole_list_once(admin_api):
    make_services(7)
    seen, url, pages = [], "/api/v1/services?limit=3", 0
    while url:
        response = admin_api.get(url)
        page = body(response)
        seen += [s["name"] for s in page["items"]]
        pages += 1
        if page["next_cursor"]:
            link = response["Link"]
            assert link.endswith('; rel="next"') and page["next_cursor"] in link
            url = link[link.index("/api/") : link.index(">")]
        else:
            assert "Link" not in response
            url = None
    assert pages == 3
    assert seen == [f"Service {i:02d}" for i in range(7)]


def test_pages_are_stable_when_rows_are_inserted_before_the_cursor(admin_api):
    make_services(4)
    first = body(admin_api.get("/api/v1/services?limit=2"))
    assert [s["name"] for s in first["items"]] == ["Service 00", "Service 01"]
    # Rows sorting before the cursor appear on no later page; nothing is repeated or skipped.
    make_services(2, prefix="Aardvark")
    rest = body(admin_api.get(f"/api/v1/services?limit=10&cursor={first['next_cursor']}"))
    assert [s["name"] for s in rest["items"]] == ["Service 02", "Service 03"]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        "WyJ4Il0",
        "bm90IGpzb24",
        "WyJuYW1lLGlkIiwiYSIsImIiXQ",
        "WyJuYW1lLGlkIiwiYSIsdHJ1ZV0",
    ],
)
def test_bad_cursors_are_422(admin_api, vpn_service, cursor):
    # Not base64; a foreign keyset; not JSON; an id that is not a number; a boolean.
    problem = assert_problem(admin_api.get(f"/api/v1/services?cursor={cursor}"), 422)
    assert problem["errors"][0] == {
        "field": "cursor",
        "location": "query",
        "message": problem["detail"],
    }


@override_settings(RATE_LIMITS_ENABLED=False)
@pytest.mark.parametrize("path", ["/api/v1/services", "/api/v1/configuration-items"])
def test_list_queries_do_not_grow_with_the_rows(admin_api, query_count, path):
    def queries_for_list():
        admin_api.get(path)  # warm: last_used_at is written at most once a minute
        with query_count() as ctx:
            response = admin_api.get(path)
        assert response.status_code == 200
        return len(ctx), len(body(response)["items"])

    services = make_services(5)
    for service in services:
        actions.do_create_configuration_item(None, service=service, name=f"{service.hashtag}-host")
    small, rows_small = queries_for_list()
    for service in make_services(20, prefix="More"):
        actions.do_create_configuration_item(None, service=service, name=f"{service.hashtag}-host")
    large, rows_large = queries_for_list()
    assert (rows_small, rows_large) == (5, 25)
    # The token with its person and roles (one join), then the page.
    assert small == large == 2


@override_settings(RATE_LIMITS_ENABLED=False)
def test_detail_queries_do_not_grow_with_the_graph(admin_api, query_count, vpn_service):
    def queries_for_detail():
        admin_api.get("/api/v1/services/vpn")
        with query_count() as ctx:
            assert admin_api.get("/api/v1/services/vpn").status_code == 200
        return len(ctx)

    few = queries_for_detail()
    for service in make_services(10):
        actions.do_add_dependency(None, service, vpn_service)
        actions.do_create_configuration_item(
            None, service=vpn_service, name=f"{service.hashtag}-gw"
        )
    # Token with roles, the service, then one query each for depends_on, dependents and items.
    assert few == queries_for_detail() == 5


# --- Writing ------------------------------------------------------------------------------------


def test_administrator_creates_a_service(admin_api, network_team, capture_events):
    actions.do_create_category(None, name="Collaboration")
    with capture_events() as events:
        response = admin_api.post(
            "/api/v1/services",
            {
                "name": "Video calls",
                "hashtag": "#Video",
                "description": "Meetings",
                "category": "collaboration",
                "owner_team": "network",
                "criticality": "high",
                "visibility": "public",
            },
        )
    assert response.status_code == 201
    created = body(response)
    assert created["hashtag"] == "video" and created["slug"] == "video-calls"
    assert created["category"]["slug"] == "collaboration"
    assert created["owner_team"]["slug"] == "network"
    assert [(e.type, e.op) for e in events] == [("service", "create")]
    assert AuditEntry.objects.filter(action="service.create").count() == 1


def test_create_with_unknown_category_or_team_is_422(admin_api, nothing_changes):
    with nothing_changes():
        for extra, field in (
            ({"category": "nope"}, "category"),
            ({"owner_team": "x"}, "owner_team"),
        ):
            response = admin_api.post("/api/v1/services", {"name": "A", "hashtag": "a", **extra})
            assert assert_problem(response, 422)["errors"][0]["field"] == field
    assert not Service.objects.exists()


def test_bad_hashtag_is_422_with_the_field(admin_api, nothing_changes):
    with nothing_changes():
        response = admin_api.post("/api/v1/services", {"name": "Odd", "hashtag": "9 lives"})
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["field"] == "hashtag"
    assert problem["errors"][0]["pointer"] == "/hashtag"


def test_patch_changes_only_the_fields_sent(admin_api, vpn_service):
    response = admin_api.patch(
        "/api/v1/services/vpn", {"description": "Remote access", "owner_team": None}
    )
    assert response.status_code == 200
    vpn_service.refresh_from_db()
    assert vpn_service.description == "Remote access"
    assert vpn_service.owner_team is None
    assert vpn_service.name == "VPN" and vpn_service.criticality == "high"


def test_patch_refuses_nulls_for_required_fields_and_empty_patches(
    admin_api, vpn_service, nothing_changes
):
    with nothing_changes():
        assert_problem(admin_api.patch("/api/v1/services/vpn", {"name": None}), 422)
        assert_problem(admin_api.patch("/api/v1/services/vpn", {"is_active": "maybe"}), 422)
        assert_problem(admin_api.patch("/api/v1/services/vpn", {}), 422)
        assert_problem(admin_api.patch("/api/v1/services/vpn", {"id": 99}), 422)
    vpn_service.refresh_from_db()
    assert vpn_service.name == "VPN"


def test_patch_to_a_taken_hashtag_is_409(admin_api, vpn_service, sso_service, nothing_changes):
    with nothing_changes():
        response = admin_api.patch("/api/v1/services/single-sign-on", {"hashtag": "vpn"})
    assert_problem(response, 409, "conflict")
    sso_service.refresh_from_db()
    assert sso_service.hashtag == "sso"


def test_dependencies_are_added_and_removed(admin_api, vpn_service, sso_service):
    response = admin_api.post(
        "/api/v1/services/vpn/dependencies", {"depends_on": "single-sign-on", "note": "login"}
    )
    assert response.status_code == 201
    assert body(response) == {
        "service": {"slug": "vpn", "name": "VPN", "hashtag": "vpn", "criticality": "high"},
        "depends_on": {
            "slug": "single-sign-on",
            "name": "Single sign-on",
            "hashtag": "sso",
            "criticality": "critical",
        },
        "note": "login",
    }
    assert_problem(
        admin_api.post("/api/v1/services/vpn/dependencies", {"depends_on": "single-sign-on"}),
        409,
    )
    assert admin_api.delete("/api/v1/services/vpn/dependencies/single-sign-on").status_code == 204
    assert not ServiceDependency.objects.exists()
    assert_problem(admin_api.delete("/api/v1/services/vpn/dependencies/single-sign-on"), 404)


def test_a_cycle_is_refused_with_its_path(admin_api, vpn_service, remote_desktop, nothing_changes):
    gateway = actions.do_create_service(None, name="App gateway", hashtag="gateway")
    actions.do_add_dependency(None, gateway, remote_desktop)
    with nothing_changes():
        response = admin_api.post(
            "/api/v1/services/vpn/dependencies", {"depends_on": "app-gateway"}
        )
    problem = assert_problem(response, 422, "invalid")
    assert problem["cycle"] == ["vpn", "app-gateway", "remote-desktop", "vpn"]
    assert problem["errors"][0]["field"] == "depends_on"
    assert "cycle" in problem["detail"]
    assert ServiceDependency.objects.count() == 2


def test_self_dependency_and_unknown_target_are_422(admin_api, vpn_service, nothing_changes):
    with nothing_changes():
        for target in ("vpn", "nowhere"):
            response = admin_api.post("/api/v1/services/vpn/dependencies", {"depends_on": target})
            assert assert_problem(response, 422)["errors"][0]["field"] == "depends_on"


def test_configuration_items_crud(admin_api, vpn_service, sso_service):
    response = admin_api.post(
        "/api/v1/configuration-items",
        {"service": "vpn", "name": "vpn-gw-1", "kind": "network", "location": "DC1"},
    )
    assert response.status_code == 201
    item = body(response)
    assert item["service"]["slug"] == "vpn" and item["kind"] == "network"
    path = f"/api/v1/configuration-items/{item['id']}"
    assert body(admin_api.get(path))["location"] == "DC1"

    changed = body(admin_api.patch(path, {"service": "single-sign-on", "is_active": False}))
    assert changed["service"]["slug"] == "single-sign-on" and changed["is_active"] is False

    listing = body(admin_api.get("/api/v1/configuration-items?service=single-sign-on&kind=network"))
    assert [i["name"] for i in listing["items"]] == ["vpn-gw-1"]
    assert body(admin_api.get("/api/v1/configuration-items?q=dc1"))["items"][0]["id"] == item["id"]

    assert_problem(
        admin_api.post("/api/v1/configuration-items", {**item_body(), "name": "vpn-gw-1"}), 409
    )
    assert admin_api.delete(path).status_code == 204
    assert not ConfigurationItem.objects.exists()
    assert_problem(admin_api.get(path), 404)
    assert_problem(admin_api.delete(path), 404)


def item_body():
    return {"service": "vpn", "name": "x"}


def test_configuration_item_bad_input_is_422(admin_api, vpn_service, nothing_changes):
    with nothing_changes():
        for payload in (
            {"service": "vpn", "name": "x", "kind": "toaster"},
            {"service": "nowhere", "name": "x"},
            {"service": "vpn", "name": "x" * 101},
            {"service": "vpn"},
            {"service": "vpn", "name": "x", "serial": "123"},
        ):
            assert_problem(admin_api.post("/api/v1/configuration-items", payload), 422)
    assert not ConfigurationItem.objects.exists()


def test_categories_are_listed_in_display_order(admin_api):
    actions.do_create_category(None, name="Workplace", position=2)
    actions.do_create_category(None, name="Identity", position=1)
    actions.do_create_category(None, name="Network", position=1)
    page = body(admin_api.get("/api/v1/categories?limit=2"))
    assert [c["name"] for c in page["items"]] == ["Identity", "Network"]
    rest = body(admin_api.get(f"/api/v1/categories?cursor={page['next_cursor']}"))
    assert [c["name"] for c in rest["items"]] == ["Workplace"]
