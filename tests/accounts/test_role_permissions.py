"""Permissions come from roles alone, answered from the code's role table without queries."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from hashdesk.accounts.choices import Role
from hashdesk.accounts.roles import ROLE_PERMISSIONS, role_permissions


@pytest.mark.django_db
def test_role_groups_in_the_database_carry_exactly_the_role_table():
    for role in ROLE_PERMISSIONS:
        group = Group.objects.get(name=str(role))
        stored = {
            f"{app_label}.{codename}"
            for app_label, codename in group.permissions.values_list(
                "content_type__app_label", "codename"
            )
        }
        assert stored == role_permissions([str(role)]), role


@pytest.mark.django_db
def test_permission_checks_cost_no_query_once_roles_are_loaded(
    administrator, vpn_agent, requester, django_assert_num_queries
):
    for person in (administrator, vpn_agent, requester):
        person.roles  # noqa: B018 - loaded once per request by the shell anyway
    with django_assert_num_queries(0):
        assert administrator.has_perm("accounts.change_user")
        assert not vpn_agent.has_perm("accounts.change_user")
        assert vpn_agent.has_perm("catalog.view_service")
        assert not requester.has_perm("catalog.view_service")
        assert requester.get_all_permissions() == set()


@pytest.mark.django_db
def test_inactive_people_have_no_permissions(administrator):
    administrator.is_active = False
    assert not administrator.has_perm("accounts.change_user")
    assert role_permissions([Role.ADMINISTRATOR]) >= {"accounts.change_user"}
