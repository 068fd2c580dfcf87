"""Forms of the sign-in, password, profile and API token pages.

Plain forms: the views pass the cleaned values to hashdesk.accounts.actions, and domain errors
come back onto these fields through ``ShellForm.add_domain_error``.
"""

from __future__ import annotations

import zoneinfo
from functools import lru_cache
from typing import Any

from django import forms
from django.conf import settings

from hashdesk.accounts.choices import TokenScope
from hashdesk.accounts.models import User
from hashdesk.web.forms import ShellForm

# Offered token lifetimes in days; the action enforces settings.API_TOKEN_MAX_DAYS.
TOKEN_LIFETIMES = (7, 30, 90, 180, 365)
DEFAULT_TOKEN_LIFETIME = 90


@lru_cache(maxsize=1)
def time_zone_choices() -> list[tuple[str, str]]:
    names = sorted(
        name
        for name in zoneinfo.available_timezones()
        # Keep the list to the canonical Area/City names people recognise (plus UTC).
        if name == "UTC" or ("/" in name and not name.startswith(("Etc/", "SystemV/", "US/")))
    )
    return [(name, name.replace("_", " ")) for name in names]


class SignInForm(ShellForm):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordResetRequestForm(ShellForm):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        help_text="We send a link to this address if it belongs to an account.",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )


class NewPasswordForm(ShellForm):
    """Choosing a new password: typed twice; the action applies the password rules."""

    domain_fields = {"password": "new_password"}

    new_password = forms.CharField(
        label="New password",
        strip=False,
        max_length=4096,
        help_text="At least 10 characters; not a common password and not only digits.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    new_password_again = forms.CharField(
        label="New password again",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("new_password"), cleaned.get("new_password_again")
        if first and second and first != second:
            self.add_error("new_password_again", "The two passwords are not the same.")
        return cleaned


class PasswordChangeForm(NewPasswordForm):
    prefix = "password"
    field_order = ["current_password", "new_password", "new_password_again"]

    current_password = forms.CharField(
        label="Current password",
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ProfileForm(ShellForm):
    prefix = "profile"

    display_name = forms.CharField(label="Display name", max_length=150)
    department = forms.CharField(label="Department", max_length=100, required=False)
    site = forms.CharField(
        label="Site", max_length=100, required=False, help_text="Where you usually work."
    )
    time_zone = forms.ChoiceField(
        label="Time zone", help_text="Times on every page are shown in this zone."
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "display_name": user.display_name,
                "department": user.department,
                "site": user.site,
                "time_zone": user.time_zone,
            },
        )
        super().__init__(*args, **kwargs)
        choices = time_zone_choices()
        if user.time_zone not in {value for value, _label in choices}:
            choices = [(user.time_zone, user.time_zone), *choices]
        self.fields["time_zone"].choices = choices  # type: ignore[attr-defined]

    def changes(self) -> dict[str, Any]:
        """Only what the person changed, so the audit row shows exactly that."""
        return {name: self.cleaned_data[name] for name in self.changed_data}


class TokenCreateForm(ShellForm):
    prefix = "token"
    domain_fields = {"expires_in_days": "expires_in_days"}

    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="What the token is for, such as “monitoring script”.",
    )
    scope = forms.ChoiceField(
        label="Scope",
        choices=TokenScope.choices,
        initial=TokenScope.READ,
        widget=forms.RadioSelect,
        help_text="Read-only tokens can look but never change anything.",
    )
    expires_in_days = forms.TypedChoiceField(
        label="Expires after",
        coerce=int,
        initial=DEFAULT_TOKEN_LIFETIME,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expires_in_days"].choices = [  # type: ignore[attr-defined]
            (days, f"{days} days")
            for days in TOKEN_LIFETIMES
            if days <= settings.API_TOKEN_MAX_DAYS
        ]
