"""The knowledge pages' form: editing a draft (docs/knowledge.md, "Pages")."""

from __future__ import annotations

from django import forms

from hashdesk.knowledge.actions import NOTE_MAX
from hashdesk.knowledge.models import BODY_MAX, COMMENT_MAX, TITLE_MAX
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


class SendBackForm(ShellForm):
    comment = forms.CharField(
        max_length=1000,
        label="What should change",
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class FeedbackForm(ShellForm):
    helpful = forms.TypedChoiceField(
        choices=[("yes", "Yes, it helped"), ("no", "No, it did not")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
        label="Was this article helpful?",
    )
    comment = forms.CharField(
        max_length=COMMENT_MAX,
        required=False,
        label="Comment",
        help_text="Seen by the service desk.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ArticleFilters(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search titles")
    service = forms.CharField(required=False, max_length=100, label="Service")
    stale = forms.BooleanField(required=False, label="Stale only")
    state = forms.ChoiceField(
        required=False,
        label="State",
        choices=[
            ("", "Published"),
            ("draft", "Drafts"),
            ("review", "In review"),
            ("retired", "Retired"),
            ("all", "All states"),
        ],
    )
    mine = forms.BooleanField(required=False, label="Mine")
