"""The wall's entry in the primary navigation (hashdesk.web.navigation): everyone signed in."""

from hashdesk.core.visibility import is_signed_in
from hashdesk.web.navigation import NavEntry, register

register(
    NavEntry(
        key="wall",
        label="Wall",
        url_name="wall:home",
        icon="hash",
        order=20,
        allowed=is_signed_in,
    )
)
