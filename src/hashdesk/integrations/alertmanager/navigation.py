"""Gated alert incidents in the staff's account menu; administrators reach the receivers from the
integrations overview (integrations/overview.py)."""

from hashdesk.core.visibility import is_staff
from hashdesk.web.navigation import ACCOUNT, NavEntry, register

register(
    NavEntry(
        key="alertmanager-awaiting",
        label="Alerts to publish",
        url_name="alertmanager:awaiting",
        icon="bell",
        order=141,
        allowed=is_staff,
        menu=ACCOUNT,
    )
)
