"""Text analysis shared by every insight feature (docs/insights.md, "Text").

One analyser for the similarity index, clustering, routing, duplicate detection and known-error
matching, so the same words count the same way everywhere: Unicode-folded lower case, words of
letters and digits (2+ characters), English and German stop words removed, and a light suffix
stemmer ("crashes", "crashing", "crashed" → "crash") that never needs model data.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_WORD_RE = re.compile(r"[a-z0-9]+(?:[.'_-][a-z0-9]+)*")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.'_-")


class _BlankOthers(dict[int, str]):
    """str.translate table: word characters stay, anything else becomes a space (filled lazily)."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        result = char if char in _WORD_CHARS else " "
        self[code] = result
        return result


_BLANK_OTHERS = _BlankOthers()


STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "cannot",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "don",
        "done",
        "for",
        "from",
        "get",
        "got",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "just",
        "me",
        "my",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "still",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "also",
        "any",
        "all",
        "again",
        "since",
        "today",
        "yesterday",
        "please",
        "hi",
        "hello",
        "thanks",
        "thank",
        "regards",
        "dear",
        "team",
        "best",
        "kind",
        "der",
        "die",
        "das",
        "und",
        "ist",
        "nicht",
        "ein",
        "eine",
        "einen",
        "einem",
        "einer",
        "mit",
        "von",
        "zu",
        "den",
        "dem",
        "des",
        "im",
        "in",
        "auf",
        "fur",
        "bitte",
        "ich",
        "wir",
        "sie",
        "es",
        "er",
        "hallo",
        "danke",
        "gruss",
        "gruesse",
        "grusse",
        "mfg",
        "oder",
        "aber",
        "auch",
        "noch",
        "schon",
        "bei",
        "wie",
    ]
)


def fold(text: str) -> str:
    """Lower case without accents: "Outlook stürzt ab" → "outlook sturzt ab", "ß" → "ss"."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("ß", "ss"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_SUFFIXES = (
    ("ies", "y"),
    ("sses", "ss"),
    ("ing", ""),
    ("edly", ""),
    ("ed", ""),
    ("es", ""),
    ("s", ""),
    ("e", ""),
)


def _strip_suffix(word: str) -> str:
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) + len(replacement) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            shorter = word[: len(word) - len(suffix)] + replacement
            # "notes" must not become "not" (try "note"), nor "ctrl-s" "ctrl-"
            if shorter[-1].isalnum() and shorter not in STOP_WORDS:
                return shorter
    return word


def stem(word: str) -> str:
    """A light, rule-based stem: plural, verb and final-e endings only, never below 3 letters.

    "crashes", "crashing", "crashed" → "crash"; "file", "files" → "fil". Rules apply until none
    does, so a stem is its own stem: text stored already analysed (the similarity index keeps
    ``" ".join(tokens(...))``) analyses to the same terms again.
    """
    if len(word) <= 3 or word.isdigit():
        return word
    while True:
        shorter = _strip_suffix(word)
        if shorter == word:
            return word
        word = shorter


class _WordCache(dict[str, str]):
    """Analysed form of each word seen ("" for a dropped word), filled on first use: the same few
    thousand words recur in every text, so analysing each once keeps tokens() cheap enough for
    reranking candidates on every keystroke."""

    limit = 50_000  # entries; a few MiB at most, then it starts again

    def __missing__(self, word: str) -> str:
        if word.endswith("n't"):  # "doesn't", "can't": negations, dropped like "not"
            result = ""
        else:
            base = word[:-2] if word.endswith("'s") else word.rstrip("'")
            result = "" if len(base) < 2 or base in STOP_WORDS else stem(base)
        if len(self) >= self.limit:
            self.clear()
        self[word] = result
        return result


_ANALYSED = _WordCache()


def analysed_word(word: str) -> str:
    """The term one folded word stands for ("" when it is dropped): what tokens() would keep."""
    return _ANALYSED[word]


class _PieceCache(dict[str, str]):
    """The analysed terms of one space-free piece of folded text, joined by spaces: "end." →
    "end", "it's" → "", "dict.leo.org," → "dict.leo.org". Texts are split on anything that
    cannot be in a word (str.translate), then each piece is looked up here, so tokens() runs at
    C speed and only a piece never seen before goes through the regular expression."""

    limit = 50_000  # entries; a few MiB at most, then it starts again

    def __missing__(self, piece: str) -> str:
        result = " ".join(
            term for term in map(_ANALYSED.__getitem__, _WORD_RE.findall(piece)) if term
        )
        if len(self) >= self.limit:
            self.clear()
        self[piece] = result
        return result


_PIECES = _PieceCache()


def tokens(text: str) -> list[str]:
    """The analysed terms of ``text`` in order (with repeats)."""
    pieces = fold(text).translate(_BLANK_OTHERS).split()
    found = list(filter(None, map(_PIECES.__getitem__, pieces)))
    # The cached strings themselves (hashes already known) unless a piece held several words.
    return " ".join(found).split() if " " in "".join(found) else found


def terms(text: str) -> frozenset[str]:
    """The distinct analysed terms of ``text``."""
    return frozenset(tokens(text))


def joined(parts: Iterable[str | None]) -> str:
    """Several fields as one text to analyse (empty ones skipped)."""
    return "\n".join(part for part in parts if part)
