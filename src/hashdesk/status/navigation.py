"""The status page in the shell's navigation (docs/web.md, "Navigation registry")."""

from hashdesk.core.visibility import is_signed_in
from hashdesk.web.navigation import NavEntry, register

register(
    NavEntry(
        key="status",
        label="Status",
        url_name="status:page",
        icon="live",
        order=80,
        allowed=is_signed_in,
    )
)
