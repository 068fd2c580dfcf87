"""Routing suggestions: the assignment group and category a new incident probably belongs to,
learned from history (docs/insights.md, "Routing").

Two halves:

- ``RoutingClassifier`` is the model itself, on plain arrays of texts, labels and tags (no
  Django): hashed word uni/bigrams of the shared analyser (``insights.text``) and hashed
  character n-grams (``char_wb`` 2-5) of the folded text, plus a few tags ("service:12"),
  each block TF-IDF weighted (sublinear tf) and L2-normalised, fed to a linear SVM (one vs.
  rest). Confidence is the softmax of the SVM scores with a temperature fitted on held-out
  examples. ``hashdesk eval routing`` measures exactly this class.
- The product part (``train``, ``suggest``) learns from resolved and closed incidents, stores
  the model in ``insights.RoutingModel.payload`` as a numpy ``.npz`` (``allow_pickle=False``:
  arrays and one JSON string, nothing executable) and keeps the loaded model per process,
  keyed by the row's id.

Hashing needs no vocabulary: the payload keeps only the hashed columns that occurred in
training (their idf and the weights), so no training text is stored in it.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import random
import threading
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.svm import LinearSVC

from hashdesk.core.logging import get_logger
from hashdesk.insights.text import fold, tokens

log = get_logger(__name__)

FORMAT = "hashdesk-routing-1"
# Hashed feature spaces of the three blocks: words, characters, tags.
WORD_FEATURES = 2**20
CHAR_FEATURES = 2**20
TAG_FEATURES = 2**16
# Each block's share of the final vector (before the last L2 normalisation).
BLOCK_WEIGHTS = (1.0, 1.0, 0.5)
# The SVM's regularisation (tuned on the development split of the ticket data).
SVM_C = 2.0
# A hashed column must occur in this many training texts to be kept (once there are enough).
MIN_DF = 2
MIN_DF_FROM = 500
# Longer texts are cut: routing is decided by the first words, and suggest stays fast.
MAX_CHARS = 4000
# The share of examples held out to measure the model and fit its temperature.
HOLDOUT = 0.2
SEED = 7
_TEMPERATURES = np.geomspace(0.5, 200.0, 60)


def _word_analyser(text: str) -> list[str]:
    words = tokens(text)
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


def _tag_analyser(tags: str) -> list[str]:
    return [tag for tag in tags.split("\x1f") if tag]


_WORDS = HashingVectorizer(
    analyzer=_word_analyser, n_features=WORD_FEATURES, alternate_sign=False, norm=None
)
_CHARS = HashingVectorizer(
    analyzer="char_wb",
    ngram_range=(2, 5),
    n_features=CHAR_FEATURES,
    alternate_sign=False,
    norm=None,
    lowercase=False,
)
_TAGS = HashingVectorizer(
    analyzer=_tag_analyser, n_features=TAG_FEATURES, alternate_sign=False, norm=None
)
_OFFSETS = (0, WORD_FEATURES, WORD_FEATURES + CHAR_FEATURES)
TOTAL_FEATURES = WORD_FEATURES + CHAR_FEATURES + TAG_FEATURES


def _hashed(texts: Sequence[str], tags: Sequence[Sequence[str]] | None) -> sp.csr_matrix:
    """Raw term counts of every block side by side, in the full hashed space."""
    cut = [text[:MAX_CHARS] for text in texts]
    tag_texts = ["\x1f".join(t) for t in tags] if tags is not None else [""] * len(cut)
    blocks = [
        _WORDS.transform(cut),
        _CHARS.transform([fold(text) for text in cut]),
        _TAGS.transform(tag_texts),
    ]
    return sp.hstack(blocks, format="csr", dtype=np.float64)


def _select(matrix: sp.csr_matrix, columns: np.ndarray) -> sp.csr_matrix:
    """Keep only ``columns`` (sorted), renumbered 0..len-1; unknown columns are dropped."""
    if not len(columns):
        return sp.csr_matrix((matrix.shape[0], 0))
    position = np.searchsorted(columns, matrix.indices)
    position[position >= len(columns)] = 0
    keep = columns[position] == matrix.indices
    kept_before = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
    indptr = kept_before[matrix.indptr]
    return sp.csr_matrix(
        (matrix.data[keep], position[keep], indptr), shape=(matrix.shape[0], len(columns))
    )


def _block_of(columns: np.ndarray) -> np.ndarray:
    return np.searchsorted(np.array(_OFFSETS[1:]), columns, side="right")


def _weigh(counts: sp.csr_matrix, idf: np.ndarray, blocks: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf * idf, each block L2-normalised and weighted, then the whole row."""
    matrix = counts.copy()
    matrix.data = (1.0 + np.log(matrix.data)) * idf[matrix.indices]
    row_of = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    block_of = blocks[matrix.indices]
    squares = np.zeros((matrix.shape[0], len(BLOCK_WEIGHTS)))
    np.add.at(squares, (row_of, block_of), matrix.data**2)
    norms = np.sqrt(squares)
    norms[norms == 0] = 1.0
    weights = np.array(BLOCK_WEIGHTS)
    matrix.data *= weights[block_of] / norms[row_of, block_of]
    totals = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    totals[totals == 0] = 1.0
    matrix.data /= totals[row_of]
    return matrix


