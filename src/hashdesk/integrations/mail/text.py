"""The words a person wrote in a mail: HTML turned into text, quoted history and signatures cut.

Mail clients quote what they answer in a few recognisable ways; everything from the first such
marker down is history, not the reply:

- an attribution line: ``On Tue, 3 Mar 2026 at 10:02, Ana <ana@example.org> wrote:`` (Gmail,
  Apple Mail, Thunderbird; also split over two lines), ``Le ... a écrit :``, ``Am ... schrieb``;
- Outlook: ``-----Original Message-----``, or a ``From:`` line followed within a few lines by
  ``Sent:`` / ``Date:``, or an underscore rule before such a block;
- ``>`` quoted lines (a block of them at the end; quoted lines between the person's own
  paragraphs are dropped too).

A signature starts at the ``-- `` delimiter (RFC 3676) or at a common mobile footer ("Sent from
my iPhone", "Get Outlook for Android").
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

_ATTRIBUTION = re.compile(
    r"^\s*(on\b.{0,300}\bwrote:|le\b.{0,300}\ba écrit\s?:|am\b.{0,300}\bschrieb.{0,40}:"
    r"|el\b.{0,300}\bescribió:)\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(r"^\s*(on|le|am|el)\s.{0,200}$", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(r"(wrote|a écrit|schrieb|escribió)\s?:\s*$", re.IGNORECASE)
_ORIGINAL = re.compile(
    r"^\s*-{2,}\s*(original message|ursprüngliche nachricht|message d'origine)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FORWARD_RULE = re.compile(r"^\s*_{10,}\s*$")
_FROM_LINE = re.compile(r"^\s*\*?(from|von|de)\s*:\*?\s", re.IGNORECASE)
_SENT_LINE = re.compile(r"^\s*\*?(sent|date|gesendet|envoyé)\s*:\*?\s", re.IGNORECASE)
_MOBILE_FOOTER = re.compile(
    r"^\s*(sent from my \w+|sent from (outlook|yahoo mail|mail) for \w+|get outlook for \w+"
    r"|sent from mail for windows|envoyé de mon \w+|von meinem \w+ gesendet)\b.{0,60}$",
    re.IGNORECASE,
)
_SIGNATURE = "-- "


def _history_starts(lines: list[str]) -> int:
    """The index of the first line of quoted history (``len(lines)`` when there is none)."""
    for index, line in enumerate(lines):
        if _ATTRIBUTION.match(line) or _ORIGINAL.match(line):
            return index
        if (
            _ATTRIBUTION_START.match(line)
            and index + 1 < len(lines)
            and _ATTRIBUTION_END.search(lines[index + 1])
            and not _ATTRIBUTION_END.search(line)
        ):
            return index
        if _FROM_LINE.match(line) and any(
            _SENT_LINE.match(n) for n in lines[index + 1 : index + 5]
        ):
            start = index
            if index > 0 and _FORWARD_RULE.match(lines[index - 1]):
                start = index - 1
            return start
    return len(lines)


def strip_reply(text: str) -> str:
    """What the person wrote: ``text`` without quoted history, quoted lines or a signature."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = lines[: _history_starts(lines)]
    kept: list[str] = []
    for line in lines:
        if line == _SIGNATURE or line.rstrip() == "--" or _MOBILE_FOOTER.match(line):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    result = "\n".join(kept).strip()
    return re.sub(r"\n{3,}", "\n\n", result)


class _TextOf(HTMLParser):
    """Text of an HTML mail: blocks become lines, links keep their address, scripts vanish."""

    _BLOCKS = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
         "table", "ul", "ol", "hr"}
    )  # fmt: skip
    _HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.quote_depth = 0
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self.hidden += 1
        elif tag == "blockquote":
            self.quote_depth += 1
        if tag in self._BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")
        if tag == "a":
            self.href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag == "blockquote":
            self.quote_depth = max(0, self.quote_depth - 1)
        if tag in self._BLOCKS:
            self.parts.append("\n")
        if tag == "a" and self.href and self.href.startswith(("http://", "https://")):
            self.parts.append(f" ({self.href})")
            self.href = None

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        text = re.sub(r"\s+", " ", data)
        if self.quote_depth:
            # Quoted history inside <blockquote>: marked like plain-text quotes.
            text = "> " + text
        self.parts.append(text)


def html_to_text(html: str) -> str:
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
