"""Forms of the change pages: planning a change, moving it through its lifecycle and the CAB's
decision. Plain forms: the views hand the cleaned values to ``changes.actions`` /
``changes.approvals``, which check permission and validate again; the form only offers what
makes sense (visible services and items, the states allowed now).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.db.models import QuerySet

from hashdesk.accounts.models import User
from hashdesk.catalog.models import ConfigurationItem, Service
from hashdesk.changes import lifecycle, risk
from hashdesk.changes.choices import ApprovalDecision, ChangeState, ChangeType
from hashdesk.changes.models import Approval, Change, ChangeTemplate
from hashdesk.core.visibility import can_manage_changes, visible_to
from hashdesk.web.forms import ShellForm

TIME_ZONES = sorted(available_timezones() - {"localtime"})
ANSWERS = [("yes", "Yes"), ("no", "No")]
RISK_PREFIX = "risk_"
# The summary of a stale form is about the whole form, not a field anyone can fix.
STALE = {"version": ""}


def services_for(user: User) -> QuerySet[Service]:
    return visible_to(user, Service.objects.filter(is_active=True)).order_by("name")


def items_for(user: User) -> QuerySet[ConfigurationItem]:
    items = ConfigurationItem.objects.filter(is_active=True).select_related("service")
    return visible_to(user, items).order_by("service__name", "name")


class ItemChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.name} ({obj.service.name})"


class LocalDateTimeField(forms.DateTimeField):
    """A wall-clock time with no zone: the change's own time zone field says where it is
    (Django would otherwise read it in the server's zone)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        return parsed.replace(tzinfo=None) if parsed is not None else None


def _text(label: str, *, required: bool = False, rows: int = 4) -> forms.CharField:
    return forms.CharField(
        label=label, required=required, widget=forms.Textarea(attrs={"rows": rows})
    )


class ChangeCreateForm(ShellForm):
    """Plan a change. Standard changes come from a template; the others need plans of their own
    before they are assessed."""

    type = forms.ChoiceField(label="Type", choices=ChangeType.choices, initial=ChangeType.NORMAL)
    template = forms.ModelChoiceField(
        label="Standard change template",
        queryset=ChangeTemplate.objects.none(),
        required=False,
        help_text="Only for standard changes: its plans and services are used when left empty.",
    )
    summary = forms.CharField(label="Summary", max_length=200)
    description = _text("Description")
    reason = _text("Reason", rows=2)
    implementation_plan = _text("Implementation plan")
    backout_plan = _text("Back-out plan")
    test_plan = _text("Test plan", rows=2)
    services = forms.ModelMultipleChoiceField(
        label="Services", queryset=Service.objects.none(), required=False
    )
    configuration_items = ItemChoice(
        label="Configuration items", queryset=ConfigurationItem.objects.none(), required=False
    )
    planned_start = LocalDateTimeField(label="Planned start", required=False)
    planned_end = LocalDateTimeField(label="Planned end", required=False)
    time_zone = forms.ChoiceField(
        label="Time zone", choices=[(z, z) for z in TIME_ZONES], initial="UTC"
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        fields: Any = self.fields
        fields["template"].queryset = ChangeTemplate.objects.filter(is_active=True).order_by("name")
        fields["services"].queryset = services_for(user)
        fields["configuration_items"].queryset = items_for(user)
        for question in risk.QUESTIONS:
            self.fields[RISK_PREFIX + question.key] = forms.ChoiceField(
                label=question.text, choices=ANSWERS, widget=forms.RadioSelect, required=False
            )

    def risk_fields(self) -> list[Any]:
        return [self[RISK_PREFIX + q.key] for q in risk.QUESTIONS]

    def action_arguments(self) -> dict[str, Any]:
        """The cleaned values as ``actions.do_create_change`` takes them; the risk radios
        become ``risk_answers`` (an unanswered question is left out: it counts as risky)."""
        data = {
            name: value
            for name, value in self.cleaned_data.items()
            if not name.startswith(RISK_PREFIX)
        }
        answers = {
            q.key: self.cleaned_data[RISK_PREFIX + q.key] == "yes"
            for q in risk.QUESTIONS
            if self.cleaned_data.get(RISK_PREFIX + q.key)
        }
        data["services"] = list(data["services"])
        data["configuration_items"] = list(data["configuration_items"])
        return {**data, "risk_answers": answers}


class ChangeEditForm(ShellForm):
    """Move the plan or reword it; ``version`` makes a stale form a Conflict."""

    # Several forms share the change's page: prefixes keep their ids apart.
    prefix = "edit"

    summary = forms.CharField(label="Summary", max_length=200)
    description = _text("Description")
    planned_start = LocalDateTimeField(label="Planned start", required=False)
    planned_end = LocalDateTimeField(label="Planned end", required=False)
    time_zone = forms.ChoiceField(label="Time zone", choices=[(z, z) for z in TIME_ZONES])
    override_justification = _text("Why schedule despite the conflicts (change managers)", rows=2)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)
    domain_fields = STALE


class TransitionForm(ShellForm):
    """Move a change to one of the states allowed now (``lifecycle.allowed_next``)."""

    prefix = "move"

    to_state = forms.ChoiceField(label="Move to", choices=ChangeState.choices)
    notes = _text("Notes", rows=2)
    override_justification = _text("Why schedule despite the conflicts (change managers)", rows=2)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**31 - 1)
    domain_fields = {**STALE, "state": "to_state"}

    def offer(self, states: tuple[ChangeState, ...]) -> None:
        """Offer only the states the change may go to now; the action judges again."""
        field: Any = self.fields["to_state"]
        field.choices = [(str(s), s.label) for s in states]


class DecisionForm(ShellForm):
    """A CAB member's decision; rejecting needs a comment (the action says so)."""

    prefix = "decide"

    decision = forms.ChoiceField(
        label="Decision", choices=[("approve", "Approve"), ("reject", "Reject")]
    )
    comment = _text("Comment", rows=2)


def _local_initial(change: Change) -> dict[str, Any]:
    zone = ZoneInfo(change.time_zone)
    return {
        "summary": change.summary,
        "description": change.description,
        "time_zone": change.time_zone,
        "version": change.version,
        "planned_start": change.planned_start.astimezone(zone) if change.planned_start else None,
        "planned_end": change.planned_end.astimezone(zone) if change.planned_end else None,
    }


def forms_for(
    user: User, change: Change, approvals: list[Approval], bound: dict[str, ShellForm]
) -> dict[str, Any]:
    """The forms of a change's page for what ``user`` (staff) may do now; a refused form
    (``bound``) takes the place of its fresh one."""
    nexts = lifecycle.allowed_next(change)
    fresh: dict[str, ShellForm | None] = {
        "edit": ChangeEditForm(initial=_local_initial(change))
        if change.state in lifecycle.MOVABLE_STATES
        else None,
        "transition": TransitionForm(initial={"version": change.version}) if nexts else None,
        "decision": DecisionForm()
        if change.state == ChangeState.AUTHORISE
        and any(
            a.approver_id == user.pk and a.decision == ApprovalDecision.PENDING for a in approvals
        )
        else None,
    }
    fresh.update(bound)
    transition = fresh["transition"]
    if isinstance(transition, TransitionForm):
        transition.offer(nexts)
    return {f"{name}_form": form for name, form in fresh.items()} | {
        "may_override": can_manage_changes(user)
    }
