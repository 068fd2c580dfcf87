"""The catalogue's actions: validation, uniqueness, the dependency graph and its cycles."""

from __future__ import annotations

import pytest

from hashdesk.audit.models import AuditEntry
from hashdesk.catalog import actions
from hashdesk.catalog.graph import affected_services, upstream_services
from hashdesk.catalog.models import Service, ServiceDependency
from hashdesk.core.errors import Conflict, Forbidden, ValidationFailed


def make(name: str, tag: str) -> Service:
    return actions.do_create_service(None, name=name, hashtag=tag)


@pytest.mark.django_db
def test_create_service_normalises_hashtag_and_records_audit_and_event(
    administrator, capture_events
):
    with capture_events() as events:
        service = actions.do_create_service(administrator, name="Printing", hashtag=" #Print ")
    assert service.hashtag == "print"
    assert service.slug == "printing"
    entry = AuditEntry.objects.get(action="service.create")
    assert entry.actor == administrator and entry.after["hashtag"] == "print"
    assert [(e.type, e.op) for e in events] == [("service", "create")]
    assert f"service:{service.pk}" in events[0].streams


@pytest.mark.django_db
@pytest.mark.parametrize("tag", ["", "#", "9lives", "has space", "x" * 51, "vpn!"])
def test_bad_hashtags_are_refused_and_change_nothing(administrator, tag):
    audit_rows = AuditEntry.objects.count()
    with pytest.raises(ValidationFailed) as caught:
        actions.do_create_service(administrator, name="Odd", hashtag=tag)
    assert caught.value.field == "hashtag"
    assert not Service.objects.exists()
    assert AuditEntry.objects.count() == audit_rows


@pytest.mark.django_db
def test_duplicate_hashtag_is_a_conflict(administrator, vpn_service):
    with pytest.raises(Conflict) as caught:
        actions.do_create_service(administrator, name="Other VPN", hashtag="#VPN")
    assert caught.value.field == "hashtag"
    assert Service.objects.count() == 1


@pytest.mark.django_db
def test_only_administrators_change_the_catalogue(requester, vpn_agent, vpn_service):
    for person in (requester, vpn_agent):
        with pytest.raises(Forbidden):
            actions.do_create_service(person, name="Shadow IT", hashtag="shadow")
        with pytest.raises(Forbidden):
            actions.do_update_service(person, vpn_service, name="Hijacked")
    vpn_service.refresh_from_db()
    assert vpn_service.name == "VPN"


@pytest.mark.django_db
def test_update_refuses_unknown_fields_and_keeps_the_row(administrator, vpn_service):
    with pytest.raises(ValidationFailed):
        actions.do_update_service(administrator, vpn_service, name="New", colour="red")
    vpn_service.refresh_from_db()
    assert vpn_service.name == "VPN"


@pytest.mark.django_db
def test_affected_services_are_all_transitive_dependents(administrator):
    sso, vpn, rdp, erp, wiki = (
        make(n, t)
        for n, t in [
            ("SSO", "sso"),
            ("VPN", "vpn"),
            ("Remote desktop", "rdp"),
            ("ERP", "erp"),
            ("Wiki", "wiki"),
        ]
    )
    actions.do_add_dependency(administrator, vpn, sso)
    actions.do_add_dependency(administrator, rdp, vpn)
    actions.do_add_dependency(administrator, erp, sso)
    assert {s.name for s in affected_services(sso)} == {"VPN", "Remote desktop", "ERP"}
    assert {s.name for s in affected_services(vpn)} == {"Remote desktop"}
    assert affected_services(wiki) == []
    assert {s.name for s in upstream_services(rdp)} == {"VPN", "SSO"}


@pytest.mark.django_db
def test_a_dependency_that_closes_a_cycle_is_refused_with_the_path(administrator):
    a, b, c = make("Alpha", "alpha"), make("Beta", "beta"), make("Gamma", "gamma")
    actions.do_add_dependency(administrator, a, b)
    actions.do_add_dependency(administrator, b, c)
    with pytest.raises(ValidationFailed) as caught:
        actions.do_add_dependency(administrator, c, a)
    assert "Gamma → Alpha → Beta → Gamma" in caught.value.detail
    assert ServiceDependency.objects.count() == 2
    with pytest.raises(ValidationFailed):
        actions.do_add_dependency(administrator, a, a)
    with pytest.raises(Conflict):
        actions.do_add_dependency(administrator, a, b)


@pytest.mark.django_db
def test_affected_services_costs_two_queries_whatever_the_depth(administrator, query_count):
    chain = [make(f"Layer {i}", f"layer{i}") for i in range(8)]
    for upper, lower in zip(chain[1:], chain[:-1], strict=True):
        actions.do_add_dependency(administrator, upper, lower)
    with query_count() as ctx:
        assert len(affected_services(chain[0])) == 7
    assert len(ctx) == 2
