"""Forms of the catalogue pages: the list's filters and the administrators' editing forms.

Plain forms, never ModelForms: the views hand the cleaned values to hashdesk.catalog.actions,
which validate again, write the audit row and send the events.
"""

from __future__ import annotations

from typing import Any

from django import forms

from hashdesk.accounts.models import Team
from hashdesk.catalog.actions import normalise_hashtag
from hashdesk.catalog.choices import CIKind, Criticality, Visibility
from hashdesk.catalog.models import ConfigurationItem, Service, ServiceCategory
from hashdesk.web.forms import ShellForm


class CatalogueFilterForm(ShellForm):
    """The list's search box and filters (GET)."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": "Name, #hashtag or description"}),
    )
    category = forms.ChoiceField(label="Category", required=False)
    criticality = forms.ChoiceField(
        label="Criticality",
        required=False,
        choices=[("", "Any criticality"), *Criticality.choices],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [  # type: ignore[attr-defined]
            ("", "All categories"),
            *ServiceCategory.objects.values_list("slug", "name"),
        ]

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and self.is_valid() and any(self.cleaned_data.values())


class ServiceForm(ShellForm):
    """Create or edit a service; ``editing`` adds the fields only an existing service has."""

    name = forms.CharField(label="Name", max_length=100)
    hashtag = forms.CharField(
        label="Hashtag",
        max_length=51,
        help_text="What people type to mean this service, such as #vpn. Must be unique.",
    )
    slug = forms.SlugField(
        label="Address",
        max_length=100,
        required=False,
        help_text="Used in the page's address; leave empty to derive it from the name.",
    )
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    category = forms.ModelChoiceField(
        label="Category",
        queryset=ServiceCategory.objects.all(),
        required=False,
        empty_label="No category",
        to_field_name="slug",
    )
    owner_team = forms.ModelChoiceField(
        label="Owner team",
        queryset=Team.objects.all(),
        required=False,
        empty_label="No owner yet",
        to_field_name="slug",
    )
    criticality = forms.ChoiceField(
        label="Criticality", choices=Criticality.choices, initial=Criticality.MEDIUM
    )
    visibility = forms.ChoiceField(
        label="Who may see it",
        choices=Visibility.choices,
        initial=Visibility.INTERNAL,
        widget=forms.RadioSelect,
    )
    is_active = forms.BooleanField(
        label="In service",
        required=False,
        help_text="Clear this to retire the service; it stays in the catalogue's history.",
    )

    def __init__(self, *args: Any, service: Service | None = None, **kwargs: Any) -> None:
        if service is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": service.name,
                    "hashtag": service.hashtag,
                    "slug": service.slug,
                    "description": service.description,
                    "category": service.category.slug if service.category else None,
                    "owner_team": service.owner_team.slug if service.owner_team else None,
                    "criticality": service.criticality,
                    "visibility": service.visibility,
                    "is_active": service.is_active,
                },
            )
        super().__init__(*args, **kwargs)
        if service is None:
            del self.fields["is_active"]
        else:
            self.fields["slug"].required = True
            self.fields["slug"].help_text = "Used in the page's address; changing it breaks links."

    def create_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "hashtag": data["hashtag"],
            "slug": data["slug"] or "",
            "description": data["description"],
            "category": data["category"],
            "owner_team": data["owner_team"],
            "criticality": data["criticality"],
            "visibility": data["visibility"],
        }

    def clean_hashtag(self) -> str:
        return normalise_hashtag(self.cleaned_data["hashtag"])

    def changes(self) -> dict[str, Any]:
        """What the administrator changed; "#VPN" for "vpn" is no change."""
        initial = self.initial
        return {
            name: self.cleaned_data[name]
            for name in self.changed_data
            if not (name == "hashtag" and self.cleaned_data[name] == initial.get(name))
        }


class CategoryForm(ShellForm):
    name = forms.CharField(label="Name", max_length=100)
    position = forms.IntegerField(
        label="Position",
        min_value=0,
        max_value=10_000,
        initial=0,
        help_text="Categories are listed by position, then by name.",
    )


class DependencyForm(ShellForm):
    """'This service depends on …'."""

    depends_on = forms.ModelChoiceField(
        label="Depends on",
        queryset=Service.objects.none(),
        to_field_name="slug",
        empty_label="Choose a service",
        help_text="When that service fails, this one is affected.",
    )
    note = forms.CharField(
        label="Note",
        max_length=200,
        required=False,
        help_text="How it depends, such as “authenticates through it”.",
    )

    def __init__(self, *args: Any, service: Service, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["depends_on"].queryset = Service.objects.exclude(  # type: ignore[attr-defined]
            pk=service.pk
        ).order_by("name")


class ConfigurationItemForm(ShellForm):
    name = forms.CharField(label="Name", max_length=100, help_text="Unique, such as vpn-gw-01.")
    kind = forms.ChoiceField(label="Kind", choices=CIKind.choices, initial=CIKind.SERVER)
    location = forms.CharField(label="Location", max_length=100, required=False)
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    is_active = forms.BooleanField(label="In use", required=False)

    def __init__(self, *args: Any, item: ConfigurationItem | None = None, **kwargs: Any) -> None:
        if item is not None:
            kwargs.setdefault(
                "initial",
                {
                    "name": item.name,
                    "kind": item.kind,
                    "location": item.location,
                    "description": item.description,
                    "is_active": item.is_active,
                },
            )
        super().__init__(*args, **kwargs)
        if item is None:
            del self.fields["is_active"]

    def create_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "kind": data["kind"],
            "location": data["location"],
            "description": data["description"],
        }

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.changed_data}
