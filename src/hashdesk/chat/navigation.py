"""Chat's entry in the primary navigation (hashdesk.web.navigation): everyone signed in."""

from hashdesk.core.visibility import is_signed_in
from hashdesk.web.navigation import NavEntry, register

register(
    NavEntry(
        key="chat",
        label="Chat",
        url_name="chat:index",
        icon="chat",
        order=70,
        allowed=is_signed_in,
    )
)
