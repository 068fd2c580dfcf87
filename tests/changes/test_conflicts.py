"""find_conflicts: overlapping changes (directly or through the dependency graph), freezes and
maintenance windows; three queries however many changes there are."""

from __future__ import annotations

import pytest

from hashdesk.catalog import actions as catalog_actions
from hashdesk.changes.choices import ChangeState, ConflictKind, WindowKind
from hashdesk.changes.conflicts import find_conflicts
from hashdesk.changes.windows import do_create_window
from tests.changes.schedule_support import at, plan_change

pytestmark = pytest.mark.django_db


@pytest.fixture
def remote_desktop(vpn_service):
    """Remote desktop depends on VPN: a change to the VPN affects it too."""
    service = catalog_actions.do_create_service(
        None, name="Remote desktop", hashtag="rdp", visibility="public"
    )
    catalog_actions.do_add_dependency(None, service, vpn_service)
    return service


def kinds(conflicts):
    return [conflict.kind for conflict in conflicts]


def test_an_overlapping_change_on_the_same_service_conflicts(vpn_agent, vpn_service):
    other = plan_change(vpn_agent, [vpn_service], at(10, 9), at(10, 12), summary="New VPN certs")
    change = plan_change(
        vpn_agent, [vpn_service], at(10, 11), at(10, 13), state=ChangeState.AUTHORISE
    )

    [conflict] = find_conflicts(change)

    assert conflict.kind == ConflictKind.OVERLAP
    assert conflict.other == other.number
    assert conflict.services == ("VPN",)
    assert other.number in conflict.detail and "New VPN certs" in conflict.detail


def test_changes_overlap_through_a_dependency(vpn_agent, vpn_service, remote_desktop):
    # The VPN change takes remote desktop down with it; the remote desktop change overlaps it.
    vpn_change = plan_change(vpn_agent, [vpn_service], at(10, 9), at(10, 12))
    rdp_change = plan_change(
        vpn_agent, [remote_desktop], at(10, 10), at(10, 11), state=ChangeState.AUTHORISE
    )

    [conflict] = find_conflicts(rdp_change)

    assert (conflict.kind, conflict.other) == (ConflictKind.OVERLAP, vpn_change.number)
    assert conflict.services == ("Remote desktop",)


def test_adjacent_changes_and_unrelated_services_do_not_conflict(
    vpn_agent, vpn_service, sso_service
):
    plan_change(vpn_agent, [vpn_service], at(10, 9), at(10, 12))
    plan_change(vpn_agent, [sso_service], at(10, 12), at(10, 14))
    after = plan_change(vpn_agent, [vpn_service], at(10, 12), at(10, 14), state="authorise")
    elsewhere = plan_change(vpn_agent, [sso_service], at(10, 9), at(10, 11), state="authorise")

    assert find_conflicts(after) == []
    assert find_conflicts(elsewhere) == []


def test_only_scheduled_and_implementing_changes_hold_their_slot(vpn_agent, vpn_service):
    for state in (ChangeState.AUTHORISE, ChangeState.CANCELLED, ChangeState.CLOSED):
        plan_change(vpn_agent, [vpn_service], at(10, 9), at(10, 12), state=state)
    running = plan_change(
        vpn_agent, [vpn_service], at(10, 9), at(10, 12), state=ChangeState.IMPLEMENTING
    )
    change = plan_change(vpn_agent, [vpn_service], at(10, 10), at(10, 11), state="authorise")

    assert [c.other for c in find_conflicts(change)] == [running.number]


def test_a_scheduled_change_does_not_conflict_with_itself(vpn_agent, vpn_service):
    change = plan_change(vpn_agent, [vpn_service], at(10, 9), at(10, 12))

    assert find_conflicts(change) == []
    assert [c.other for c in find_conflicts(change, exclude_self=False)] == [change.number]


def test_a_change_without_a_plan_has_no_conflicts(
    vpn_agent, vpn_service, django_assert_num_queries
):
    plan_change(vpn_agent, [vpn_service], at(10, 9), at(10, 12))
    change = plan_change(vpn_agent, [vpn_service], None, None, state=ChangeState.DRAFT)

    with django_assert_num_queries(0):
        assert find_conflicts(change) == []


