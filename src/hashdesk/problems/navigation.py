"""Problems' entry in the primary navigation (hashdesk.web.navigation): service desk staff."""

from hashdesk.core.visibility import is_staff
from hashdesk.web.navigation import NavEntry, register

register(
    NavEntry(
        key="problems",
        label="Problems",
        url_name="problems:list",
        icon="key",
        order=35,
        allowed=is_staff,
    )
)
