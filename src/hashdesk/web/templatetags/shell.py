"""Template helpers of the web shell: icons, initials, safe internal links, badges."""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

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
