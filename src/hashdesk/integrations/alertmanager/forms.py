"""Administrators' forms for Alertmanager receivers."""

from __future__ import annotations

from typing import Any

from django import forms

from hashdesk.catalog.models import Service
from hashdesk.integrations.alertmanager.choices import ResolvePolicy, UnknownServicePolicy
from hashdesk.integrations.alertmanager.models import LABEL_MAX, SLUG_MAX
from hashdesk.web.forms import ShellForm


def _services() -> Any:
    return Service.objects.filter(is_active=True).order_by("name")


class ReceiverForm(ShellForm):
    name = forms.CharField(max_length=100)
    service_label = forms.CharField(
        max_length=LABEL_MAX,
        initial="service",
        help_text="The alert label that names the service, such as service or job.",
    )
    default_service = forms.ModelChoiceField(
        queryset=Service.objects.none(),
        required=False,
        help_text="Where alerts go whose label value names no service (if not rejected).",
    )
    unknown_policy = forms.ChoiceField(
        label="Unknown label values", choices=UnknownServicePolicy.choices
    )
    resolve_policy = forms.ChoiceField(
        label="When every alert is resolved", choices=ResolvePolicy.choices
    )
    human_gate = forms.BooleanField(
        label="Human gate",
        required=False,
        initial=True,
        help_text="Incidents opened by alerts stay internal until an agent publishes them.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_service"].queryset = _services()  # type: ignore[attr-defined]

    def arguments(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class NewReceiverForm(ReceiverForm):
    slug = forms.SlugField(
        max_length=SLUG_MAX,
        required=False,
        help_text="The receiver's address: /integrations/alertmanager/<slug>/ (from the name "
        "if empty).",
    )


class MappingForm(ShellForm):
    label_value = forms.CharField(label="Label value", max_length=LABEL_MAX)
    service = forms.ModelChoiceField(queryset=Service.objects.none())

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = _services()  # type: ignore[attr-defined]
