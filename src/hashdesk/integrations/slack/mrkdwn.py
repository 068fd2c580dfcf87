"""Reading a Slack message: its text (or the text of its blocks and attachments) and Slack's
``mrkdwn`` turned into the project's markdown (docs/integrations/slack.md, "Formatting").

The result is only ever markdown: the target's action redacts it and core.markup renders and
sanitises it, so nothing here has to make HTML safe — only keep Slack's meaning:

- ``*bold*`` → ``**bold**``, ``_italic_`` → ``*italic*``, ``~strike~`` → ``~~strike~~``;
  code spans and blocks are kept as written;
- ``<https://example.org|label>`` → ``[label](<https://example.org>)`` (http, https and mailto
  only; any other scheme keeps the label as text), ``<https://example.org>`` → a link;
- ``<!here>``, ``<!channel>``, ``<!everyone>`` → ``@here`` …; ``<@U123|ana>`` → ``@ana``,
  ``<@U123>`` → ``@U123``; ``<#C123|general>`` → ``#general``; ``<!date^…|fallback>`` and
  ``<!subteam^…|@team>`` → their label;
- ``&lt;``, ``&gt;``, ``&amp;`` (Slack's only escapes) → the characters.
"""

from __future__ import annotations

import re
from typing import Any

LINK_SCHEMES = ("http://", "https://", "mailto:")
SPECIAL_MENTIONS = {"here", "channel", "everyone"}

_CONTROL_RE = re.compile(r"<([^<>\n]{1,2000})>")
# Code blocks first, then code spans: their content is never converted.
_CODE_RE = re.compile(r"(```.*?```|`[^`\n]+`)", re.DOTALL)
_EMPHASIS_RE = re.compile(
    r"(?<![\w*_~\\])([*_~])(?=\S)([^\n]*?\S)\1(?![\w*_~])",
)
_MARKDOWN_TO_ESCAPE = re.compile(r"([\\`*_~\[\]()<>#!|])")
_HEADING_RE = re.compile(r"^(\s{0,3})(#{1,6})(\s)", re.MULTILINE)


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _label_text(label: str) -> str:
    """A link's label as markdown text: brackets escaped so it cannot close the link early."""
    return label.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def _control(inner: str) -> str:
    """One ``<…>`` control sequence as markdown."""
    target, _, label = inner.partition("|")
    target, label = _unescape(target.strip()), _unescape(label.strip())
    if target.startswith("!"):
        name = target[1:].split("^", 1)[0]
        if name in SPECIAL_MENTIONS:
            return f"@{name}"
        return label or ""
    if target.startswith("@"):
        return f"@{label.lstrip('@')}" if label else target
    if target.startswith("#"):
        return f"#{label.lstrip('#')}" if label else target
    if target.lower().startswith(LINK_SCHEMES) and not any(c in target for c in " \n<>"):
        if label and label != target:
            return f"[{_label_text(label)}](<{target}>)"
        return f"<{target}>"
    # Another scheme (javascript:, slack:): keep what a reader would have seen.
    return label or target


_MARKS = {"*": "**", "_": "*", "~": "~~"}
_STRAY_MARK_RE = re.compile(r"([*_~])")


def _emphasis(text: str) -> str:
    """Slack's emphasis as markdown's; a ``*``, ``_`` or ``~`` that is not Slack emphasis
    (``2*3*4``, ``snake_case``) is escaped, so markdown does not read it as emphasis either."""
    pieces: list[str] = []
    position = 0
    for match in _EMPHASIS_RE.finditer(text):
        pieces.append(_STRAY_MARK_RE.sub(r"\\\1", text[position : match.start()]))
        mark = _MARKS[match.group(1)]
        pieces.append(f"{mark}{_emphasis(match.group(2))}{mark}")
        position = match.end()
    pieces.append(_STRAY_MARK_RE.sub(r"\\\1", text[position:]))
    return "".join(pieces)


def _convert_prose(text: str, *, markup: bool) -> str:
    """Text outside code: control sequences, entities and (when ``markup``) emphasis."""
    pieces: list[str] = []
    position = 0
    for match in _CONTROL_RE.finditer(text):
        pieces.append(_plain(text[position : match.start()], markup=markup))
        pieces.append(_control(match.group(1)))
        position = match.end()
    pieces.append(_plain(text[position:], markup=markup))
    return "".join(pieces)


def _plain(text: str, *, markup: bool) -> str:
    text = _unescape(text)
    if not markup:
        return _MARKDOWN_TO_ESCAPE.sub(r"\\\1", text)
    # Slack has no headings: "# not a heading" stays text.
    text = _HEADING_RE.sub(lambda m: f"{m.group(1)}\\{m.group(2)}{m.group(3)}", text)
    return _emphasis(text)


def to_markdown(text: str, *, markup: bool = True) -> str:
    """Slack ``mrkdwn`` (or, with ``markup`` False, plain text) as the project's markdown."""
    parts = _CODE_RE.split(text)
    out = []
    for index, part in enumerate(parts):
        if index % 2 == 1 and markup:
            if part.startswith("```"):
                # Slack opens a block anywhere; markdown only at the start of a line.
                inner = _unescape(part[3:-3]).strip("\n")
                out.append(f"\n```\n{inner}\n```\n")
            else:
                out.append(_unescape(part))
        else:
            out.append(_convert_prose(part, markup=markup))
    return "".join(out).strip()


# --- Where the text is ------------------------------------------------------------------------


def _text_object(value: Any) -> str:
    """The text of a Slack text object (``{"type": "mrkdwn", "text": …}``) or a plain string."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return str(value["text"])
    return ""


def blocks_text(blocks: Any) -> str:
    """The readable text of Block Kit ``blocks``: headers, sections (text and fields) and
    context elements, one paragraph each. Anything else (images, actions, dividers, unknown or
    malformed blocks) is skipped: a message is never refused because of its blocks."""
    if not isinstance(blocks, list):
        return ""
    paragraphs: list[str] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "header":
            header = _text_object(block.get("text"))
            if header:
                paragraphs.append(f"*{header}*")
        elif kind == "section":
            paragraphs.append(_text_object(block.get("text")))
            fields = block.get("fields")
            if isinstance(fields, list):
                paragraphs.append("\n".join(_text_object(field) for field in fields))
        elif kind == "context":
            elements = block.get("elements")
            if isinstance(elements, list):
                paragraphs.append(" ".join(_text_object(element) for element in elements))
    return "\n\n".join(p.strip() for p in paragraphs if p.strip())


def attachments_text(attachments: Any) -> str:
    """The text of legacy ``attachments``: ``fallback`` when given (Slack's own plain-text
    summary), else pretext, title and text."""
    if not isinstance(attachments, list):
        return ""
    paragraphs: list[str] = []
    for attachment in attachments:
        if not isinstance(attachment, dict):
            continue
        fallback = attachment.get("fallback")
        if isinstance(fallback, str) and fallback.strip():
            paragraphs.append(fallback)
            continue
        parts = [attachment.get(key) for key in ("pretext", "title", "text")]
        paragraphs.append("\n".join(p for p in parts if isinstance(p, str) and p.strip()))
    return "\n\n".join(p.strip() for p in paragraphs if p.strip())
