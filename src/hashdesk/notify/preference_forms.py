"""Forms of the notification preferences and subscriptions pages."""

from __future__ import annotations

from typing import Any

from django import forms

from hashdesk.core.errors import DomainError
from hashdesk.notify.choices import Category, Channel, Digest
from hashdesk.notify.preferences import (
    CHAT_HANDLE_MAX,
    EXTERNAL_CHANNELS,
    PreferencesView,
    QuietHours,
    offered_chat_tools,
)
from hashdesk.web.forms import ShellForm, raise_if_forbidden

CHANNEL_LABELS = {value: label for value, label in Channel.choices}


def channel_field(category: str, channel: str) -> str:
    return f"{category}-{channel}"


def digest_field(category: str) -> str:
    return f"{category}-digest"


class PreferencesForm(ShellForm):
    """One checkbox per category and channel, a rhythm per category, quiet hours, chat tool."""

    quiet_start = forms.TimeField(
        label="Quiet hours start",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="In your own time zone. Leave both times empty for no quiet hours.",
    )
    quiet_end = forms.TimeField(
        label="Quiet hours end",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="May be after midnight (22:00 to 07:00).",
    )
    urgent_breaks_quiet = forms.BooleanField(
        label="Major incidents may break quiet hours",
        required=False,
        help_text="Email and chat tool notices of major incidents come at once, even at night.",
    )
    chat_tool = forms.ModelChoiceField(
        label="Chat tool",
        queryset=offered_chat_tools(),
        required=False,
        empty_label="None",
        help_text="Where the “Chat tool” channel delivers; the tools your administrators offer.",
    )
    chat_handle = forms.CharField(
        label="Your name in the chat tool",
        required=False,
        max_length=CHAT_HANDLE_MAX,
        help_text="So the tool can mention you (for example @kim).",
    )

    def __init__(self, *args: Any, current: PreferencesView | None = None, **kwargs: Any) -> None:
        if current is not None and not args and "data" not in kwargs:
            kwargs.setdefault("initial", initial_from(current))
        super().__init__(*args, **kwargs)
        tools = self.fields["chat_tool"]
        if isinstance(tools, forms.ModelChoiceField):
            tools.queryset = offered_chat_tools()
        for category, label in Category.choices:
            for channel in EXTERNAL_CHANNELS:
                self.fields[channel_field(category, channel)] = forms.BooleanField(
                    label=f"{CHANNEL_LABELS[channel]} for {label.lower()}", required=False
                )
            self.fields[digest_field(category)] = forms.ChoiceField(
                label=f"How often for {label.lower()}", choices=Digest.choices
            )

    def rows(self) -> list[dict[str, Any]]:
        """The table of the page: one row per category, one cell per channel."""
        return [
            {
                "category": category,
                "label": label,
                "channels": [
                    {"name": CHANNEL_LABELS[c], "field": self[channel_field(category, c)]}
                    for c in EXTERNAL_CHANNELS
                ],
                "digest": self[digest_field(category)],
            }
            for category, label in Category.choices
        ]

    def choices(self) -> dict[str, tuple[list[str], str]]:
        data = self.cleaned_data
        return {
            category: (
                [c for c in EXTERNAL_CHANNELS if data.get(channel_field(category, c))],
                data.get(digest_field(category)) or Digest.IMMEDIATE,
            )
            for category in Category.values
        }

    def quiet(self) -> QuietHours:
        data = self.cleaned_data
        return QuietHours(
            data.get("quiet_start"), data.get("quiet_end"), bool(data.get("urgent_breaks_quiet"))
        )

    def add_domain_error(self, error: DomainError) -> None:
        """A refusal about one category names the category above the form."""
        raise_if_forbidden(error)
        if error.field in Category.values:
            label = Category(error.field).label
            self.add_error(None, f"{label}: {error.detail}")
            return
        super().add_domain_error(error)


def initial_from(current: PreferencesView) -> dict[str, Any]:
    initial: dict[str, Any] = {}
    for category, preference in current.categories.items():
        for channel in EXTERNAL_CHANNELS:
            initial[channel_field(category, channel)] = channel in preference.channels
        initial[digest_field(category)] = preference.digest
    settings = current.settings
    initial["urgent_breaks_quiet"] = settings.urgent_breaks_quiet if settings else True
    if settings is not None:
        initial["quiet_start"] = settings.quiet_start
        initial["quiet_end"] = settings.quiet_end
        initial["chat_tool"] = settings.chat_tool_id
        initial["chat_handle"] = settings.chat_handle
    return initial


class FollowForm(ShellForm):
    """Follow a service or a hashtag from the subscriptions page."""

    service = forms.TypedChoiceField(
        label="Service", required=False, coerce=int, empty_value=None, choices=()
    )
    hashtag = forms.CharField(
        label="Hashtag",
        required=False,
        max_length=51,
        help_text="With or without the #, for example #vpn.",
    )

    def __init__(self, *args: Any, services: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = [("", "Choose a service"), *services]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("service") and not (data.get("hashtag") or "").strip("# "):
            raise forms.ValidationError("Choose a service or type a hashtag to follow.")
        return data
