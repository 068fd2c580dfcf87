"""Forms of the people and teams pages (administrators; the teams list is read by everyone).

Plain forms: the views hand the cleaned values to hashdesk.accounts.actions, which validate
again, write the audit rows and send the events.
"""

from __future__ import annotations

from typing import Any

from django import forms

from hashdesk.accounts.choices import Role, TeamRole
from hashdesk.accounts.models import User
from hashdesk.web.forms import ShellForm

ACTIVE_CHOICES = [("", "Active or not"), ("active", "Active"), ("inactive", "Deactivated")]


class PeopleFilterForm(ShellForm):
    """The people list's search box and filters (GET)."""

    q = forms.CharField(
        label="Search",
        required=False,
        max_length=100,
        widget=forms.SearchInput(attrs={"placeholder": "Name, email, department or site"}),
    )
    role = forms.ChoiceField(
        label="Role", required=False, choices=[("", "Any role"), *Role.choices]
    )
    active = forms.ChoiceField(label="Active", required=False, choices=ACTIVE_CHOICES)

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and self.is_valid() and any(self.cleaned_data.values())


class ProfileFields(ShellForm):
    display_name = forms.CharField(label="Name", max_length=150)
    department = forms.CharField(label="Department", max_length=100, required=False)
    site = forms.CharField(label="Site", max_length=100, required=False)
    time_zone = forms.CharField(label="Time zone", max_length=64, initial="UTC")
    is_vip = forms.BooleanField(
        label="VIP", required=False, help_text="Their incidents count more when impact is scored."
    )
    roles = forms.MultipleChoiceField(
        label="Roles",
        choices=Role.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        initial=[Role.REQUESTER],
    )


class PersonCreateForm(ProfileFields):
    """A new person; they choose their password through the mail the action sends."""

    email = forms.EmailField(label="Email", max_length=254)
    field_order = ["email", "display_name", "department", "site", "time_zone", "is_vip", "roles"]

    def create_arguments(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.fields}


class PersonEditForm(ProfileFields):
    """A person's profile and roles, starting from what they are now."""

    def __init__(self, *args: Any, person: User, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "display_name": person.display_name,
                "department": person.department,
                "site": person.site,
                "time_zone": person.time_zone,
                "is_vip": person.is_vip,
                "roles": sorted(person.roles),
            },
        )
        super().__init__(*args, **kwargs)

    def profile_changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.changed_data if name != "roles"}

    def new_roles(self) -> list[str] | None:
        """The roles to set, or None when they are as they were."""
        if sorted(self.cleaned_data["roles"]) == sorted(self.initial["roles"]):
            return None
        return list(self.cleaned_data["roles"])


class TeamCreateForm(ShellForm):
    name = forms.CharField(label="Name", max_length=100)
    slug = forms.SlugField(
        label="Address",
        max_length=100,
        required=False,
        help_text="Used in the page's address; leave empty to derive it from the name.",
    )
    email = forms.EmailField(label="Team email", max_length=254, required=False)
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class TeamMemberForm(ShellForm):
    """Add a person, named by email, to a team."""

    domain_fields = {"user": "email"}

    email = forms.EmailField(label="Email", max_length=254)
    role = forms.ChoiceField(label="Role in the team", choices=TeamRole.choices)
