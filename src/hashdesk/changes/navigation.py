"""Changes' entry in the primary navigation (hashdesk.web.navigation): everyone signed in —
requesters see the planned work on the services they use."""

from hashdesk.core.visibility import is_signed_in
from hashdesk.web.navigation import NavEntry, register

register(
    NavEntry(
        key="changes",
        label="Changes",
        url_name="changes:list",
        icon="calendar",
        order=45,
        allowed=is_signed_in,
    )
)
