"""The knowledge pages' form: editing a draft (docs/knowledge.md, "Pages")."""

from __future__ import annotations

from django import forms

from hashdesk.knowledge.actions import NOTE_MAX
from hashdesk.knowledge.models import BODY_MAX, TITLE_MAX
from hashdesk.web.forms import ShellForm


class DraftForm(ShellForm):
    title = forms.CharField(max_length=TITLE_MAX)
    body = forms.CharField(
        max_length=BODY_MAX,
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text="Markdown. Secrets (passwords, keys) are removed before saving.",
    )
    note = forms.CharField(
        max_length=NOTE_MAX,
        required=False,
        label="What changed",
        help_text="Optional; shown in the version history.",
    )
    # The version the editor started from: a save by someone else in between is refused.
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)

    domain_fields = {"expected_version": "version"}
