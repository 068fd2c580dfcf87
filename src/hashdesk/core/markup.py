"""Turning user-written markdown into HTML that is safe to show to anyone.

Two layers, always both: markdown-it renders with raw HTML disabled (so typed tags come out as
text), then nh3 sanitises the result against an explicit allow-list. The second layer is what
keeps us safe if the renderer ever emits something unexpected (a link to ``javascript:``, an
attribute from a future plugin).
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

ALLOWED_TAGS = frozenset(
    {
        "a", "p", "br", "hr", "strong", "em", "s", "del", "code", "pre", "blockquote",
        "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
        "table", "thead", "tbody", "tr", "th", "td",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "ol": {"start"},
    "th": {"style"},
    "td": {"style"},
}
# Table alignment comes as style="text-align: ..."; nothing else in style survives.
ALLOWED_STYLE_PROPERTIES = frozenset({"text-align"})
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer"

_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
    ["table", "strikethrough"]
)


def render_markdown(text: str) -> str:
    """Render ``text`` (markdown) to sanitised HTML; blank text gives an empty string."""
    if not text or not text.strip():
        return ""
    html = _renderer.render(text)
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel=LINK_REL,
        filter_style_properties=set(ALLOWED_STYLE_PROPERTIES),
        strip_comments=True,
    )
