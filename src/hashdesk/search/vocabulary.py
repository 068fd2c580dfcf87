"""Typo tolerance: the index's vocabulary in memory, and the words within edit distance 1-2 of
a query word the index has never seen (docs/search.md).

The vocabulary (term → number of items having it) is read once per process and again after
``REFRESH_SECONDS``: on SQLite from the FTS5 vocabulary table (``insights_indexeditem_vocab``),
on PostgreSQL from the analysed text of the newest ``PG_SAMPLE`` items (it has no cheap
per-term table; words only older items have are corrected to less often). Words are looked up
by generating every single edit of the query word (a few hundred dictionary lookups); only when
none exists are words of about the same length and the same first letter compared with a
bounded edit distance (distance 2).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db import connection

REFRESH_SECONDS = 600.0
PG_SAMPLE = 50_000
# Words shorter than this are never corrected (too many neighbours); distance 2 needs longer.
MIN_LENGTH = 3
MIN_LENGTH_TWO = 5
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Optimal string alignment distance (insert, delete, replace, swap two neighbours) between
    ``a`` and ``b``; any value above ``limit`` is returned as ``limit + 1``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    if a == b:
        return 0
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        best = current[0]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            best = min(best, value)
        if best > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[len(b)], limit + 1)


def single_edits(word: str) -> set[str]:
    """Every string one edit away from ``word``."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {left + right[1:] for left, right in splits if right}
    out |= {left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1}
    out |= {left + c + right[1:] for left, right in splits if right for c in ALPHABET}
    out |= {left + c + right for left, right in splits for c in ALPHABET}
    out.discard(word)
    return out


@dataclass
class Vocabulary:
    counts: dict[str, int]
    buckets: dict[tuple[str, int], list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        grouped: defaultdict[tuple[str, int], list[str]] = defaultdict(list)
        for term in self.counts:
            if term:
                grouped[(term[0], len(term))].append(term)
        self.buckets = dict(grouped)

    def corrections(self, word: str, limit: int = 2) -> list[str]:
        """The known words closest to ``word`` (distance 1, else 2), commonest first."""
        if len(word) < MIN_LENGTH or word.isdigit() or word in self.counts:
            return []
        near = [term for term in single_edits(word) if term in self.counts]
        if not near and len(word) >= MIN_LENGTH_TWO:
            letters = set(word)
            for size in range(len(word) - 2, len(word) + 3):
                for term in self.buckets.get((word[0], size), ()):
                    # Each edit changes the set of letters by at most two: a cheap bound.
                    if len(letters.symmetric_difference(term)) > 4:
                        continue
                    if edit_distance(word, term) <= 2:
                        near.append(term)
        near.sort(key=lambda term: (-self.counts[term], term))
        return near[:limit]


_lock = threading.Lock()
_loaded: dict[str, tuple[float, Vocabulary]] = {}


def _read() -> dict[str, int]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT term, doc FROM insights_indexeditem_vocab WHERE col = 'text'")
            return {term: int(doc) for term, doc in cursor.fetchall()}
        cursor.execute(
            "SELECT text FROM insights_indexeditem ORDER BY id DESC LIMIT %s", [PG_SAMPLE]
        )
        counts: Counter[str] = Counter()
        for (text,) in cursor.fetchall():
            counts.update(set(text.split()))
        return dict(counts)


def vocabulary() -> Vocabulary:
    """This process's copy of the index vocabulary (read again after ``REFRESH_SECONDS``)."""
    key = connection.alias
    now = time.monotonic()
    with _lock:
        hit = _loaded.get(key)
    if hit is not None and now - hit[0] < REFRESH_SECONDS:
        return hit[1]
    loaded = Vocabulary(_read())
    with _lock:
        _loaded[key] = (now, loaded)
    return loaded


def forget() -> None:
    """Drop the cached vocabulary (tests; after a rebuild)."""
    with _lock:
        _loaded.clear()
