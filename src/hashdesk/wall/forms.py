"""Forms of the wall's pages: the composer, a reply, a report to the moderators, and for staff
hiding a post and promoting posts to an incident.

They only parse what was typed; every rule (length, redaction, watched words, rate limits, who
may post to which team) belongs to ``wall.actions``, whose refusals land on these forms through
``ShellForm.add_domain_error``. That is why the text is not stripped or limited here: a blank
or too long post gets the action's own words, the same the API answers.
"""

from __future__ import annotations

from typing import Any

from django import forms

from hashdesk.accounts.models import Team, User
from hashdesk.catalog.models import Service
from hashdesk.core.visibility import is_staff
from hashdesk.incidents.forms import services_for
from hashdesk.incidents.models import TITLE_MAX
from hashdesk.wall.choices import PostVisibility
from hashdesk.wall.media import DESCRIPTION_MAX, MEDIA_PER_POST_MAX
from hashdesk.wall.models import BODY_MAX, Post
from hashdesk.web.forms import ShellForm

EVERYONE = "everyone"


class MultipleImageInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class ImagesField(forms.FileField):
    """Any number of files from one input (the action counts and checks them)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget", MultipleImageInput(attrs={"accept": "image/*", "data-post-images": ""})
        )
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, (list, tuple)) else [data]
        return [super(ImagesField, self).clean(file, initial) for file in files if file]


def _body_field(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        # Only a missing field is refused here, in the action's words; blank or too long text
        # goes to the action (not stripped, not limited), which refuses it.
        error_messages={"required": "Write something to post."},
        strip=False,
        help_text=help_text,
        widget=forms.Textarea(
            attrs={"rows": 3, "maxlength": BODY_MAX, "data-post-body": "", "data-max": BODY_MAX}
        ),
    )


class PostForm(ShellForm):
    """The composer: what is wrong, and who may read it (everyone, or one of my teams)."""

    domain_fields = {
        "team": "audience",
        "visibility": "audience",
        "file": "images",
        "media_ids": "images",
        "description": "image_description",
    }

    body = _body_field(
        "What is going on?",
        f"Up to {BODY_MAX:,} characters. Tag the service (#vpn) and mention people (@ana.lopez). "
        "Passwords and keys are removed before posting.",
    )
    audience = forms.ChoiceField(label="Who can see it", choices=())
    question = forms.BooleanField(
        label="This is a question",
        required=False,
        help_text="Colleagues answer it and you accept the answer that solved it.",
    )
    images = ImagesField(
        label="Add images",
        required=False,
        help_text=f"Up to {MEDIA_PER_POST_MAX} PNG, JPEG, GIF or WebP images. "
        "Location and camera details are removed.",
    )
    image_description = forms.CharField(
        label="Describe the images",
        required=False,
        strip=False,
        help_text="For people who cannot see them (read out by screen readers).",
        widget=forms.TextInput(
            attrs={"maxlength": DESCRIPTION_MAX, "data-post-image-description": ""}
        ),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A post of images alone may have no text: then the action decides, in its own words.
        if self.files and self.files.getlist("images"):
            self.fields["body"].required = False
        self.teams = {
            team.slug: team
            for team in (Team.objects.all() if is_staff(user) else user.teams.all()).order_by(
                "name"
            )
        }
        choices = [(EVERYONE, "Everyone")] + [
            (slug, f"Team {team.name} only") for slug, team in self.teams.items()
        ]
        field = self.fields["audience"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices
        field.initial = EVERYONE

    def post_arguments(self) -> dict[str, Any]:
        audience = self.cleaned_data["audience"]
        question = bool(self.cleaned_data.get("question"))
        if audience == EVERYONE:
            return {
                "body": self.cleaned_data["body"],
                "visibility": PostVisibility.PUBLIC,
                "question": question,
            }
        return {
            "body": self.cleaned_data["body"],
            "visibility": PostVisibility.TEAM,
            "team": self.teams[audience],
            "question": question,
        }


class ReplyForm(ShellForm):
    """A reply takes its thread's audience (wall.actions.do_post), so it asks only for text."""

    body = _body_field("Your reply", f"Up to {BODY_MAX:,} characters.")


class ReportForm(ShellForm):
    reason = forms.CharField(
        label="Why should a moderator look at this post?",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class HideForm(ShellForm):
    """A moderator hides a post; the reason is kept with it and in the audit trail."""

    reason = forms.CharField(
        label="Why hide it?",
        required=False,
        max_length=500,
        help_text="Kept with the post and in the audit trail.",
    )


class PromoteForm(ShellForm):
    """Staff record an incident from a post (and, if they pick them, similar posts)."""

    domain_fields = {"posts": "also"}

    title = forms.CharField(label="Incident title", max_length=TITLE_MAX)
    service = forms.ModelChoiceField(
        label="Service", queryset=Service.objects.none(), to_field_name="slug"
    )
    description = forms.CharField(
        label="Description",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Leave it empty to quote the posts.",
    )
    also = forms.TypedMultipleChoiceField(
        label="Similar posts to link too",
        required=False,
        coerce=int,
        choices=(),
        widget=forms.CheckboxSelectMultiple,
        help_text="Their authors become affected users as well.",
    )

    def __init__(
        self, *args: Any, user: User, post: Post, similar: list[Post], **kwargs: Any
    ) -> None:
        # The similar posts start ticked: promoting a burst is one click; the agent unticks
        # any that are about something else.
        kwargs.setdefault(
            "initial",
            {
                "title": " ".join(post.body.split())[:80],
                "service": post.service,
                "also": [item.pk for item in similar],
            },
        )
        super().__init__(*args, **kwargs)
        service = self.fields["service"]
        assert isinstance(service, forms.ModelChoiceField)
        service.queryset = services_for(user)
        also = self.fields["also"]
        assert isinstance(also, forms.TypedMultipleChoiceField)
        also.choices = [
            (item.pk, f"{item.author.display_name}: {' '.join(item.body.split())[:100]}")
            for item in similar
        ]
        if not similar:
            del self.fields["also"]
