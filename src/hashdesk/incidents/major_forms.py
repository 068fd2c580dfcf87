"""Forms of the links, merge and major-incident panels of an incident's page.

Plain forms: the views hand the cleaned values to incidents.linking and incidents.major, which
validate again and raise domain errors that land on the field they name. Each form has its own
prefix, so several can share the incident's page without their field ids colliding.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms

from hashdesk.accounts.models import User
from hashdesk.incidents.choices import LinkKind
from hashdesk.incidents.major import (
    DEFAULT_CADENCE_MINUTES,
    MAX_CADENCE_MINUTES,
    MIN_CADENCE_MINUTES,
    staff_people,
)
from hashdesk.incidents.models import DESCRIPTION_MAX, format_number
from hashdesk.web.forms import ShellForm

# A stale version is about the whole form (reload), not about a hidden field.
STALE_VERSION_ABOVE_FORM = {"version": ""}
_NUMBER = re.compile(r"^\s*(?:INC-?)?0*([1-9][0-9]{0,17})\s*$", re.IGNORECASE)


def parse_incident_number(text: str) -> str | None:
    """``INC-000123``, ``inc-123`` or ``123`` → ``INC-000123``; None for anything else."""
    match = _NUMBER.match(text or "")
    return format_number(int(match.group(1))) if match else None


class IncidentNumberField(forms.CharField):
    default_error_messages = {"invalid": "Enter an incident number such as INC-000123."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 30)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        if not text:
            return ""
        number = parse_incident_number(text)
        if number is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return number

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.update({"autocomplete": "off", "spellcheck": "false", "placeholder": "INC-000123"})
        return attrs


class VersionField(forms.IntegerField):
    """The incident's version the person saw, so a stale form is a conflict, not a surprise."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, widget=forms.HiddenInput, **kwargs)


class LinkForm(ShellForm):
    prefix = "link"

    incident = IncidentNumberField(label="Incident number")
    kind = forms.ChoiceField(
        label="This incident is",
        choices=[(LinkKind.DUPLICATE_OF, "A duplicate of it"), (LinkKind.RELATED, "Related to it")],
        initial=LinkKind.RELATED,
    )


class MergeForm(ShellForm):
    prefix = "merge"
    domain_fields = STALE_VERSION_ABOVE_FORM

    into = IncidentNumberField(
        label="Merge into",
        help_text="The incident that carries on. This one is closed as its duplicate.",
    )
    version = VersionField()
    # Set by the review page's button: the first submission only shows what will move.
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class DeclareMajorForm(ShellForm):
    prefix = "major"
    domain_fields = STALE_VERSION_ABOVE_FORM

    reason = forms.CharField(
        label="Reason",
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why this is a major incident; everyone who may see it reads this.",
    )
    commander = forms.ModelChoiceField(
        label="Incident commander",
        queryset=User.objects.none(),
        empty_label=None,
        help_text="Leads the response and owes the official updates.",
    )
    cadence_minutes = forms.IntegerField(
        label="Official update every (minutes)",
        min_value=MIN_CADENCE_MINUTES,
        max_value=MAX_CADENCE_MINUTES,
        initial=DEFAULT_CADENCE_MINUTES,
    )
    version = VersionField()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["commander"].queryset = staff_people()  # type: ignore[attr-defined]


class OfficialUpdateForm(ShellForm):
    prefix = "official"

    body = forms.CharField(
        label="Official update",
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Markdown. Everyone affected and following is told at once.",
    )


class StandDownForm(ShellForm):
    prefix = "standdown"
    domain_fields = STALE_VERSION_ABOVE_FORM

    reason = forms.CharField(
        label="Why stand down",
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Ends the major-incident process; the incident itself stays open.",
    )
    version = VersionField()
