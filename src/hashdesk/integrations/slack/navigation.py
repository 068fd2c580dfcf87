"""The integrations overview in administrators' account menu (hashdesk.web.navigation); each
integration's own page (incoming webhooks, Alertmanager receivers, inbound mail, imports) is reached
from the overview, so the menu stays short."""

from hashdesk.core.visibility import is_administrator
from hashdesk.web.navigation import ACCOUNT, NavEntry, register

register(
    NavEntry(
        key="integrations",
        label="Integrations",
        url_name="integrations-overview",
        icon="graph",
        order=130,
        allowed=is_administrator,
        menu=ACCOUNT,
    )
)
