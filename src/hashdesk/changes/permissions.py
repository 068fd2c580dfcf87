"""Who may do what with changes (docs/changes.md, "Permissions"); the actions ask these."""

from __future__ import annotations

from hashdesk.accounts.choices import Role
from hashdesk.core.visibility import Viewer, is_signed_in, is_staff


def can_manage_changes(user: Viewer) -> bool:
    """Change managers (and administrators): override conflicts, keep windows and CABs."""
    return is_signed_in(user) and (
        user.is_superuser or user.has_role(Role.CHANGE_MANAGER) or user.has_role(Role.ADMINISTRATOR)
    )


def can_plan_changes(user: Viewer) -> bool:
    """Service desk staff request, plan and move changes."""
    return is_staff(user)
