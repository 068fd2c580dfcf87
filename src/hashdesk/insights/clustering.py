"""Recurring-pattern clustering: reports → groups that may share one cause (docs/insights.md,
"Problem candidates").

Pure computation on :class:`Report` tuples (no database), so it is benchmarked and tested on
its own; ``insights.candidates`` feeds it and turns clusters into ``ProblemCandidate`` rows.

Method:

1. Reports are partitioned by service: a pattern lives on one service (reports on no service,
   the wall's free topics, are left out).
2. Each partition's texts are analysed with the shared analyser (``insights.text.tokens``) and
   weighted by TF-IDF (scikit-learn, sparse, L2-normalised); the configuration item is added
   as one more term, so two reports about the same CI are closer. (An incident's title is
   given twice by the caller: people summarise there, descriptions wander.)
3. Cosine similarities are computed as sparse products in row chunks, and only pairs at or
   above ``threshold`` are kept; a pair further apart in time than ``horizon_days`` is
   discounted linearly (by up to ``time_discount``), so old and new reports link less easily.
4. The kept pairs form a graph whose connected components are the clusters. To stop a chain
   of loosely related reports from growing one giant component, a component is kept only if
   its members are on average close to its centroid (``min_cohesion``); otherwise it is split
   again with a higher threshold.
5. Reports that no pair linked but that are close to a cluster's centroid (``attach``) join
   the closest cluster: pairs of differently worded reports can be far apart while each is
   near what the group says as a whole.
6. A cluster is a *candidate* only if it has at least ``min_size`` reports from at least
   ``min_people`` distinct people.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    # scipy and scikit-learn are imported where used: every process loads this module at
    # start-up (the periodic task's registration) and only the worker clusters.
    from scipy import sparse

from hashdesk.insights.text import analysed_word, fold, tokens

_SURFACE_RE = re.compile(r"[a-z0-9]+(?:[.'_-][a-z0-9]+)*")

CHUNK_ROWS = 2_000
SURFACE_SAMPLE = 50
MIN_TOKENS = 2


@dataclass(frozen=True)
class Report:
    kind: str  # insights.choices.ItemKind value: incident, post, chat
    id: int
    service_id: int | None
    configuration_item_id: int | None
    person_id: int | None
    created_at: datetime
    text: str
    # Confidential reports count, but their words never name a candidate.
    confidential: bool = False


@dataclass(frozen=True)
class Settings:
    threshold: float = 0.4
    min_size: int = 5
    min_people: int = 3
    min_cohesion: float = 0.6
    # A report left out joins a cluster whose centroid it is at least this close to.
    attach: float = 0.55
    horizon_days: float = 42.0
    time_discount: float = 0.15
    top_terms: int = 5
    representatives: int = 3


@dataclass
class Cluster:
    service_id: int | None
    members: list[Report]
    # Leading analysed terms (stems: "crash", "attachment"), as the signature needs them.
    top_terms: list[str]
    # The same terms as people wrote them most often ("crashes"), for titles and pages.
    labels: list[str] = field(default_factory=list)
    # The members closest to the centroid, best first.
    representatives: list[Report] = field(default_factory=list)
    cohesion: float = 0.0

    @property
    def people(self) -> set[int]:
        return {r.person_id for r in self.members if r.person_id is not None}


def _identity(document: list[str]) -> list[str]:
    return document


def _analyse(reports: Sequence[Report], cache: dict[str, list[str]]) -> list[list[str]]:
    docs = []
    for report in reports:
        words = cache.get(report.text)
        if words is None:
            words = tokens(report.text)
            cache[report.text] = words
        if report.configuration_item_id is not None and words:
            words = [*words, f"ci:{report.configuration_item_id}"]
        docs.append(words)
    return docs


def _pairs(
    matrix: sparse.csr_matrix, days: np.ndarray, settings: Settings
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column and similarity of each pair at or above the threshold (upper triangle)."""
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    sims: list[np.ndarray] = []
    transposed = matrix.T.tocsc()
    n = matrix.shape[0]
    for start in range(0, n, CHUNK_ROWS):
        block = (matrix[start : start + CHUNK_ROWS] @ transposed).tocoo()
        r = block.row + start
        keep = (block.col > r) & (block.data >= settings.threshold)
        r, c, s = r[keep], block.col[keep], block.data[keep]
        if settings.time_discount:
            gap = np.minimum(np.abs(days[r] - days[c]) / settings.horizon_days, 1.0)
            s = s * (1.0 - settings.time_discount * gap)
            keep = s >= settings.threshold
            r, c, s = r[keep], c[keep], s[keep]
        rows.append(r)
        cols.append(c)
        sims.append(s)
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(sims)


def _components(
    n: int, rows: np.ndarray, cols: np.ndarray, sims: np.ndarray, threshold: float
) -> list[np.ndarray]:
    from scipy import sparse
    from scipy.sparse.csgraph import connected_components

    keep = sims >= threshold
    graph = sparse.coo_matrix(
        (np.ones(int(keep.sum()), dtype=np.int8), (rows[keep], cols[keep])), shape=(n, n)
    )
    _count, labels = connected_components(graph, directed=False)
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    return [group for group in np.split(order, bounds) if len(group) > 1]


