"""The lexical ranker that orders similarity candidates (docs/insights.md, "Ranking").

The full-text index finds a few hundred candidates cheaply; this module orders them well. A
document is analysed (``hashdesk.insights.text.tokens``) into features:

- the words of the title (summary) and of the body, a title word counting ``TITLE_WEIGHT`` times;
- adjacent word pairs of the title and of the body's lead, so "tab strip" outranks a text with
  "tab" and "strip" far apart;
- the parts of compound tokens ("dict.leo.org" also gives "dict", "leo", "org") and the release
  line of versions ("2.53.7.1" also gives "2.53"), so "leo.org" meets "dict.leo.org" and reports
  on neighbouring point releases meet.

Two documents are compared with a symmetric BM25 form: every shared feature adds its inverse
document frequency times the saturated, length-normalised weight it has on *both* sides. Word
pairs and release lines take their rarity from their words: ``df`` is only asked about analysed
words, which is what a full-text index can answer. Two multiplicative priors follow: titles that
share rare words (the IDF-weighted overlap of the two titles, ``TITLE_MATCH``), and documents
written close in time (``TIME_BOOST``, decaying over ``TIME_SCALE_DAYS``): the same fault is
reported in waves, after the release or outage that caused it.

Corpus statistics come from outside: ``Ranker(doc_count=..., df=...)`` with document frequencies
from the search index, or ``Ranker.fit(docs)`` which counts them in the given documents.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, pairwise
from typing import NamedTuple

from hashdesk.insights.text import analysed_word, tokens

# Chosen on the GitBugs SeaMonkey duplicates (docs/insights.md) from the middle of a plateau
# of good values, not its peak, and round on purpose: a held-out project must not pay for a fit.
TITLE_WEIGHT = 2  # a title word counts as this many body words (a whole number)
BIGRAM_WEIGHT = 0.5  # a pair is worth this share of its words' mean IDF
VERSION_WEIGHT = 0.5  # a release line is worth this share of its IDF
K1 = 1.2  # BM25 term-frequency saturation, on both sides
B = 0.75  # BM25 length normalisation
TITLE_MATCH = 1.0  # score x (1 + TITLE_MATCH x IDF-weighted overlap of the two titles)
TIME_BOOST = 0.25  # score x (1 + TIME_BOOST x exp(-days apart / TIME_SCALE_DAYS))
TIME_SCALE_DAYS = 90.0
MAX_TOKENS = 400  # per field: beyond this a long log adds noise and time, not evidence
# Word pairs come from the title and the body's first words only: the lead states the problem,
# later a body is steps, logs and template text whose pairs add noise (and time), not evidence.
BODY_PAIRS = 20

_IDF_MEMO = 100_000
_PART_RE = re.compile(r"[.'_-]")
_RELEASE = "\x1e"  # marks a release-prefix feature; cannot occur inside an analysed word

# A feature is an analysed word (str), a word pair (tuple of two words) or a release prefix.
Feature = str | tuple[str, str]


@dataclass(frozen=True)
class Doc:
    """One text to compare: an incident, article, post, or a bug report in the evaluation."""

    key: Hashable
    title: str
    text: str
    created_at: datetime | None = None


class _Analysed(NamedTuple):
    weights: dict[Feature, int]  # feature -> frequency, a title occurrence counting TITLE_WEIGHT
    length: int  # words, title words counting TITLE_WEIGHT
    created_at: datetime | None
    title: frozenset[str]  # the title's analysed words


def _compound_features(words: list[str], weight: int, into: Counter[Feature]) -> None:
    # "dict.leo.org", "packed_simd_2", "2.53.7.1": the parts count as words too, a version also
    # as its release line ("2.53").
    for word in words:
        if word.isalnum():
            continue
        if word[0].isdigit() and "." in word:
            into[_RELEASE + ".".join(word.split(".")[:2])] += weight
        for part in _PART_RE.split(word):
            if not part.isdigit():
                analysed = analysed_word(part)
                if analysed:
                    into[analysed] += weight


# Recently analysed documents: as a person types, the same candidates come back on every
# keystroke, and the evaluation compares each report with all later ones. Bounded, never stale
# (the key is the document's whole content).
_RECENT: dict[Doc, _Analysed] = {}
_RECENT_MAX = 1024  # about 8 KiB each for a 100-word text: under 10 MiB per process


def _analyse(doc: Doc) -> _Analysed:
    analysed = _RECENT.get(doc)
    if analysed is None:
        analysed = _analyse_now(doc)
        if len(_RECENT) >= _RECENT_MAX:
            _RECENT.clear()
        _RECENT[doc] = analysed
    return analysed


def _analyse_now(doc: Doc) -> _Analysed:
    title = tokens(doc.title)[:MAX_TOKENS]
    body = tokens(doc.text)[:MAX_TOKENS]
    # One counting pass (C speed): a title word or pair is counted TITLE_WEIGHT times.
    title_features: list[Feature] = [*title, *pairwise(title)]
    weights: Counter[Feature] = Counter(
        chain(body, pairwise(body[:BODY_PAIRS]), title_features * TITLE_WEIGHT)
    )
    if _has_compound(body):
        _compound_features(body, 1, weights)
    if _has_compound(title):
        _compound_features(title, TITLE_WEIGHT, weights)
    return _Analysed(
        weights,
        TITLE_WEIGHT * len(title) + len(body),
        doc.created_at,
        frozenset(title),
    )


def _has_compound(words: list[str]) -> bool:
    joined = "".join(words)
    return "." in joined or "_" in joined or "-" in joined or "'" in joined


class Ranker:
    """Scores how similar two documents are, given the corpus' document frequencies."""

    def __init__(self, *, doc_count: int, df: Callable[[str], int], avg_len: float = 60.0) -> None:
        self.doc_count = max(int(doc_count), 1)
        self.avg_len = max(float(avg_len), 1.0)
        self._df = df
        self._idf: dict[str, float] = {}  # memo of word_idf; df may be a query to an index

    @classmethod
    def fit(cls, docs: Iterable[Doc]) -> Ranker:
        """Count document frequencies (of analysed words) and the average length in ``docs``."""
        counts: Counter[str] = Counter()
        total = 0.0
        n = 0
        for doc in docs:
            analysed = _analyse(doc)
            counts.update(
                f for f in analysed.weights if isinstance(f, str) and not f.startswith(_RELEASE)
            )
            total += analysed.length
            n += 1
        return cls(
            doc_count=n, df=lambda term: counts.get(term, 0), avg_len=total / n if n else 60.0
        )

    # -- statistics ---------------------------------------------------------------------------

    def word_idf(self, word: str) -> float:
        """Okapi IDF, never negative: rare words count most, unseen words like the rarest."""
        idf = self._idf.get(word)
        if idf is None:
            df = min(max(int(self._df(word)), 0), self.doc_count)
            idf = math.log(1.0 + (self.doc_count - df + 0.5) / (df + 0.5))
            if len(self._idf) >= _IDF_MEMO:
                self._idf.clear()
            self._idf[word] = idf
        return idf

    def feature_idf(self, feature: Feature) -> float:
        """A word's IDF; a pair or a release prefix takes its rarity from its words, scaled."""
        if isinstance(feature, tuple):
            return BIGRAM_WEIGHT * 0.5 * (self.word_idf(feature[0]) + self.word_idf(feature[1]))
        if feature.startswith(_RELEASE):
            return VERSION_WEIGHT * self.word_idf(feature[1:])
        return self.word_idf(feature)

    # -- scoring ------------------------------------------------------------------------------

    def _saturation(self, length: float) -> float:
        return K1 * (1.0 - B + B * length / self.avg_len)

    def _query_factors(self, query: _Analysed) -> dict[Feature, float]:
        """The query side of every term of the sum, computed once per query."""
        norm = self._saturation(query.length)
        scale = (K1 + 1.0) * (K1 + 1.0)
        return {
            feature: scale * self.feature_idf(feature) * weight / (weight + norm)
            for feature, weight in query.weights.items()
        }

    def _score(self, query: _Analysed, factors: dict[Feature, float], doc: _Analysed) -> float:
        norm = self._saturation(doc.length)
        weights = doc.weights
        total = 0.0
        for feature in factors.keys() & weights.keys():
            weight = weights[feature]
            total += factors[feature] * weight / (weight + norm)
        if not total:
            return 0.0
        if TITLE_MATCH and query.title and doc.title:
            shared = sum(self.word_idf(w) for w in query.title & doc.title)
            if shared:
                whole = sum(self.word_idf(w) for w in query.title | doc.title)
                total *= 1.0 + TITLE_MATCH * shared / whole
        if TIME_BOOST and query.created_at and doc.created_at:
            try:
                seconds = abs((query.created_at - doc.created_at).total_seconds())
            except TypeError:  # one naive, one aware: no prior rather than a guess
                return total
            total *= 1.0 + TIME_BOOST * math.exp(-seconds / 86400.0 / TIME_SCALE_DAYS)
        return total

    def score(self, query: Doc, doc: Doc) -> float:
        """Similarity of ``doc`` to ``query``: higher is more similar, 0 when nothing is shared."""
        analysed = _analyse(query)
        return self._score(analysed, self._query_factors(analysed), _analyse(doc))


def rerank(
    ranker: Ranker, query: Doc, candidates: Sequence[Doc], *, limit: int
) -> list[tuple[Doc, float]]:
    """The ``limit`` candidates most similar to ``query``, best first, with their scores.

    Candidates sharing nothing with the query are left out; ties keep the candidates' order.
    """
    if limit <= 0 or not candidates:
        return []
    analysed_query = _analyse(query)
    factors = ranker._query_factors(analysed_query)
    scored = []
    for position, candidate in enumerate(candidates):
        value = ranker._score(analysed_query, factors, _analyse(candidate))
        if value > 0.0:
            scored.append((-value, position, candidate))
    scored.sort(key=lambda item: (item[0], item[1]))
    return [(candidate, -negative) for negative, _position, candidate in scored[:limit]]
