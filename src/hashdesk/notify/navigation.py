"""The notification pages of the account menu (hashdesk.web.navigation): webhooks and the
delivery log for everyone signed in (their own), chat tools for administrators."""

from hashdesk.core.visibility import can_manage_chat_tools
from hashdesk.web.navigation import ACCOUNT, NavEntry, register

register(
    NavEntry(
        key="webhooks",
        label="Webhooks",
        url_name="notify:webhooks",
        icon="bell",
        order=110,
        menu=ACCOUNT,
    )
)
register(
    NavEntry(
        key="deliveries",
        label="Delivery log",
        url_name="notify:deliveries",
        icon="bell",
        order=115,
        menu=ACCOUNT,
    )
)
register(
    NavEntry(
        key="chat-tools",
        label="Chat tools",
        url_name="notify:chat-tools",
        icon="chat",
        order=120,
        allowed=can_manage_chat_tools,
        menu=ACCOUNT,
    )
)
