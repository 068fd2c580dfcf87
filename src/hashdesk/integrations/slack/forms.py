"""The administrators' form for a new incoming webhook."""

from __future__ import annotations

from typing import Any

from django import forms

from hashdesk.catalog.models import Service
from hashdesk.integrations.slack.choices import HookTarget
from hashdesk.integrations.slack.models import NAME_MAX
from hashdesk.web.forms import ShellForm


class HookForm(ShellForm):
    name = forms.CharField(
        max_length=NAME_MAX,
        help_text="Shown as the author of what the hook posts, e.g. “Grafana” or “Deploy bot”.",
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(), help_text="The service the hook speaks about."
    )
    target = forms.ChoiceField(
        label="Posts to",
        choices=HookTarget.choices,
        initial=HookTarget.TIMELINE,
        widget=forms.RadioSelect,
    )

    def __init__(self, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        services = self.fields["service"]
        assert isinstance(services, forms.ModelChoiceField)
        services.queryset = Service.objects.filter(is_active=True).order_by("name")

    def arguments(self) -> dict[str, Any]:
        return {
            "name": self.cleaned_data["name"],
            "service": self.cleaned_data["service"],
            "target": self.cleaned_data["target"],
        }
