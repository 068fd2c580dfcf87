"""Template helpers of the web shell: icons, initials, safe internal links, badges."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def icon(name: str, label: str = "") -> SafeString:
    """An icon from the shell's sprite. Decorative unless ``label`` names it for screen readers."""
    if label:
        return format_html(
            '<svg class="icon" role="img" aria-label="{}" focusable="false">'
            '<use href="#icon-{}"></use></svg>',
            label,
            name,
        )
    return format_html(
        '<svg class="icon" aria-hidden="true" focusable="false"><use href="#icon-{}"></use></svg>',
        name,
    )


@register.filter
def initials(user: object) -> str:
    name = str(getattr(user, "display_name", "") or getattr(user, "email", "") or "?")
    parts = [part for part in name.replace(".", " ").split() if part]
    letters = "".join(part[0] for part in parts[:2]) or name[:1]
    return letters.upper()


@register.filter
def internal_url(url: str) -> str:
    """``url`` if it is a path on this site, else "" — stored links never become javascript:."""
    text = str(url or "")
    if text.startswith("/") and not text.startswith("//") and "\\" not in text:
        return text
    return ""


@register.simple_tag
def options(choices: Iterable[tuple[object, object]], selected: object = None) -> SafeString:
    """``<option>`` elements for ``(value, label)`` pairs; ``selected`` is one value or a
    collection of values. Written in Python because long lists (services, people) rendered by a
    template loop cost milliseconds on pages that must answer in a few (docs/performance.md)."""
    if isinstance(selected, list | tuple | set | frozenset):
        chosen = {str(value) for value in selected}
    else:
        chosen = {str(selected)} if selected not in (None, "") else set()
    parts = []
    for value, label in choices:
        text = str(value)
        mark = " selected" if text in chosen else ""
        parts.append(f'<option value="{escape(text)}"{mark}>{escape(str(label))}</option>')
    return mark_safe("".join(parts))  # noqa: S308 - every value and label is escaped above