def test_freezes_on_the_service_or_on_every_service_conflict(
    vpn_agent, change_manager, vpn_service, sso_service
):
    do_create_window(
        change_manager,
        kind=WindowKind.FREEZE,
        name="Year-end freeze",
        starts_at=at(10, 0),
        ends_at=at(11, 0),
    )
    do_create_window(
        change_manager,
        kind=WindowKind.FREEZE,
        name="VPN audit",
        starts_at=at(10, 8),
        ends_at=at(10, 18),
        services=[vpn_service],
    )
    do_create_window(
        change_manager,
        kind=WindowKind.FREEZE,
        name="SSO migration",
        starts_at=at(10, 8),
        ends_at=at(10, 18),
        services=[sso_service],
    )
    change = plan_change(vpn_agent, [vpn_service], at(10, 9), at(10, 10), state="authorise")
    later = plan_change(vpn_agent, [vpn_service], at(11, 0), at(11, 2), state="authorise")

    conflicts = find_conflicts(change)

    assert kinds(conflicts) == [ConflictKind.FREEZE, ConflictKind.FREEZE]
    assert [(c.other, c.services) for c in conflicts] == [
        ("Year-end freeze", ("VPN",)),
        ("VPN audit", ("VPN",)),
    ]
    assert find_conflicts(later) == []


def test_a_service_with_maintenance_windows_is_changed_inside_one(
    vpn_agent, change_manager, vpn_service, sso_service
):
    do_create_window(
        change_manager,
        kind=WindowKind.MAINTENANCE,
        name="VPN Sunday night",
        starts_at=at(9, 1),
        ends_at=at(9, 5),
        services=[vpn_service],
    )
    inside = plan_change(vpn_agent, [vpn_service], at(9, 2), at(9, 4), state="authorise")
    outside = plan_change(vpn_agent, [vpn_service], at(9, 4), at(9, 6), state="authorise")
    both = plan_change(
        vpn_agent, [vpn_service, sso_service], at(8, 10), at(8, 11), state="authorise"
    )
    # A service without windows may be changed any time; windows already over do not count.
    sso_only = plan_change(vpn_agent, [sso_service], at(8, 10), at(8, 11), state="authorise")
    after_them = plan_change(vpn_agent, [vpn_service], at(9, 6), at(9, 7), state="authorise")

    assert find_conflicts(inside) == []
    [conflict] = find_conflicts(outside)
    assert conflict.kind == ConflictKind.OUTSIDE_MAINTENANCE
    assert (conflict.other, conflict.services) == ("VPN Sunday night", ("VPN",))
    assert [c.services for c in find_conflicts(both)] == [("VPN",)]
    assert find_conflicts(sso_only) == []
    assert find_conflicts(after_them) == []


def test_maintenance_windows_of_a_dependent_service_apply(
    vpn_agent, change_manager, vpn_service, remote_desktop
):
    do_create_window(
        change_manager,
        kind=WindowKind.MAINTENANCE,
        name="Remote desktop nights",
        starts_at=at(9, 1),
        ends_at=at(9, 5),
        services=[remote_desktop],
    )
    change = plan_change(vpn_agent, [vpn_service], at(8, 10), at(8, 11), state="authorise")

    assert [c.services for c in find_conflicts(change)] == [("Remote desktop",)]


@pytest.mark.parametrize("others", [3, 30])
def test_the_check_costs_three_queries_however_many_changes(
    others, vpn_agent, change_manager, vpn_service, remote_desktop, django_assert_num_queries
):
    for index in range(others):
        plan_change(vpn_agent, [vpn_service], at(10, 9), at(10, 12), summary=f"Change {index}")
        plan_change(vpn_agent, [vpn_service], at(12, 9), at(12, 12))
    do_create_window(
        change_manager, kind="freeze", name="Freeze", starts_at=at(10, 0), ends_at=at(10, 23)
    )
    change = plan_change(vpn_agent, [remote_desktop], at(10, 10), at(10, 11), state="authorise")

    with django_assert_num_queries(3):
        conflicts = find_conflicts(change)

    assert kinds(conflicts) == [ConflictKind.OVERLAP] * others + [ConflictKind.FREEZE]


def test_a_conflict_reads_as_plain_data(vpn_agent, vpn_service):
    other = plan_change(vpn_agent, [vpn_service], at(10, 9), at(10, 12))
    change = plan_change(vpn_agent, [vpn_service], at(10, 11), at(10, 13), state="authorise")

    [conflict] = find_conflicts(change)

    assert conflict.as_dict() == {
        "kind": "overlap",
        "detail": conflict.detail,
        "other": other.number,
        "services": ["VPN"],
    }
