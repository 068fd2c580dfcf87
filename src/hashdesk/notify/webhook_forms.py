"""Forms of the webhook pages; the actions in notify.webhooks validate and refuse."""

from __future__ import annotations

from django import forms

from hashdesk.notify.choices import Category
from hashdesk.notify.webhooks import MAX_URL_LENGTH
from hashdesk.web.forms import ShellForm


class WebhookForm(ShellForm):
    prefix = "webhook"

    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="What receives it, such as “team dashboard”.",
    )
    # A plain text field: notify.webhooks checks the URL (scheme, host and where it resolves)
    # and explains a refusal better than "Enter a valid URL".
    url = forms.CharField(
        label="URL",
        max_length=MAX_URL_LENGTH,
        widget=forms.URLInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="An https address is best. Internal networks are refused unless an "
        "administrator allows them.",
    )
    categories = forms.MultipleChoiceField(
        label="Categories",
        choices=Category.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every category you send to webhooks in your notification "
        "preferences.",
    )
