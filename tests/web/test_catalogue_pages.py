"""Catalogue pages: list, detail with the dependency graph, administrators' editing."""

from __future__ import annotations

from typing import Any

import pytest

from hashdesk.accounts.models import User
from hashdesk.catalog import actions
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.diagram import dependency_diagram
from hashdesk.catalog.graph import affected_services, upstream_services
from hashdesk.catalog.models import ConfigurationItem, Service, ServiceDependency
from hashdesk.core.models import Event
from tests.web.conftest import assert_shell_rules

pytestmark = pytest.mark.django_db


@pytest.fixture
def remote_desktop(vpn_service: Service, sso_service: Service) -> Service:
    """Remote desktop depends on VPN, which depends on single sign-on."""
    collaboration = actions.do_create_category(None, name="Remote work", position=1)
    actions.do_update_service(None, vpn_service, category=collaboration)
    service = actions.do_create_service(
        None,
        name="Remote desktop",
        hashtag="rdp",
        category=collaboration,
        visibility=Visibility.INTERNAL,
        description="Windows desktops in the data centre, reached over the VPN.",
    )
    actions.do_add_dependency(None, vpn_service, sso_service)
    actions.do_add_dependency(None, service, vpn_service)
    return service


@pytest.fixture
def secret_dependent(vpn_service: Service, security_service: Service) -> Service:
    """A confidential service that depends on the VPN."""
    actions.do_add_dependency(None, security_service, vpn_service)
    return security_service


# --- List ---------------------------------------------------------------------------------------


def test_the_list_groups_services_by_category(
    browser_for: Any, requester: User, remote_desktop: Service
) -> None:
    response = browser_for(requester).get("/catalogue/")
    assert response.status_code == 200
    groups = {group.name: [s.name for s in group.services] for group in response.context["groups"]}
    assert groups == {
        "Remote work": ["Remote desktop", "VPN"],
        "Other services": ["Single sign-on"],
    }
    html = response.content.decode()
    assert "#rdp" in html and "Network" in html  # hashtag and owner team
    assert "badge--crit-critical" in html
    assert_shell_rules(html)


def test_search_and_filters(browser_for: Any, requester: User, remote_desktop: Service) -> None:
    client = browser_for(requester)

    def names(query: str) -> list[str]:
        groups = client.get(f"/catalogue/?{query}").context["groups"]
        return sorted(s.name for group in groups for s in group.services)

    assert names("q=%23vpn") == ["VPN"]  # a '#' searches hashtags only
    assert names("q=%23") == ["Remote desktop", "Single sign-on", "VPN"]
    assert names("q=vpn") == ["Remote desktop", "VPN"]  # words search descriptions too
    assert names("q=data+centre") == ["Remote desktop"]  # by description
    assert names("criticality=critical") == ["Single sign-on"]
    assert names("category=remote-work") == ["Remote desktop", "VPN"]
    assert names("category=remote-work&criticality=high") == ["VPN"]
    # Nonsense filters are ignored rather than failing.
    assert len(names("criticality=apocalyptic")) == 3


def test_confidential_services_are_invisible_to_requesters(
    browser_for: Any, requester: User, vpn_agent: User, secret_dependent: Service
) -> None:
    mine = browser_for(requester)
    assert "Security operations" not in mine.get("/catalogue/").content.decode()
    assert mine.get("/catalogue/?q=secops").context["count"] == 0
    assert mine.get(f"/catalogue/{secret_dependent.slug}/").status_code == 404
    vpn_page = mine.get("/catalogue/vpn/").content.decode()
    assert "Security operations" not in vpn_page and "#secops" not in vpn_page

    staff = browser_for(vpn_agent)
    assert "Security operations" in staff.get("/catalogue/").content.decode()
    assert staff.get(f"/catalogue/{secret_dependent.slug}/").status_code == 200
    assert "Security operations" in staff.get("/catalogue/vpn/").content.decode()


def test_the_list_costs_the_same_queries_for_more_services(
    browser_for: Any, requester: User, remote_desktop: Service, query_count: Any
) -> None:
    client = browser_for(requester)
    client.get("/catalogue/")  # warm the session
    with query_count() as small:
        client.get("/catalogue/")
    for number in range(10):
        actions.do_create_service(None, name=f"Printer floor {number}", hashtag=f"print{number}")
    with query_count() as large:
        client.get("/catalogue/")
    assert len(large) == len(small)


# --- Detail -------------------------------------------------------------------------------------


