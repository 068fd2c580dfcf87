"""The incidents' entry in the primary navigation (hashdesk.web.navigation).

Everyone signed in sees it: staff land on the agent queue, requesters are sent on from there to
their own incidents (``incidents:mine``), so one link serves both.
"""

from hashdesk.core.visibility import is_signed_in
from hashdesk.web.navigation import NavEntry, register

register(
    NavEntry(
        key="incidents",
        label="Incidents",
        url_name="incidents:queue",
        icon="alert",
        order=30,
        allowed=is_signed_in,
    )
)
