"""Highlights computed from the record's own text at render time (docs/search.md): every word
whose analysed form is one of the query's terms (or their synonyms / corrections) is wrapped
in ``<mark>``; everything else is escaped."""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from hashdesk.insights import text as analyser

SNIPPET_CHARS = 240
_WORD = re.compile(r"\w+(?:[.'_-]\w+)*")


def _spans(text: str, terms: set[str]) -> list[tuple[int, int]]:
    spans = []
    for match in _WORD.finditer(text):
        if any(token in terms for token in analyser.tokens(match.group())):
            spans.append(match.span())
    return spans


def _render(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    out: list[str] = []
    at = start
    for left, right in spans:
        if right <= start or left >= end:
            continue
        left, right = max(left, start), min(right, end)
        out.append(str(escape(text[at:left])))
        out.append("<mark>" + str(escape(text[left:right])) + "</mark>")
        at = right
    out.append(str(escape(text[at:end])))
    return "".join(out)


def marked(text: str, terms: set[str]) -> SafeString:
    """All of ``text``, escaped, with the matching words marked."""
    return mark_safe(_render(text, _spans(text, terms), 0, len(text)))  # noqa: S308


def snippet(text: str, terms: set[str], size: int = SNIPPET_CHARS) -> SafeString:
    """About ``size`` characters of ``text`` around its first matching word, escaped, marked,
    with an ellipsis where it was cut."""
    text = " ".join((text or "").split())
    spans = _spans(text, terms)
    if not text:
        return mark_safe("")
    first = spans[0][0] if spans else 0
    start = max(0, first - size // 3)
    if start > 0:
        space = text.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 20 else start
    end = min(len(text), start + size)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + size // 2 else end
    body = _render(text, spans, start, end)
    return mark_safe(("… " if start else "") + body + (" …" if end < len(text) else ""))  # noqa: S308
