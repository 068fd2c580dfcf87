"""Forms of the incident pages: reporting, updates and work notes, the lifecycle, assignment and
editing. Plain forms, never ModelForms: the views hand the cleaned values to
``incidents.actions``, which check permission, validate again and record everything.

Choices come from ``core.visibility`` (services, items, teams and people the person may see);
the action is the judge of what is allowed, the form only offers what makes sense. Forms that
change the record carry the ``version`` the person saw, so a stale form is a Conflict.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from hashdesk.accounts.models import Team, User
from hashdesk.catalog.choices import Visibility
from hashdesk.catalog.models import ConfigurationItem, Service
from hashdesk.core.visibility import staff_condition, visible_to
from hashdesk.incidents.choices import Category, HoldReason, Level, ResolutionCode, State
from hashdesk.incidents.models import DESCRIPTION_MAX, TITLE_MAX, Incident
from hashdesk.web.forms import ShellForm

# Requesters say how much it hurts in their own words; ITIL's urgency levels behind them.
URGENCY_IN_PLAIN_WORDS = [
    (Level.HIGH, "I cannot work at all"),
    (Level.MEDIUM, "I can work, but slowly or with a workaround"),
    (Level.LOW, "It is a nuisance; it can wait"),
]
IMPACT_BY_POLICY = ""
# The conflict of a stale form is about the whole form, not a field anyone can fix.
STALE = {"version": ""}


def services_for(user: User) -> QuerySet[Service]:
    return visible_to(user, Service.objects.filter(is_active=True)).order_by("name")


def configuration_items_for(user: User) -> QuerySet[ConfigurationItem]:
    items = ConfigurationItem.objects.filter(is_active=True).select_related("service")
    return visible_to(user, items).order_by("service__name", "name")


def staff_people(user: User) -> QuerySet[User]:
    """People who may be assigned: active service desk staff (the action checks ``is_staff``)."""
    return (
        visible_to(user, User.objects.filter(is_active=True))
        .filter(pk__in=User.objects.filter(staff_condition()).values("pk"))
        .order_by("display_name", "id")
    )


class ConfigurationItemChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.service.name})"


class PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.display_name)


def _one_kind_of_line_break(text: str) -> str:
    """Browsers send textareas with CRLF; stored markdown uses LF, so an untouched description
    does not read as changed."""
    return text.replace("\r\n", "\n")


def _version_field() -> forms.IntegerField:
    return forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)


# --- Reporting ----------------------------------------------------------------------------------


class IncidentCreateForm(ShellForm):
    """Report an incident. Staff may also set the impact and report for someone else."""

    title = forms.CharField(
        label="What is wrong?",
        max_length=TITLE_MAX,
        help_text="A short summary, such as “VPN drops every few minutes”.",
    )
    service = forms.ModelChoiceField(
        label="Service",
        queryset=Service.objects.none(),
        to_field_name="slug",
        empty_label="Choose a service",
    )
    description = forms.CharField(
        label="Details",
        required=False,
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Since when, what you tried, error messages. Markdown works.",
    )
    configuration_item = ConfigurationItemChoice(
        label="Device or system",
        queryset=ConfigurationItem.objects.none(),
        required=False,
        empty_label="I don't know",
    )
    category = forms.ChoiceField(label="Category", choices=Category.choices, initial=Category.OTHER)
    urgency = forms.TypedChoiceField(
        label="How much does it stop your work?",
        choices=URGENCY_IN_PLAIN_WORDS,
        coerce=int,
        initial=Level.LOW,
        widget=forms.RadioSelect,
    )
    impact = forms.TypedChoiceField(
        label="Impact",
        choices=[(IMPACT_BY_POLICY, "Score it from the people affected"), *Level.choices],
        coerce=int,
        empty_value=None,
        required=False,
        help_text="Leave it to the impact policy unless you know better.",
    )
    reporter = forms.EmailField(
        label="On behalf of",
        required=False,
        help_text="The email address of the person reporting; leave empty for yourself.",
    )

    def __init__(
        self, *args: Any, user: User, staff: bool, service: Service | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["service"].queryset = services_for(user)  # type: ignore[attr-defined]
        items = configuration_items_for(user)
        # Once the service is known, only its items (the action refuses any other).
        self.fields["configuration_item"].queryset = (  # type: ignore[attr-defined]
            items.filter(service=service) if service is not None else items
        )
        if not staff:
            del self.fields["impact"]
            del self.fields["reporter"]

    def clean_description(self) -> str:
        return _one_kind_of_line_break(self.cleaned_data["description"])

    def clean_reporter(self) -> User | None:
        email = self.cleaned_data.get("reporter")
        if not email:
            return None
        person = visible_to(self.user, User.objects.filter(email__iexact=email)).first()
        if person is None:
            raise forms.ValidationError("Nobody with this email address can report incidents.")
        return person

    def create_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        arguments: dict[str, Any] = {
            "title": data["title"],
            "description": data["description"],
            "service": data["service"],
            "configuration_item": data["configuration_item"],
            "category": data["category"],
            "urgency": data["urgency"],
        }
        if data.get("impact"):
            arguments["impact"] = data["impact"]
        if data.get("reporter") is not None:
            arguments["reporter"] = data["reporter"]
        return arguments


# --- The incident page's forms ------------------------------------------------------------------

AUDIENCE_PUBLIC = "public"
AUDIENCE_INTERNAL = "internal"


class UpdateForm(ShellForm):
    """A public update (a requester's comment) or, for staff, an internal work note."""

    body = forms.CharField(
        label="Update",
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Markdown works.",
    )
    audience = forms.ChoiceField(
        label="Who sees it",
        choices=[
            (AUDIENCE_PUBLIC, "Public update: everyone who may see the incident"),
            (AUDIENCE_INTERNAL, "Work note: service desk staff only"),
        ],
        initial=AUDIENCE_PUBLIC,
        required=False,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, staff: bool, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "update")
        super().__init__(*args, **kwargs)
        if not staff:
            # Kept (hidden) rather than dropped: a requester asking for a work note is refused
            # by the action instead of being published by accident.
            self.fields["audience"].widget = forms.HiddenInput()
            self.fields["body"].label = "Comment"
            self.fields["body"].help_text = "The service desk and everyone following will see it."

    @property
    def public(self) -> bool:
        return self.cleaned_data.get("audience") != AUDIENCE_INTERNAL


class TransitionForm(ShellForm):
    """Move the incident on. Any state is accepted here: the lifecycle (the action) decides, so
    an illegal move gets the message that names the states the incident may go to."""

    domain_fields = {**STALE, "state": "to_state"}

    to_state = forms.ChoiceField(label="Move to", choices=State.choices)
    hold_reason = forms.ChoiceField(
        label="Why on hold",
        required=False,
        choices=[("", "Choose a reason"), *HoldReason.choices],
        help_text="Needed to put the incident on hold.",
    )
    resolution_code = forms.ChoiceField(
        label="Resolution",
        required=False,
        choices=[
            ("", "Choose how it was resolved"),
            *[(c.value, c.label) for c in ResolutionCode if c != ResolutionCode.CANCELLED_BY_USER],
        ],
        help_text="Needed to resolve.",
    )
    resolution_notes = forms.CharField(
        label="Resolution notes",
        required=False,
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Needed to resolve (what fixed it) or to cancel (why).",
    )
    version = _version_field()

    def __init__(
        self,
        *args: Any,
        incident: Incident,
        offered: tuple[str, ...] = (),
        for_requester: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("prefix", "transition")
        kwargs.setdefault("initial", {"version": incident.version})
        super().__init__(*args, **kwargs)
        if for_requester:
            # A requester only cancels their new incident (with a reason) or reopens their
            # resolved one: the state is fixed by the button, the rest is not theirs to set.
            self.fields["to_state"].widget = forms.HiddenInput()
            if offered:
                self.initial.setdefault("to_state", offered[0])
            del self.fields["hold_reason"]
            del self.fields["resolution_code"]
            if State.CANCELLED in offered:
                notes = self.fields["resolution_notes"]
                notes.label = "Why you no longer need help"
                notes.help_text = "Needed to cancel; the service desk will see it."
            else:
                del self.fields["resolution_notes"]
        else:
            # Validation accepts every state; the select lists only the legal next ones.
            self.fields["to_state"].widget.choices = [
                (value, label) for value, label in State.choices if value in offered
            ]

    def transition_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "expected_version": data["version"],
            "hold_reason": data.get("hold_reason") or None,
            "resolution_code": data.get("resolution_code") or None,
            "resolution_notes": data.get("resolution_notes", ""),
        }


class AssignForm(ShellForm):
    domain_fields = STALE

    group = forms.ModelChoiceField(
        label="Assignment group",
        queryset=Team.objects.none(),
        to_field_name="slug",
        required=False,
        empty_label="No group",
    )
    assignee = PersonChoice(
        label="Assignee",
        queryset=User.objects.none(),
        required=False,
        empty_label="Nobody yet",
        help_text="Service desk staff; with a group, a member of it.",
    )
    version = _version_field()

    def __init__(self, *args: Any, user: User, incident: Incident, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "assign")
        kwargs.setdefault(
            "initial",
            {
                "group": incident.assignment_group.slug if incident.assignment_group else None,
                "assignee": incident.assignee_id,
                "version": incident.version,
            },
        )
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = visible_to(user, Team.objects.all())  # type: ignore[attr-defined]
        self.fields["assignee"].queryset = staff_people(user)  # type: ignore[attr-defined]


class EditForm(ShellForm):
    """The record's fields; requesters get title and description (while their incident is new)."""

    domain_fields = STALE

    title = forms.CharField(label="Title", max_length=TITLE_MAX)
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Markdown works.",
    )
    service = forms.ModelChoiceField(
        label="Service", queryset=Service.objects.none(), to_field_name="slug"
    )
    configuration_item = ConfigurationItemChoice(
        label="Configuration item",
        queryset=ConfigurationItem.objects.none(),
        required=False,
        empty_label="None",
    )
    category = forms.ChoiceField(label="Category", choices=Category.choices)
    impact = forms.TypedChoiceField(label="Impact", choices=Level.choices, coerce=int)
    urgency = forms.TypedChoiceField(label="Urgency", choices=Level.choices, coerce=int)
    visibility = forms.ChoiceField(
        label="Who may see it",
        choices=Visibility.choices,
        help_text="Public: every signed-in person; internal: those involved and staff; "
        "confidential: staff only.",
    )
    version = _version_field()

    STAFF_ONLY = ("service", "configuration_item", "category", "impact", "urgency", "visibility")

    def __init__(
        self, *args: Any, user: User, incident: Incident, staff: bool, **kwargs: Any
    ) -> None:
        kwargs.setdefault("prefix", "edit")
        kwargs.setdefault(
            "initial",
            {
                "title": incident.title,
                "description": incident.description,
                "service": incident.service.slug,
                "configuration_item": incident.configuration_item_id,
                "category": incident.category,
                "impact": incident.impact,
                "urgency": incident.urgency,
                "visibility": incident.visibility,
                "version": incident.version,
            },
        )
        super().__init__(*args, **kwargs)
        if staff:
            self.fields["service"].queryset = services_for(user)  # type: ignore[attr-defined]
            self.fields["configuration_item"].queryset = configuration_items_for(user)  # type: ignore[attr-defined]
        else:
            for name in self.STAFF_ONLY:
                del self.fields[name]

    def clean_description(self) -> str:
        return _one_kind_of_line_break(self.cleaned_data["description"])

    def changes(self) -> dict[str, Any]:
        """What the person changed compared with the incident as it is now."""
        changed = {
            name: self.cleaned_data[name]
            for name in self.changed_data
            if name != "version" and name in self.cleaned_data
        }
        if changed.get("description") == self.initial.get("description"):
            del changed["description"]  # only its line breaks differed
        return changed
