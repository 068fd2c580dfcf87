"""Knowledge's entry in the primary navigation (hashdesk.web.navigation): everyone signed in
reads articles at /knowledge/; staff reach drafts and the review queue from there."""

from hashdesk.core.visibility import is_signed_in
from hashdesk.web.navigation import NavEntry, register

register(
    NavEntry(
        key="knowledge",
        label="Knowledge",
        url_name="knowledge:index",
        icon="catalogue",
        order=60,
        allowed=is_signed_in,
    )
)
