"""Forms of the problem pages. Plain forms: the views hand the cleaned values to
``problems.actions`` / ``problems.known_errors``, which check permission and validate again."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db.models import QuerySet

from hashdesk.accounts.models import User
from hashdesk.catalog.models import ConfigurationItem, Service
from hashdesk.changes.models import Change
from hashdesk.core.visibility import staff_condition, visible_to
from hashdesk.incidents.models import Incident
from hashdesk.problems import lifecycle
from hashdesk.problems.choices import ProblemState
from hashdesk.problems.models import Problem
from hashdesk.web.forms import ShellForm

NUMBER_SPLIT = re.compile(r"[\s,;]+")


def services_for(user: User) -> QuerySet[Service]:
    return visible_to(user, Service.objects.filter(is_active=True)).order_by("name")


def _text(label: str, *, rows: int = 4, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


class IncidentNumbersField(forms.CharField):
    """Incident numbers (INC-000123) or ids, separated by spaces or commas."""

    def clean(self, value: Any) -> list[str]:
        text = super().clean(value) or ""
        return [part for part in NUMBER_SPLIT.split(text.strip()) if part]


def incident_ids(user: User, numbers: list[str]) -> tuple[list[int], list[str]]:
    """The ids of the incidents named that ``user`` may see, and the names not found."""
    wanted = [n.upper() for n in numbers]
    found = dict(
        visible_to(user, Incident.objects.filter(number__in=wanted)).values_list("number", "pk")
    )
    ids, missing = [], []
    for name in wanted:
        if name in found:
            ids.append(found[name])
        elif name.isdigit() and visible_to(user, Incident.objects.filter(pk=int(name))).exists():
            ids.append(int(name))
        else:
            missing.append(name)
    return ids, missing


class ProblemCreateForm(ShellForm):
    title = forms.CharField(label="Title", max_length=200)
    description = _text("Description", help_text="What people experience.")
    services = forms.ModelMultipleChoiceField(
        label="Services", queryset=Service.objects.none(), required=False
    )
    incidents = IncidentNumbersField(
        label="Incidents",
        required=False,
        help_text="Incident numbers, e.g. INC-000012 INC-000015.",
    )
    domain_fields = {"incident_ids": "incidents", "service_ids": "services"}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = services_for(user)  # type: ignore[attr-defined]


class ProblemEditForm(ShellForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    title = forms.CharField(label="Title", max_length=200)
    description = _text("Description")
    root_cause = _text("Root cause")
    workaround = _text(
        "Workaround", help_text="What people can do until the fix; published with the known error."
    )
    services = forms.ModelMultipleChoiceField(
        label="Services", queryset=Service.objects.none(), required=False
    )
    configuration_items = forms.ModelMultipleChoiceField(
        label="Configuration items", queryset=ConfigurationItem.objects.none(), required=False
    )
    owner = forms.ModelChoiceField(label="Owner", queryset=User.objects.none(), required=False)
    fix_change = forms.ModelChoiceField(
        label="Fix (change)", queryset=Change.objects.none(), required=False
    )
    domain_fields = {"service_ids": "services", "configuration_item_ids": "configuration_items"}

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["services"].queryset = services_for(user)  # type: ignore[attr-defined]
        self.fields["configuration_items"].queryset = visible_to(  # type: ignore[attr-defined]
            user, ConfigurationItem.objects.filter(is_active=True)
        ).order_by("name")
        self.fields["owner"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            pk__in=User.objects.filter(staff_condition()).values("pk")
        ).order_by("display_name")
        self.fields["fix_change"].queryset = visible_to(  # type: ignore[attr-defined]
            user, Change.objects.all()
        ).order_by("-pk")[:200]

    @classmethod
    def initial_for(cls, problem: Problem) -> dict[str, Any]:
        return {
            "version": problem.version,
            "title": problem.title,
            "description": problem.description,
            "root_cause": problem.root_cause,
            "workaround": problem.workaround,
            "services": list(problem.services.all()),
            "configuration_items": list(problem.configuration_items.all()),
            "owner": problem.owner,
            "fix_change": problem.fix_change,
        }


class TransitionForm(ShellForm):
    version = forms.IntegerField(widget=forms.HiddenInput)
    state = forms.ChoiceField(label="Move to", choices=())
    resolution = _text("Resolution", rows=2, help_text="How it was fixed (needed to resolve).")

    def __init__(self, *args: Any, problem: Problem, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = [  # type: ignore[attr-defined]
            (s.value, s.label)
            for s in lifecycle.allowed_next(problem)
            if s not in lifecycle.BY_ACTION
        ]


class LinkForm(ShellForm):
    incidents = IncidentNumbersField(label="Incident numbers")


class FilterForm(forms.Form):
    state = forms.ChoiceField(
        label="State", choices=[("", "Any"), *ProblemState.choices], required=False
    )
    service = forms.ModelChoiceField(
        label="Service", queryset=Service.objects.none(), required=False, empty_label="Any"
    )
    q = forms.CharField(label="Search", required=False, max_length=200)
    known_error = forms.BooleanField(label="Known errors only", required=False)
    recurring = forms.BooleanField(label="Reported again after the fix", required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = services_for(user)  # type: ignore[attr-defined]