def test_the_detail_page_shows_dependencies_both_ways(
    browser_for: Any, requester: User, remote_desktop: Service, vpn_service: Service
) -> None:
    actions.do_create_configuration_item(
        None, service=vpn_service, name="vpn-gw-01", kind="network", location="DC 1"
    )
    response = browser_for(requester).get("/catalogue/vpn/")
    assert response.status_code == 200
    context = response.context
    assert [s.name for s in context["upstream"]] == ["Single sign-on"]
    assert [s.name for s in context["affected"]] == ["Remote desktop"]
    html = response.content.decode()
    assert "vpn-gw-01" in html and "Network device" in html
    assert "Affected if this fails" in html
    # The graph: an accessible SVG with one box per service and one arrow per dependency.
    assert 'role="img"' in html and 'aria-labelledby="graph-title graph-desc"' in html
    assert html.count('class="graph__box"') == 3
    assert html.count('<path class="graph__edge') == 2
    assert f'data-live-service="{vpn_service.pk}"' in html
    assert_shell_rules(html)


def test_indirect_dependencies_are_listed_and_marked(
    browser_for: Any, requester: User, remote_desktop: Service
) -> None:
    html = browser_for(requester).get("/catalogue/single-sign-on/").content.decode()
    assert "Remote desktop" in html and "(indirectly)" in html


def test_the_diagram_places_every_arrow_left_to_right(
    remote_desktop: Service, vpn_service: Service, sso_service: Service
) -> None:
    # SSO -> VPN -> Remote desktop, plus a shortcut Remote desktop -> SSO.
    actions.do_add_dependency(None, remote_desktop, sso_service)
    diagram = dependency_diagram(
        sso_service,
        upstream=upstream_services(sso_service),
        affected=affected_services(sso_service),
    )
    columns = {node.service.name: node.column for node in diagram.nodes}
    # Longest path: Remote desktop sits right of VPN although it also depends on SSO directly.
    assert columns == {"Single sign-on": 0, "VPN": 1, "Remote desktop": 2}
    assert all(edge.source.x < edge.target.x for edge in diagram.edges)
    assert len(diagram.edges) == 3
    assert diagram.width > 3 * 176 and diagram.height > 46
    assert [h.text for h in diagram.headings] == ["This service", "Affected if it fails"]


def test_a_service_without_dependencies_has_no_graph(
    browser_for: Any, requester: User, sso_service: Service
) -> None:
    html = browser_for(requester).get("/catalogue/single-sign-on/").content.decode()
    assert "has no dependencies in either direction" in html
    assert "graph__box" not in html


# --- Administration -----------------------------------------------------------------------------


def test_only_administrators_reach_the_editing_pages(
    browser_for: Any, vpn_agent: User, administrator: User, vpn_service: Service
) -> None:
    agent = browser_for(vpn_agent)
    for url in (
        "/catalogue/-/new/",
        "/catalogue/-/categories/new/",
        "/catalogue/vpn/edit/",
        "/catalogue/vpn/dependencies/",
        "/catalogue/vpn/items/new/",
    ):
        assert agent.get(url).status_code == 403, url
        assert browser_for(administrator).get(url).status_code == 200, url
    assert agent.post("/catalogue/-/new/", {"name": "X", "hashtag": "x"}).status_code == 403
    assert not Service.objects.filter(hashtag="x").exists()


def test_administrators_create_a_service(
    browser_for: Any, administrator: User, network_team: Any, capture_events: Any
) -> None:
    with capture_events() as events:
        response = browser_for(administrator).post(
            "/catalogue/-/new/",
            {
                "name": "Wi-Fi Building B",
                "hashtag": "#WifiB",
                "owner_team": network_team.slug,
                "criticality": "high",
                "visibility": "public",
            },
        )
    service = Service.objects.get(hashtag="wifib")
    assert response["Location"] == f"/catalogue/{service.slug}/"
    assert service.owner_team == network_team and service.slug == "wi-fi-building-b"
    assert [(e.type, e.op) for e in events] == [("service", "create")]


