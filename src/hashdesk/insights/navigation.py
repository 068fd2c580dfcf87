"""The insights' entry in the primary navigation (hashdesk.web.navigation): service desk staff
only. It opens the problem candidates; the other insight pages are one click away in the
insights sub-navigation (templates/insights/includes/subnav.html)."""

from hashdesk.core.visibility import is_staff
from hashdesk.web.navigation import NavEntry, register

register(
    NavEntry(
        key="insights",
        label="Insights",
        url_name="insights:candidates",
        icon="graph",
        order=65,
        allowed=is_staff,
    )
)
