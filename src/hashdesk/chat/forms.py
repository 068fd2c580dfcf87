"""Forms of the chat pages: the composer, editing a message, opening live help, and the
agent's controls of a help conversation (transfer, close, file as incident, link to one).

They only parse what was typed; every rule (length, membership, redaction, rate limits, who may
pick up or close) belongs to the chat actions, whose refusals land on these forms through
``ShellForm.add_domain_error``. That is why texts are neither stripped nor limited here: a blank
or too long message gets the action's own words, the same the API and the WebSocket answer.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms

from hashdesk.accounts.models import Team, User
from hashdesk.catalog.models import Service
from hashdesk.chat.help import TOPIC_MAX
from hashdesk.chat.models import BODY_MAX, CLIENT_KEY_MAX
from hashdesk.core.visibility import staff_condition
from hashdesk.incidents.forms import services_for
from hashdesk.incidents.models import TITLE_MAX
from hashdesk.web.forms import ShellForm


def new_client_key() -> str:
    """The idempotency key a rendered form carries: submitting the same page twice (a double
    click, a resubmitted POST) sends one message."""
    return f"form-{uuid.uuid4()}"


def _body_field(label: str, **attrs: Any) -> forms.CharField:
    return forms.CharField(
        label=label,
        error_messages={"required": "Write a message."},
        strip=False,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": BODY_MAX, **attrs}),
    )


class MessageForm(ShellForm):
    body = _body_field("Message", **{"data-chat-input": "", "enterkeyhint": "send"})
    client_key = forms.CharField(
        widget=forms.HiddenInput, required=False, max_length=CLIENT_KEY_MAX
    )
    thread_root = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)
    domain_fields = {"thread_root_id": "thread_root"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("client_key", new_client_key())


class EditForm(ShellForm):
    body = _body_field("Message")


class HelpForm(ShellForm):
    """ "Chat with the service desk": what it is about, and the first message."""

    topic = forms.CharField(
        label="What do you need help with?",
        max_length=TOPIC_MAX,
        error_messages={"required": "Say in a few words what it is about."},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    body = _body_field("Your message")
    client_key = forms.CharField(
        widget=forms.HiddenInput, required=False, max_length=CLIENT_KEY_MAX
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("client_key", new_client_key())


class TransferForm(ShellForm):
    """Hand a conversation to another agent, or back to a team's queue (one of the two)."""

    agent = forms.ModelChoiceField(
        label="To an agent", queryset=User.objects.none(), required=False
    )
    team = forms.ModelChoiceField(
        label="Or to a team", queryset=Team.objects.none(), required=False
    )
    domain_fields = {"agent_id": "agent", "team_id": "team", "to_agent": "agent", "to_team": "team"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        agent_field = self.fields["agent"]
        team_field = self.fields["team"]
        assert isinstance(agent_field, forms.ModelChoiceField)
        assert isinstance(team_field, forms.ModelChoiceField)
        agent_field.queryset = (
            User.objects.filter(staff_condition()).distinct().order_by("display_name", "pk")
        )
        team_field.queryset = Team.objects.order_by("name")


class CloseForm(ShellForm):
    resolved = forms.BooleanField(label="The question was answered", required=False)


class FileIncidentForm(ShellForm):
    title = forms.CharField(
        label="Incident title",
        required=False,
        max_length=TITLE_MAX,
        help_text="Leave empty to use the conversation's topic.",
    )
    service = forms.ModelChoiceField(
        label="Service",
        queryset=Service.objects.none(),
        required=False,
        help_text="Leave empty for the service recognised in the conversation.",
    )
    resolved_on_first_contact = forms.BooleanField(
        label="Resolved on first contact", required=False
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["service"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = services_for(user)


class LinkIncidentForm(ShellForm):
    number = forms.CharField(
        label="Incident number",
        max_length=20,
        widget=forms.TextInput(attrs={"placeholder": "INC-0001", "autocomplete": "off"}),
    )
