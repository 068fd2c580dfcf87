"""The form of the status page's email subscription (docs/status.md, "Subscribing by email").

The view passes the cleaned values to :func:`hashdesk.status.subscribers.do_request_subscription`,
which validates them again (the action is the rule; the form is the page).
"""

from __future__ import annotations

from typing import Any

from django import forms

from hashdesk.catalog.models import Service
from hashdesk.status.subscribers import EMAIL_MAX_LENGTH
from hashdesk.web.forms import ShellForm


class SubscribeForm(ShellForm):
    email = forms.EmailField(
        label="Email address",
        max_length=EMAIL_MAX_LENGTH,
        help_text="We mail you a link to confirm; nothing else is sent before you do.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    services = forms.TypedMultipleChoiceField(
        label="Services",
        coerce=int,
        required=False,
        help_text="Leave all unticked to hear about every public service.",
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, services: list[Service], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        services_field = self.fields["services"]
        assert isinstance(services_field, forms.TypedMultipleChoiceField)
        services_field.choices = [(service.pk, service.name) for service in services]
