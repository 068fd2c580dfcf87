"""Roles are Django groups; this module says which permissions each one carries.

Permissions are the coarse "may this person manage X" switches. Which records a person may
*see* is decided in hashdesk.core.visibility.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from hashdesk.accounts.choices import Role

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.REQUESTER: [],
    Role.AGENT: [
        "catalog.view_service",
        "catalog.view_configurationitem",
        "accounts.view_team",
        "accounts.view_user",
    ],
    Role.PROBLEM_MANAGER: [
        "catalog.view_service",
        "catalog.view_configurationitem",
        "accounts.view_team",
        "accounts.view_user",
    ],
    Role.CHANGE_MANAGER: [
        "catalog.view_service",
        "catalog.view_configurationitem",
        "accounts.view_team",
        "accounts.view_user",
    ],
    Role.ADMINISTRATOR: [
        "catalog.add_service",
        "catalog.change_service",
        "catalog.delete_service",
        "catalog.view_service",
        "catalog.add_servicedependency",
        "catalog.delete_servicedependency",
        "catalog.add_configurationitem",
        "catalog.change_configurationitem",
        "catalog.delete_configurationitem",
        "catalog.view_configurationitem",
        "catalog.add_servicecategory",
        "catalog.change_servicecategory",
        "accounts.add_user",
        "accounts.change_user",
        "accounts.view_user",
        "accounts.add_team",
        "accounts.change_team",
        "accounts.view_team",
        "audit.view_auditentry",
        "core.view_outboxmessage",
    ],
}


def role_permissions(roles: Iterable[str]) -> set[str]:
    """The ``app_label.codename`` permissions the given roles carry together."""
    return {permission for role in roles for permission in ROLE_PERMISSIONS.get(role, ())}


@transaction.atomic
def ensure_roles() -> dict[str, Group]:
    """Create the role groups and (re)set their permissions. Idempotent; runs after migrate."""
    # post_migrate runs app by app; make sure every app's permissions exist before using them.
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0)
    groups: dict[str, Group] = {}
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=str(role))
        wanted = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            wanted.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(wanted)
        groups[str(role)] = group
    return groups