def _cohesion(matrix: sparse.csr_matrix, members: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cosine of the members to their centroid, and each member's cosine."""
    sub = matrix[members]
    centroid = np.asarray(sub.mean(axis=0)).ravel()
    norm = np.linalg.norm(centroid)
    if not norm:
        return 0.0, np.zeros(len(members))
    each = np.asarray(sub @ (centroid / norm)).ravel()
    return float(each.mean()), each


def _split(
    matrix: sparse.csr_matrix,
    rows: np.ndarray,
    cols: np.ndarray,
    sims: np.ndarray,
    settings: Settings,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Components that are cohesive enough; a loose one is split at a higher threshold."""
    n = matrix.shape[0]
    out: list[tuple[np.ndarray, np.ndarray]] = []
    pending = [(group, settings.threshold) for group in _components(n, rows, cols, sims, 0.0)]
    while pending:
        group, level = pending.pop()
        if len(group) < settings.min_size:
            continue
        cohesion, each = _cohesion(matrix, group)
        if cohesion >= settings.min_cohesion or level >= 0.95:
            out.append((group, each))
            continue
        # Re-cut only this component's own edges, at a higher level.
        inside = np.zeros(n, dtype=bool)
        inside[group] = True
        mask = inside[rows] & inside[cols]
        higher = level + 0.1
        for sub in _components(n, rows[mask], cols[mask], sims[mask], higher):
            pending.append((sub, higher))
    return out


def _surface(terms: list[str], texts: Sequence[str]) -> list[str]:
    """Each stem as the word people used most for it ("morn" → "morning")."""
    wanted = set(terms)
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    for text in texts:
        for word in _SURFACE_RE.findall(fold(text)):
            root = analysed_word(word)
            if root in wanted:
                seen[root][word] += 1
    return [seen[t].most_common(1)[0][0] if seen.get(t) else t for t in terms]


def _attach(
    matrix: sparse.csr_matrix, groups: list[tuple[np.ndarray, np.ndarray]], settings: Settings
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Reports left out that are close to a cluster's centroid join the closest cluster."""
    if not groups or not settings.attach:
        return groups
    centroids = []
    for members, _each in groups:
        centroid = np.asarray(matrix[members].mean(axis=0)).ravel()
        centroids.append(centroid / (np.linalg.norm(centroid) or 1.0))
    scores = np.asarray(matrix @ np.vstack(centroids).T)
    taken = np.zeros(matrix.shape[0], dtype=bool)
    for members, _each in groups:
        taken[members] = True
    best = scores.argmax(axis=1)
    joins = np.flatnonzero(~taken & (scores.max(axis=1) >= settings.attach))
    out = []
    for index, (members, _each) in enumerate(groups):
        extra = joins[best[joins] == index]
        merged = np.concatenate([members, extra]) if len(extra) else members
        out.append((merged, scores[merged, index]))
    return out


def find_clusters(reports: Sequence[Report], settings: Settings | None = None) -> list[Cluster]:
    """The recurring patterns among ``reports``, largest first."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    config = settings or Settings()
    by_service: dict[int | None, list[Report]] = defaultdict(list)
    for report in reports:
        if report.service_id is not None:
            by_service[report.service_id].append(report)
    cache: dict[str, list[str]] = {}
    partitions: list[tuple[int | None, list[Report], list[list[str]]]] = []
    for service_id, group in by_service.items():
        if len(group) < config.min_size:
            continue
        docs = _analyse(group, cache)
        usable = [i for i, doc in enumerate(docs) if len(doc) >= MIN_TOKENS]
        if len(usable) < config.min_size:
            continue
        partitions.append((service_id, [group[i] for i in usable], [docs[i] for i in usable]))
    if not partitions:
        return []
    # Term weights come from every service's reports together: a word said about everything
    # ("slow", "really", "morning") tells no fault from another, even where it is frequent.
    vectoriser = TfidfVectorizer(analyzer=_identity, norm="l2", dtype=np.float32)
    vectoriser.fit([doc for _service, _group, docs in partitions for doc in docs])
    vocabulary = vectoriser.get_feature_names_out()
    clusters: list[Cluster] = []
    for service_id, group, docs in partitions:
        matrix = vectoriser.transform(docs).tocsr()
        days = np.array([r.created_at.timestamp() / 86_400.0 for r in group], dtype=np.float64)
        rows, cols, sims = _pairs(matrix, days, config)
        groups = _attach(matrix, _split(matrix, rows, cols, sims, config), config)
        for members, each in groups:
            chosen = [group[i] for i in members]
            people = {r.person_id for r in chosen if r.person_id is not None}
            if len(people) < config.min_people:
                continue
            # Words only from reports that are not confidential; never the CI pseudo-term.
            open_rows = [i for i in members if not group[i].confidential]
            terms: list[str] = []
            if open_rows:
                weights = np.asarray(matrix[open_rows].sum(axis=0)).ravel()
                for index in np.argsort(-weights):
                    if weights[index] <= 0 or len(terms) >= config.top_terms:
                        break
                    term = str(vocabulary[index])
                    if not term.startswith("ci:"):
                        terms.append(term)
            labels = _surface(terms, [group[i].text for i in open_rows[:SURFACE_SAMPLE]])
            best = np.argsort(-each)[: config.representatives]
            clusters.append(
                Cluster(
                    service_id=service_id,
                    members=sorted(chosen, key=lambda r: (r.created_at, r.kind, r.id)),
                    top_terms=terms,
                    labels=labels,
                    representatives=[chosen[i] for i in best],
                    cohesion=round(float(each.mean()), 4),
                )
            )
    clusters.sort(key=lambda c: (-len(c.members), c.service_id or 0, c.top_terms))
    return clusters
