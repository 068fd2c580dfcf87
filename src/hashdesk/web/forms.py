"""Form rendering for the whole web shell, and domain errors turned into form errors.

Forms in Hashdesk are plain ``forms.Form`` classes whose views call actions; a
:class:`hashdesk.core.errors.DomainError` raised by an action lands on the form field it names
(``error.field``), or on the form as a whole, so people see every refusal next to what caused it.
Django 5.2 already sets ``aria-invalid`` and points ``aria-describedby`` at the error and help
texts; the templates here add the error summary and the layout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.forms.renderers import DjangoTemplates

from hashdesk.core.errors import DomainError, Forbidden


def raise_if_forbidden(error: DomainError) -> None:
    """An action's ``Forbidden`` is a 403 page, never a form error or a message."""
    if isinstance(error, Forbidden):
        raise PermissionDenied(error.detail)


class ShellFormRenderer(DjangoTemplates):
    """Django's own form templates plus the shell's field and form layout."""

    form_template_name = "web/forms/form.html"
    field_template_name = "web/forms/field.html"


class ShellForm(forms.Form):
    """Base of every web form: shell rendering and domain-error mapping."""

    default_renderer = ShellFormRenderer()
    # Action argument names that differ from this form's field names.
    domain_fields: Mapping[str, str] = {}

    def add_domain_error(self, error: DomainError) -> None:
        """Show ``error`` on the field it is about, or above the form when it names none.

        A ``Forbidden`` is not the form's business: it becomes a 403 page."""
        raise_if_forbidden(error)
        field = self.domain_fields.get(error.field or "", error.field)
        if field and field in self.fields:
            self.add_error(field, error.detail)
        else:
            self.add_error(None, error.detail)

    def error_summary(self) -> list[dict[str, Any]]:
        """Every error with the id of its field, for the summary at the top of the form."""
        summary: list[dict[str, Any]] = []
        for message in self.non_field_errors():
            summary.append({"message": message, "target": None})
        for name, field in self.fields.items():
            bound = self[name]
            for message in bound.errors:
                summary.append(
                    {"message": f"{field.label}: {message}", "target": bound.auto_id or None}
                )
        return summary
