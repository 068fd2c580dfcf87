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
    """Lower case without accents: "Outlook stürzt ab" → "outlook sturzt ab"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def stem(word: str) -> str:
    """A light, rule-based stem: plural and verb endings only, never below 3 letters."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, replacement in (
        ("ies", "y"),
        ("sses", "ss"),
        ("ing", ""),
        ("edly", ""),
        ("ed", ""),
        ("es", ""),
        ("s", ""),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) + len(replacement) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            return word[: len(word) - len(suffix)] + replacement
    return word


def tokens(text: str) -> list[str]:
    """The analysed terms of ``text`` in order (with repeats)."""
    out = []
    for word in _WORD_RE.findall(fold(text)):
        if len(word) < 2 or word in STOP_WORDS:
            continue
        out.append(stem(word))
    return out


def terms(text: str) -> frozenset[str]:
    """The distinct analysed terms of ``text``."""
    return frozenset(tokens(text))


def joined(parts: Iterable[str | None]) -> str:
    """Several fields as one text to analyse (empty ones skipped)."""
    return "\n".join(part for part in parts if part)
