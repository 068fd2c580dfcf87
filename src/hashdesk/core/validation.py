"""Turning model validation into domain errors, so every entry point reports them the same way."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db.models import Model

from hashdesk.core.errors import ValidationFailed
from hashdesk.core.redaction import redact


def full_clean_or_fail(obj: Model, *, exclude: Iterable[str] | None = None) -> None:
    """Run ``full_clean`` and raise :class:`ValidationFailed` naming the first bad field."""
    try:
        obj.full_clean(exclude=list(exclude) if exclude else None)
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            field, errors = next(iter(exc.error_dict.items()))
            message = "; ".join(str(m) for e in errors for m in e.messages)
            errors_list = [
                {"field": name, "message": "; ".join(m for e in errs for m in e.messages)}
                for name, errs in exc.error_dict.items()
            ]
            raise ValidationFailed(
                message, field=None if field == "__all__" else field, errors=errors_list
            ) from exc
        raise ValidationFailed("; ".join(exc.messages)) from exc


def require_text(
    value: str | None, *, field: str, max_length: int, allow_blank: bool = False
) -> str:
    text = (value or "").strip()
    if not text and not allow_blank:
        raise ValidationFailed(f"{field.replace('_', ' ').capitalize()} is required.", field=field)
    if len(text) > max_length:
        raise ValidationFailed(
            f"{field.replace('_', ' ').capitalize()} is longer than {max_length} characters.",
            field=field,
        )
    return text


def redacted_text(value: str | None, *, field: str, max_length: int) -> str:
    """Optional free text of a record: trimmed, bounded, and with secrets redacted before it is
    stored (docs/redaction.md)."""
    return redact(require_text(value, field=field, max_length=max_length, allow_blank=True)).text