def test_a_duplicate_hashtag_is_shown_on_its_field_and_changes_nothing(
    browser_for: Any, administrator: User, vpn_service: Service, sso_service: Service
) -> None:
    client = browser_for(administrator)
    created = client.post(
        "/catalogue/-/new/",
        {"name": "VPN 2", "hashtag": "#vpn", "criticality": "low", "visibility": "internal"},
    )
    assert created.status_code == 400
    html = created.content.decode()
    assert "The hashtag #vpn already belongs to another service." in html
    assert 'id="id_hashtag_error"' in html
    assert not Service.objects.filter(name="VPN 2").exists()

    events_before = Event.objects.count()
    edited = client.post(
        "/catalogue/single-sign-on/edit/",
        {
            "name": "Single sign-on",
            "hashtag": "vpn",
            "slug": "single-sign-on",
            "criticality": "critical",
            "visibility": "public",
            "is_active": "on",
        },
    )
    assert edited.status_code == 400
    sso_service.refresh_from_db()
    assert sso_service.hashtag == "sso"
    assert Event.objects.count() == events_before


def test_editing_saves_only_what_changed(
    browser_for: Any, administrator: User, vpn_service: Service, network_team: Any
) -> None:
    from hashdesk.audit.models import AuditEntry

    response = browser_for(administrator).post(
        "/catalogue/vpn/edit/",
        {
            "name": "VPN",
            "hashtag": "#VPN",
            "slug": "vpn",
            "description": "Remote access to the office network.",
            "owner_team": network_team.slug,
            "criticality": "critical",
            "visibility": "public",
            "is_active": "on",
        },
    )
    assert response["Location"] == "/catalogue/vpn/"
    vpn_service.refresh_from_db()
    assert vpn_service.criticality == "critical"
    entry = AuditEntry.objects.filter(action="service.update").latest("sequence")
    assert entry.before is not None and entry.after is not None
    changed = {key for key in entry.after if entry.before[key] != entry.after[key]}
    assert changed == {"criticality", "description"}


def test_a_cycle_is_refused_with_its_path(
    browser_for: Any, administrator: User, remote_desktop: Service
) -> None:
    client = browser_for(administrator)
    response = client.post(
        "/catalogue/single-sign-on/dependencies/",
        {"depends_on": remote_desktop.slug, "note": "loops back"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "would make a cycle" in html
    assert "Single sign-on → Remote desktop → VPN → Single sign-on" in html
    assert not ServiceDependency.objects.filter(depends_on=remote_desktop).exists()


def test_adding_and_removing_a_dependency(
    browser_for: Any, administrator: User, vpn_service: Service, sso_service: Service
) -> None:
    client = browser_for(administrator)
    added = client.post("/catalogue/vpn/dependencies/", {"depends_on": "single-sign-on"})
    assert added.status_code == 302
    link = ServiceDependency.objects.get(service=vpn_service, depends_on=sso_service)
    page = client.get("/catalogue/vpn/dependencies/").content.decode()
    assert "now depends on Single sign-on" in page
    assert client.get(f"/catalogue/vpn/dependencies/{link.pk}/remove/").status_code == 405
    removed = client.post(f"/catalogue/vpn/dependencies/{link.pk}/remove/")
    assert removed.status_code == 302
    assert not ServiceDependency.objects.filter(pk=link.pk).exists()
    twice = client.post(f"/catalogue/vpn/dependencies/{link.pk}/remove/")
    assert twice.status_code == 404


def test_configuration_items_are_added_edited_and_removed(
    browser_for: Any, administrator: User, vpn_service: Service
) -> None:
    client = browser_for(administrator)
    client.post(
        "/catalogue/vpn/items/new/", {"name": "vpn-gw-01", "kind": "network", "location": "DC 1"}
    )
    item = ConfigurationItem.objects.get(name="vpn-gw-01")
    duplicate = client.post("/catalogue/vpn/items/new/", {"name": "VPN-GW-01", "kind": "server"})
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.content.decode()
    assert ConfigurationItem.objects.count() == 1

    client.post(
        f"/catalogue/vpn/items/{item.pk}/edit/",
        {"name": "vpn-gw-01", "kind": "network", "location": "DC 2", "is_active": "on"},
    )
    item.refresh_from_db()
    assert item.location == "DC 2"
    assert (
        "Remove vpn-gw-01 from VPN?"
        in client.get(f"/catalogue/vpn/items/{item.pk}/delete/").content.decode()
    )
    client.post(f"/catalogue/vpn/items/{item.pk}/delete/")
    assert not ConfigurationItem.objects.exists()


def test_category_creation_refuses_duplicates(browser_for: Any, administrator: User) -> None:
    client = browser_for(administrator)
    assert (
        client.post("/catalogue/-/categories/new/", {"name": "Network", "position": 3}).status_code
        == 302
    )
    again = client.post("/catalogue/-/categories/new/", {"name": "network", "position": 1})
    assert again.status_code == 400
    assert "A category named network already exists." in again.content.decode()
