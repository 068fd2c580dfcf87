"""Knowledge's entry in the primary navigation (hashdesk.web.navigation): service desk staff,
while only drafts exist; readers get published articles with issue 8."""

from hashdesk.core.visibility import is_staff
from hashdesk.web.navigation import NavEntry, register

register(
    NavEntry(
        key="knowledge",
        label="Knowledge",
        url_name="knowledge:drafts",
        icon="catalogue",
        order=60,
        allowed=is_staff,
    )
)
