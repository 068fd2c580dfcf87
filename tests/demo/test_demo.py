"""The demo organisation: complete, reproducible, idempotent, and signed into with one password.

Loading takes a few seconds, so one load is shared by the module (inside a transaction that is
rolled back at the end) and each test reads from it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.db import transaction
from django.test import Client

from hashdesk.accounts.choices import Role
from hashdesk.accounts.models import Team, TeamMembership, User
from hashdesk.audit.models import AuditEntry
from hashdesk.audit.trail import verify
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.graph import affected_services
from hashdesk.catalog.models import ConfigurationItem, Service, ServiceCategory, ServiceDependency
from hashdesk.core.models import Event
from hashdesk.demo import DEMO_PASSWORD, demo_sign_ins
from hashdesk.demo.catalogue import SERVICES
from hashdesk.demo.loader import DemoSummary, load_demo
from hashdesk.demo.people import plan_people

COUNTED = (User, Team, TeamMembership, ServiceCategory, Service, ServiceDependency,
           ConfigurationItem, AuditEntry, Event)  # fmt: skip


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


@pytest.fixture(scope="module")
def demo(django_db_setup: Any, django_db_blocker: Any) -> Iterator[DemoSummary]:
    with django_db_blocker.unblock(), transaction.atomic():
        # The organisation only: the year of incidents has its own tests (test_demo_incidents).
        summary = load_demo(incidents=0)
        yield summary
        transaction.set_rollback(True)


def test_the_organisation_has_what_the_demo_promises(demo: DemoSummary, db: Any) -> None:
    assert User.objects.count() == 500
    assert 38 <= Service.objects.count() <= 45
    assert Team.objects.count() == 10
    assert ConfigurationItem.objects.count() >= Service.objects.count()
    assert not Service.objects.filter(configuration_items=None).exists()
    assert not Service.objects.filter(owner_team=None).exists()
    hashtags = set(Service.objects.values_list("hashtag", flat=True))
    assert {"sso", "vpn", "email", "wifi-a", "wifi-b", "wifi-c", "printing", "erp", "hr",
            "laptops", "mobile", "fileshares", "dns", "dhcp", "corenet", "dcpower", "backup",
            "mfa", "rdp", "chat", "video", "servicedesk", "payroll", "crm"} <= hashtags  # fmt: skip
    # Some services are for the service desk's eyes only.
    confidential = set(
        Service.objects.filter(visibility=Visibility.CONFIDENTIAL).values_list("hashtag", flat=True)
    )
    assert "secops" in confidential
    people = User.objects.all()
    assert len({p.department for p in people}) >= 10
    assert {p.site for p in people} >= {"Building A", "Building B", "Building C", "Remote"}
    assert people.filter(is_vip=True).count() >= 10
    # Every team has members, and agents staff them.
    for team in Team.objects.all():
        assert team.memberships.exists(), team.name
    assert User.objects.filter(groups__name=Role.AGENT).count() >= 40
    assert demo.created["people"] == 500


def test_the_dependency_graph_is_realistic_and_has_no_cycle(demo: DemoSummary, db: Any) -> None:
    edges: dict[int, list[int]] = {}
    for service_id, upstream_id in ServiceDependency.objects.values_list(
        "service_id", "depends_on_id"
    ):
        edges.setdefault(service_id, []).append(upstream_id)
    # Depth-first search with colours: reaching a grey node again means a cycle.
    colour: dict[int, str] = {}

    def visit(node: int) -> None:
        colour[node] = "grey"
        for upstream in edges.get(node, []):
            assert colour.get(upstream) != "grey", "the demo dependency graph has a cycle"
            if upstream not in colour:
                visit(upstream)
        colour[node] = "black"

    for node in edges:
        if node not in colour:
            visit(node)

    remote_desktop = Service.objects.get(hashtag="rdp")
    assert set(remote_desktop.depends_on.values_list("hashtag", flat=True)) >= {"vpn"}
    # A core network outage reaches nearly everything that people use.
    affected = {s.hashtag for s in affected_services(Service.objects.get(hashtag="corenet"))}
    assert {"vpn", "email", "wifi-a", "erp", "rdp", "servicedesk"} <= affected
    assert "dcpower" not in affected


def test_loading_again_changes_nothing(demo: DemoSummary, db: Any) -> None:
    before = _counts()
    again = load_demo(incidents=0)
    assert not again.changed
    assert again.describe() == "The demo organisation is already complete; nothing changed."
    assert _counts() == before


def test_a_partly_deleted_demo_is_completed_with_the_same_people(
    demo: DemoSummary, db: Any
) -> None:
    plan = plan_people()
    missing = plan[-1]
    User.objects.filter(email=missing.email).delete()
    summary = load_demo(incidents=0)
    assert summary.created == {"people": 1}
    restored = User.objects.get(email=missing.email)
    assert (restored.display_name, restored.department, restored.site) == (
        missing.display_name, missing.department, missing.site,
    )  # fmt: skip


def test_every_change_went_through_actions_and_the_audit_trail(demo: DemoSummary, db: Any) -> None:
    actions = Counter(AuditEntry.objects.values_list("action", flat=True))
    assert actions["user.create"] == 500
    assert actions["service.create"] == len(SERVICES)
    assert actions["service.dependency_add"] == ServiceDependency.objects.count()
    assert actions["team.member_add"] == TeamMembership.objects.count()
    assert verify().ok


def test_the_same_seed_gives_the_same_people_and_another_seed_does_not() -> None:
    assert plan_people(2024) == plan_people(2024)
    assert [p.email for p in plan_people(2024)] != [p.email for p in plan_people(7)]
    emails = [p.email for p in plan_people()]
    assert len(set(emails)) == len(emails) == 500
    assert all(email.isascii() for email in emails)


def test_each_role_has_a_demo_sign_in_with_the_documented_password(
    demo: DemoSummary, db: Any
) -> None:
    accounts = demo_sign_ins()
    assert [a.email.split("@")[0] for a in accounts] == [
        "requester", "agent", "problem.manager", "change.manager", "admin",
    ]  # fmt: skip
    expected_roles = [Role.REQUESTER, Role.AGENT, Role.PROBLEM_MANAGER, Role.CHANGE_MANAGER,
                      Role.ADMINISTRATOR]  # fmt: skip
    # Demo sign-ins share one Argon2 hash; nobody else can sign in with a password. (Checked
    # before signing in: the tests' fast hasher re-hashes a password on its first use.)
    signed_in = User.objects.filter(email__in=[a.email for a in accounts])
    assert len({u.password for u in signed_in}) == 1
    assert signed_in[0].password.startswith("argon2")
    for account, role in zip(accounts, expected_roles, strict=True):
        person = authenticate(None, email=account.email, password=DEMO_PASSWORD)
        assert person is not None, account.email
        assert person.has_role(role)
    others = User.objects.exclude(email__in=[a.email for a in accounts])
    assert not any(u.has_usable_password() for u in others)


def test_the_demo_agent_can_sign_in_through_the_browser_session(
    demo: DemoSummary, db: Any, client: Client
) -> None:
    assert client.login(email="agent@demo.hashdesk.test", password=DEMO_PASSWORD)
    assert not client.login(email="agent@demo.hashdesk.test", password="wrong-password")
