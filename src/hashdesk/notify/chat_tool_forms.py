"""The administrators' form for a chat tool. The apprise URL field is write-only: it is never
rendered back, and left empty when editing it keeps the URL the tool has."""

from __future__ import annotations

from typing import Any

from django import forms

from hashdesk.accounts.models import User
from hashdesk.catalog.models import Service
from hashdesk.core.visibility import visible_to
from hashdesk.notify.chat_tools import ANNOUNCED_CATEGORIES, chat_tool_snapshot
from hashdesk.notify.models import ChatTool
from hashdesk.web.forms import ShellForm

URL_HELP_NEW = (
    "The tool's apprise URL, such as mmosts://chat.example.com/token or "
    "slack://TokenA/TokenB/TokenC/#channel. It holds the tool's credentials: Hashdesk keeps it "
    "and never shows it again."
)
URL_HELP_EDIT = (
    "Leave empty to keep the URL the tool has (it is never shown again). Type a new one to "
    "replace it."
)


class ChatToolForm(ShellForm):
    name = forms.CharField(max_length=100)
    apprise_url = forms.CharField(
        label="Apprise URL",
        max_length=2000,
        strip=True,
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}
        ),
    )
    services = forms.ModelMultipleChoiceField(
        queryset=Service.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Major incidents, incident updates and changes of these services are "
        "announced to the tool's channel.",
    )
    categories = forms.MultipleChoiceField(
        label="Announce",
        choices=[(str(c.value), c.label) for c in ANNOUNCED_CATEGORIES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None chosen: major incidents and changes.",
    )
    offered_to_people = forms.BooleanField(
        label="Offer to people",
        required=False,
        help_text="People may choose this tool for their own notifications on their "
        "preferences page.",
    )

    def __init__(
        self, data: Any = None, *, user: User, tool: ChatTool | None = None, **kwargs: Any
    ) -> None:
        initial = None
        if tool is not None:
            snapshot = chat_tool_snapshot(tool)
            initial = {
                "name": tool.name,
                "services": snapshot["services"],
                "categories": snapshot["categories"],
                "offered_to_people": tool.offered_to_people,
            }
        super().__init__(data, initial=initial, **kwargs)
        self.tool = tool
        self.fields["services"].queryset = visible_to(  # type: ignore[attr-defined]
            user, Service.objects.filter(is_active=True)
        ).order_by("name")
        if tool is not None:
            self.fields["apprise_url"].required = False
            self.fields["apprise_url"].help_text = URL_HELP_EDIT
        else:
            self.fields["apprise_url"].help_text = URL_HELP_NEW

    def arguments(self) -> dict[str, Any]:
        """Keyword arguments for do_create_chat_tool / do_update_chat_tool."""
        data = self.cleaned_data
        arguments: dict[str, Any] = {
            "name": data["name"],
            "services": list(data["services"]),
            "categories": list(data["categories"]),
            "offered_to_people": data["offered_to_people"],
        }
        if data.get("apprise_url"):
            arguments["apprise_url"] = data["apprise_url"]
        return arguments
