"""Forms of the agent queue: its filters (GET), "save this view", and the bulk changes.

Plain forms, never ModelForms: the views hand the cleaned values to hashdesk.incidents.queue
(reading) or to the actions (writing), which validate again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from hashdesk.incidents.choices import (
    Category,
    HoldReason,
    Priority,
    ResolutionCode,
    SlaState,
    State,
)
from hashdesk.incidents.models import DESCRIPTION_MAX
from hashdesk.incidents.queue import (
    DEFAULT_QUEUE,
    MAX_CURSOR_LENGTH,
    MAX_QUERY_LENGTH,
    QUEUES,
    SORTS,
    QueueQuery,
)
from hashdesk.incidents.saved_views import SAVED_VIEW_NAME_MAX
from hashdesk.web.forms import ShellForm

Choices = Sequence[tuple[str, str]]

# More than two pages' worth in one request is not what the queue sends; it would only hold the
# database for long.
MAX_BULK_TARGETS = 2 * 50
SLA_CHOICES = [*SlaState.choices, ("none", "No SLA")]
ASSIGNEE_PATTERN = re.compile(r"^(me|none|[1-9][0-9]{0,17})$")


class QueueFilterForm(ShellForm):
    """The queue, its filters and its sort. Every field is optional; a bad value is reported and
    left out, so the rest of the view still applies."""

    queue = forms.ChoiceField(
        label="Queue", required=False, choices=[(q.key, q.label) for q in QUEUES]
    )
    state = forms.MultipleChoiceField(label="State", required=False, choices=State.choices)
    priority = forms.TypedMultipleChoiceField(
        label="Priority", required=False, choices=Priority.choices, coerce=int
    )
    service = forms.ChoiceField(label="Service", required=False)
    group = forms.ChoiceField(label="Assignment group", required=False)
    assignee = forms.CharField(label="Assignee", required=False, max_length=20)
    category = forms.ChoiceField(label="Category", required=False, choices=Category.choices)
    sla = forms.ChoiceField(label="SLA", required=False, choices=SLA_CHOICES)
    q = forms.CharField(label="Search", required=False, max_length=100)
    created_after = forms.DateField(label="Created on or after", required=False)
    created_before = forms.DateField(label="Created before", required=False)
    sort = forms.ChoiceField(
        label="Sort by", required=False, choices=[(s.key, s.label) for s in SORTS]
    )
    dir = forms.ChoiceField(
        label="Order", required=False, choices=[("asc", "Ascending"), ("desc", "Descending")]
    )
    cursor = forms.CharField(label="Page", required=False, max_length=MAX_CURSOR_LENGTH)

    def __init__(self, *args: Any, services: Choices, teams: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service"].choices = list(services)  # type: ignore[attr-defined]
        self.fields["group"].choices = list(teams)  # type: ignore[attr-defined]

    def clean_assignee(self) -> str:
        value = str(self.cleaned_data.get("assignee") or "").strip().lower()
        if value and not ASSIGNEE_PATTERN.match(value):
            raise ValidationError("Choose me, unassigned or a person.")
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        after, before = cleaned.get("created_after"), cleaned.get("created_before")
        if after and before and after >= before:
            self.add_error("created_before", "Must be a later day than “Created on or after”.")
        return cleaned

    def to_query(self) -> QueueQuery:
        """The valid part of the submitted view (call after ``is_valid``)."""
        data = self.cleaned_data
        direction = data.get("dir") or ""
        return QueueQuery(
            queue=data.get("queue") or DEFAULT_QUEUE,
            states=tuple(data.get("state") or ()),
            priorities=tuple(data.get("priority") or ()),
            service=data.get("service") or "",
            group=data.get("group") or "",
            assignee=data.get("assignee") or "",
            category=data.get("category") or "",
            sla_state=data.get("sla") or "",
            text=(data.get("q") or "").strip(),
            created_after=data.get("created_after"),
            created_before=data.get("created_before"),
            sort=data.get("sort") or "",
            descending=None if not direction else direction == "desc",
        )


class SaveViewForm(ShellForm):
    """Keep the current filters and sort as a named view of one's own."""

    name = forms.CharField(label="View name", max_length=SAVED_VIEW_NAME_MAX)
    query = forms.CharField(required=False, max_length=MAX_QUERY_LENGTH, widget=forms.HiddenInput)


class TargetsField(forms.Field):
    """Incidents as the queue rendered them: ``<id>:<version>`` for each, so a bulk change is
    based on the version the agent saw and refused for an incident changed since."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[tuple[int, int]]:
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        targets: dict[int, int] = {}
        for item in value:
            pk, sep, version = str(item).partition(":")
            if not (sep and pk.isdigit() and version.isdigit() and len(pk) <= 18):
                raise ValidationError("The selection is not valid; reload the queue.")
            targets[int(pk)] = int(version)
        if len(targets) > MAX_BULK_TARGETS:
            raise ValidationError(f"Select at most {MAX_BULK_TARGETS} incidents at a time.")
        return list(targets.items())


class BulkForm(ShellForm):
    """Assign or move the selected incidents (or every incident on the page)."""

    operation = forms.ChoiceField(
        choices=[("assign", "Assign"), ("transition", "Change state")],
        error_messages={"required": "Choose what to do with the selected incidents."},
    )
    incident = TargetsField(required=False)
    on_page = TargetsField(required=False)
    select_all = forms.BooleanField(label="Select all on this page", required=False)
    group = forms.ChoiceField(label="Assignment group", required=False)
    assignee = forms.ChoiceField(label="Assignee", required=False)
    to_state = forms.ChoiceField(
        label="New state",
        required=False,
        choices=[("", "Choose a state"), *[c for c in State.choices if c[0] != State.NEW]],
    )
    hold_reason = forms.ChoiceField(
        label="Hold reason", required=False, choices=[("", "—"), *HoldReason.choices]
    )
    resolution_code = forms.ChoiceField(
        label="Resolution code", required=False, choices=[("", "—"), *ResolutionCode.choices]
    )
    resolution_notes = forms.CharField(
        label="Resolution notes", required=False, max_length=DESCRIPTION_MAX
    )
    next = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args: Any, teams: Choices, people: Choices, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [("", "—"), *teams]  # type: ignore[attr-defined]
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("", "—"),
            ("me", "Me"),
            *people,
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        targets = cleaned.get("on_page") if cleaned.get("select_all") else cleaned.get("incident")
        if not targets:
            raise ValidationError("Select at least one incident first.")
        cleaned["targets"] = targets
        operation = cleaned.get("operation")
        if operation == "assign" and not (cleaned.get("group") or cleaned.get("assignee")):
            self.add_error("assignee", "Choose a group, a person or both to assign to.")
        if operation == "transition" and not cleaned.get("to_state"):
            self.add_error("to_state", "Choose the state to move the incidents to.")
        return cleaned
