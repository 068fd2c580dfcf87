"""The people and teams entries of the account menu (hashdesk.web.navigation)."""

from hashdesk.core.visibility import can_manage_people
from hashdesk.web.navigation import ACCOUNT, NavEntry, register

register(
    NavEntry(
        key="people",
        label="People",
        url_name="accounts:people",
        icon="user",
        order=100,
        allowed=can_manage_people,
        menu=ACCOUNT,
    )
)
register(
    NavEntry(
        key="teams", label="Teams", url_name="accounts:teams", icon="people", order=95, menu=ACCOUNT
    )
)
