"""The administrators' form for a mail alias (docs/integrations/mail.md, "Aliases")."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q

from hashdesk.catalog.models import Service
from hashdesk.integrations.mail.choices import AliasTarget
from hashdesk.integrations.mail.models import LOCAL_PART_MAX, MailAlias
from hashdesk.web.forms import ShellForm


class AliasForm(ShellForm):
    local_part = forms.CharField(
        label="Address",
        max_length=254,
        help_text=f"The part before the @, e.g. helpdesk or printers-floor3: letters, digits, "
        f"dots, hyphens and underscores, at most {LOCAL_PART_MAX} characters.",
    )
    target = forms.ChoiceField(
        label="Mail to it goes to",
        choices=AliasTarget.choices,
        initial=AliasTarget.SERVICE,
        widget=forms.RadioSelect,
    )
    service = forms.ModelChoiceField(
        queryset=Service.objects.none(),
        required=False,
        help_text="Needed when mail goes to a service; not used for “guess”.",
    )
    is_active = forms.BooleanField(
        label="Active",
        required=False,
        initial=True,
        help_text="An inactive alias is ignored: its address is routed as if it did not exist.",
    )

    def __init__(self, data: Any = None, *, alias: MailAlias | None = None, **kwargs: Any) -> None:
        if alias is not None and data is None:
            kwargs.setdefault(
                "initial",
                {
                    "local_part": alias.local_part,
                    "target": alias.target,
                    "service": alias.service_id,
                    "is_active": alias.is_active,
                },
            )
        super().__init__(data, **kwargs)
        services = self.fields["service"]
        assert isinstance(services, forms.ModelChoiceField)
        # Active services, and the alias's own even once it is retired (so it can be edited).
        current = Q(pk=alias.service_id) if alias is not None and alias.service_id else Q()
        services.queryset = Service.objects.filter(Q(is_active=True) | current).order_by("name")

    def arguments(self) -> dict[str, Any]:
        return {
            "local_part": self.cleaned_data["local_part"],
            "target": self.cleaned_data["target"],
            "service": self.cleaned_data["service"],
            "is_active": self.cleaned_data["is_active"],
        }