def _softmax(scores: np.ndarray, temperature: float) -> np.ndarray:
    z = scores * temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def split_indices(
    labels: Sequence[str], *, share: float = HOLDOUT, seed: int = SEED
) -> tuple[list[int], list[int]]:
    """A stratified split where possible: per label, ``share`` of its examples (rounded, none
    for a label seen once) go to the second part, chosen by a seeded shuffle."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    rng = random.Random(seed)
    first: list[int] = []
    second: list[int] = []
    for label in sorted(by_label):
        indices = by_label[label][:]
        rng.shuffle(indices)
        held = math.floor(len(indices) * share + 0.5) if len(indices) >= 2 else 0
        second.extend(indices[:held])
        first.extend(indices[held:])
    return sorted(first), sorted(second)


def person_tag(person: object) -> str:
    """The tag of the person who reported (the product's reporter, the data's caller)."""
    return f"person:{person}" if person not in (None, "") else ""


def service_tag(service: object) -> str:
    return f"service:{service}" if service not in (None, "") else ""


@dataclass(frozen=True)
class Suggestion:
    label: str
    confidence: float


class RoutingClassifier:
    """The routing model on arrays: ``fit`` then ``predict`` / ``rank``; ``to_bytes`` and
    ``from_bytes`` store it as a pickle-free ``.npz``."""

    def __init__(self, *, c: float = SVM_C) -> None:
        self.c = c
        self.classes: np.ndarray = np.array([], dtype=str)
        self.columns: np.ndarray = np.array([], dtype=np.int64)
        self.idf: np.ndarray = np.array([], dtype=np.float64)
        self.coef: np.ndarray = np.zeros((0, 0), dtype=np.float32)
        self.intercept: np.ndarray = np.array([], dtype=np.float32)
        self.temperature = 1.0
        # Accuracy and macro-F1 on the held-out part, when ``fit`` calibrated.
        self.holdout: dict[str, float] = {}
        self._blocks: np.ndarray = np.array([], dtype=np.int64)
        self._weights: np.ndarray | None = None

    # --- Learning ---------------------------------------------------------------------------

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        tags: Sequence[Sequence[str]] | None = None,
        *,
        calibrate: bool = True,
    ) -> RoutingClassifier:
        """Learn from ``texts`` (with their ``tags``) labelled ``labels``; needs 2+ labels.

        ``calibrate`` first fits on a stratified part and chooses the softmax temperature that
        best predicts the held-out rest, then refits on everything.
        """
        if len(set(labels)) < 2:
            raise ValueError("Routing needs examples of at least two labels.")
        counts = _hashed(texts, tags)
        if calibrate:
            fitted, held = split_indices(labels)
            if held and len(set(labels[i] for i in fitted)) >= 2:
                self._fit_counts(counts[fitted], [labels[i] for i in fitted])
                scores = self._scores(_select(counts[held], self.columns))
                truth = [labels[i] for i in held]
                self.temperature = _best_temperature(scores, self.classes, truth)
                predicted = [str(self.classes[i]) for i in scores.argmax(axis=1)]
                self.holdout = {**macro_scores(truth, predicted), "examples": float(len(held))}
        self._fit_counts(counts, list(labels))
        return self

    def _fit_counts(self, counts: sp.csr_matrix, labels: list[str]) -> None:
        present = (counts > 0).astype(np.int32)
        frequency = np.bincount(present.indices, minlength=counts.shape[1])
        min_df = MIN_DF if counts.shape[0] >= MIN_DF_FROM else 1
        self.columns = np.flatnonzero(frequency >= min_df).astype(np.int64)
        n = counts.shape[0]
        self.idf = np.log((1.0 + n) / (1.0 + frequency[self.columns])) + 1.0
        self._blocks = _block_of(self.columns)
        features = _weigh(_select(counts, self.columns), self.idf, self._blocks)
        svm = LinearSVC(C=self.c, random_state=SEED).fit(features, labels)
        classes = np.array([str(c) for c in svm.classes_])
        coef = svm.coef_.astype(np.float32)
        intercept = np.asarray(svm.intercept_, dtype=np.float32)
        if len(classes) == 2:
            # A binary SVM has one score (for the second class): mirror it for the first.
            coef = np.vstack([-coef[0], coef[0]])
            intercept = np.array([-intercept[0], intercept[0]], dtype=np.float32)
        self.classes, self.intercept = classes, intercept
        self._use_coef(coef)

    def _use_coef(self, coef: np.ndarray) -> None:
        # Kept once, as columns by classes (contiguous: a sparse row times it reads only its
        # columns); ``coef`` (classes by columns) is a view of it.
        self._weights = np.ascontiguousarray(coef.T, dtype=np.float32)
        self.coef = self._weights.T

    # --- Scoring ----------------------------------------------------------------------------

    def _scores(self, selected: sp.csr_matrix) -> np.ndarray:
        features = _weigh(selected, self.idf, self._blocks)
        if self._weights is None:
            self._use_coef(self.coef)
        assert self._weights is not None
        # Same dtype on both sides, or scipy converts (copies) the whole weight matrix.
        return np.asarray(features.astype(np.float32) @ self._weights) + self.intercept

    def probabilities(
        self, texts: Sequence[str], tags: Sequence[Sequence[str]] | None = None
    ) -> np.ndarray:
        """One row per text: the confidence of each of ``classes``."""
        scores = self._scores(_select(_hashed(texts, tags), self.columns))
        return _softmax(scores, self.temperature)

    def predict(
        self, texts: Sequence[str], tags: Sequence[Sequence[str]] | None = None
    ) -> list[str]:
        scores = self._scores(_select(_hashed(texts, tags), self.columns))
        return [str(self.classes[i]) for i in scores.argmax(axis=1)]

    def rank(self, text: str, tags: Sequence[str] = (), *, limit: int = 3) -> list[Suggestion]:
        """The most likely labels of one text, best first."""
        row = self.probabilities([text], [list(tags)])[0]
        order = np.argsort(-row)[:limit]
        return [Suggestion(str(self.classes[i]), float(row[i])) for i in order]

    # --- Storing (no pickle) ----------------------------------------------------------------

    def to_bytes(self) -> bytes:
        meta = {
            "format": FORMAT,
            "temperature": self.temperature,
            "c": self.c,
            "word_features": WORD_FEATURES,
            "char_features": CHAR_FEATURES,
            "tag_features": TAG_FEATURES,
            "block_weights": list(BLOCK_WEIGHTS),
        }
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            meta=np.array(json.dumps(meta)),
            classes=np.array([str(c) for c in self.classes], dtype=str),
            columns=self.columns.astype(np.int64),
            idf=self.idf.astype(np.float64),
            coef=self.coef.astype(np.float32),
            intercept=self.intercept.astype(np.float32),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, payload: bytes) -> RoutingClassifier:
        """The model ``to_bytes`` stored; ``ValueError`` for anything else (never unpickles)."""
        try:
            return cls._read(payload)
        except ValueError:
            raise
        except (KeyError, OSError, TypeError, zipfile.BadZipFile) as exc:
            raise ValueError(f"An unreadable routing model: {exc}") from exc

    @classmethod
    def _read(cls, payload: bytes) -> RoutingClassifier:
        with np.load(io.BytesIO(bytes(payload)), allow_pickle=False) as arrays:
            meta = json.loads(str(arrays["meta"]))
            sizes = (meta.get("word_features"), meta.get("char_features"), meta.get("tag_features"))
            if meta.get("format") != FORMAT or sizes != (
                WORD_FEATURES,
                CHAR_FEATURES,
                TAG_FEATURES,
            ):
                raise ValueError("A routing model of another format.")
            model = cls(c=float(meta["c"]))
            model.temperature = float(meta["temperature"])
            model.classes = arrays["classes"].astype(str)
            model.columns = arrays["columns"].astype(np.int64)
            model.idf = arrays["idf"].astype(np.float64)
            model._use_coef(arrays["coef"])
            model.intercept = arrays["intercept"].astype(np.float32)
        model._blocks = _block_of(model.columns)
        return model


def _best_temperature(scores: np.ndarray, classes: np.ndarray, truth: list[str]) -> float:
    """The softmax temperature with the lowest held-out log loss (labels unseen in the fitted
    part are skipped: no temperature can predict them)."""
    index = {str(c): i for i, c in enumerate(classes)}
    rows = [i for i, label in enumerate(truth) if label in index]
    if not rows:
        return 1.0
    targets = np.array([index[truth[i]] for i in rows])
    picked = scores[rows]
    best, best_loss = 1.0, math.inf
    for temperature in _TEMPERATURES:
        p = _softmax(picked, float(temperature))[np.arange(len(rows)), targets]
        loss = float(-np.log(np.clip(p, 1e-12, 1.0)).mean())
        if loss < best_loss:
            best, best_loss = float(temperature), loss
    return best


def macro_scores(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """Accuracy and macro-F1 (over every label that is true or predicted at least once)."""
    from sklearn.metrics import accuracy_score, f1_score

    if not truth:
        return {"accuracy": 0.0, "macro_f1": 0.0}
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
    }


# --- The product: learning from incidents, suggesting for new ones ---------------------------

TARGETS = ("assignment_group", "category")
# Learn from at most this many of the latest resolved and closed incidents.
MAX_EXAMPLES = 20_000
# Fewer examples than this (or a single label) and there is no model.
MIN_EXAMPLES = 10
# Never suggest below this confidence.
CONFIDENCE_FLOOR = 0.3
# How many groups a suggestion offers at most.
SUGGESTED_GROUPS = 3
# Earlier models kept (inactive) per target, besides the active one.
KEEP_OLD_MODELS = 1

_cache: dict[str, tuple[int, RoutingClassifier]] = {}
_cache_lock = threading.Lock()


def incident_tags(service_id: int | None, reporter_id: int | None) -> list[str]:
    """The tags of an incident, as the model learns and reads them."""
    return [tag for tag in (service_tag(service_id), person_tag(reporter_id)) if tag]


def train(target: str = "assignment_group") -> Any:
    """Learn ``target`` from resolved and closed incidents and make it the active model.

    Returns the new ``RoutingModel``, or ``None`` when there is too little history.
    """
    from django.db import transaction

    from hashdesk.incidents.choices import State
    from hashdesk.incidents.models import Incident
    from hashdesk.insights.models import RoutingModel

    if target not in TARGETS:
        raise ValueError(f"Unknown routing target {target!r}.")
    history = Incident.objects.filter(
        state__in=[State.RESOLVED, State.CLOSED], merged_into__isnull=True
    )
    if target == "assignment_group":
        history = history.filter(assignment_group__isnull=False)
    rows = list(
        history.order_by("-id").values_list(
            "title", "description", "service_id", "reporter_id", f"{target}"
        )[:MAX_EXAMPLES]
    )
    labels = [str(row[4]) for row in rows]
    if len(rows) < MIN_EXAMPLES or len(set(labels)) < 2:
        return None
    texts = [f"{title}\n{description}" for title, description, *_ in rows]
    tags = [incident_tags(row[2], row[3]) for row in rows]
    model = RoutingClassifier().fit(texts, labels, tags)
    metrics: dict[str, Any] = {
        **{k: round(v, 4) for k, v in model.holdout.items() if k != "examples"},
        "held_out": int(model.holdout.get("examples", 0)),
        "labels": len(model.classes),
        "features": len(model.columns),
        "temperature": round(model.temperature, 4),
        "c": model.c,
    }
    with transaction.atomic():
        RoutingModel.objects.filter(target=target, is_active=True).update(is_active=False)
        row = RoutingModel.objects.create(
            target=target,
            examples=len(rows),
            metrics=metrics,
            payload=model.to_bytes(),
            is_active=True,
        )
        old = list(
            RoutingModel.objects.filter(target=target, is_active=False)
            .order_by("-trained_at", "-id")
            .values_list("id", flat=True)[KEEP_OLD_MODELS:]
        )
        if old:
            RoutingModel.objects.filter(id__in=old).delete()
    with _cache_lock:
        _cache[target] = (row.pk, model)
    return row


def active_model(target: str) -> tuple[Any, RoutingClassifier] | None:
    """The active model of ``target`` (one small query; the payload is read once per process
    and model)."""
    from hashdesk.insights.models import RoutingModel

    row = (
        RoutingModel.objects.filter(target=target, is_active=True)
        .order_by("-trained_at", "-id")
        .defer("payload")
        .first()
    )
    if row is None:
        return None
    with _cache_lock:
        cached = _cache.get(target)
    if cached is not None and cached[0] == row.pk:
        return row, cached[1]
    payload = RoutingModel.objects.filter(pk=row.pk).values_list("payload", flat=True).first()
    if payload is None:
        return None
    try:
        model = RoutingClassifier.from_bytes(bytes(payload))
    except ValueError:
        # A damaged or foreign payload: no suggestions until the next training, never an error.
        log.exception("routing model unreadable", target=target, model=row.pk)
        return None
    with _cache_lock:
        _cache[target] = (row.pk, model)
    return row, model


def forget_cached_models() -> None:
    with _cache_lock:
        _cache.clear()


@dataclass(frozen=True)
class GroupSuggestion:
    team: Any
    confidence: float


@dataclass(frozen=True)
class CategorySuggestion:
    value: str
    label: str
    confidence: float


@dataclass(frozen=True)
class RoutingSuggestions:
    groups: list[GroupSuggestion]
    category: CategorySuggestion | None
    model: Any = None

    @property
    def best_group(self) -> GroupSuggestion | None:
        return self.groups[0] if self.groups else None


def suggest(
    text: str,
    *,
    service_id: int | None = None,
    reporter_id: int | None = None,
    groups: int = SUGGESTED_GROUPS,
    category: bool = True,
) -> RoutingSuggestions:
    """The likely assignment groups (teams that still exist) and category of a new incident,
    each at least ``CONFIDENCE_FLOOR`` sure; empty without a model."""
    from hashdesk.accounts.models import Team
    from hashdesk.incidents.choices import Category

    tags = incident_tags(service_id, reporter_id)
    suggested: list[GroupSuggestion] = []
    group_model = active_model("assignment_group")
    if group_model is not None and text.strip():
        ranked = [
            s
            for s in group_model[1].rank(text, tags, limit=len(group_model[1].classes))
            if s.confidence >= CONFIDENCE_FLOOR and s.label.isdigit()
        ][: groups * 2]
        if ranked:
            teams = Team.objects.in_bulk([int(s.label) for s in ranked])
            suggested = [
                GroupSuggestion(teams[int(s.label)], s.confidence)
                for s in ranked
                if int(s.label) in teams
            ][:groups]
    likely: CategorySuggestion | None = None
    category_model = active_model("category") if category else None
    if category_model is not None and text.strip():
        labels = dict(Category.choices)
        for s in category_model[1].rank(text, tags, limit=3):
            if s.confidence >= CONFIDENCE_FLOOR and s.label in labels:
                likely = CategorySuggestion(s.label, str(labels[s.label]), s.confidence)
                break
    return RoutingSuggestions(
        groups=suggested,
        category=likely,
        model=group_model[0] if group_model is not None else None,
    )
