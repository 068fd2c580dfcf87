"""NAB scoring (Lavin & Ahmad, ICMLA 2015), written from the published method.

A NAB-layout folder holds ``data/<category>/<file>.csv`` (``timestamp,value``),
``labels/combined_windows.json`` (anomaly windows per file, ``[start, end]`` timestamps),
``config/profiles.json`` (the cost matrix of each profile) and ``results/<detector>/...``.

Scoring one file at one threshold:

- a point is a *detection* when its anomaly score is ``>= threshold``;
- detections in the probationary period (the first 15 % of the file, at most 750 rows) are ignored;
- a detection inside a window at relative position ``p = -(right - i + 1) / width`` (``-1`` at the
  window's first row) is worth ``tpWeight * sigma(p) / sigma(-1)``, with the scaled sigmoid
  ``sigma(x) = 2 / (1 + exp(5 x)) - 1`` (``-1`` beyond ``x > 3``); only the best, i.e. the earliest,
  detection of a window counts;
- a window without detection costs ``-fnWeight``;
- a detection outside every window is a false positive worth ``fpWeight * sigma(p)`` where
  ``p = (i - right) / (width - 1)`` is its distance past the previous window (so it costs almost
  nothing just after a window and ``fpWeight`` far from it), or ``-fpWeight`` before the first
  window.

A detector gets ONE threshold per profile for all files: the one maximising its total raw score.
Normalised score: ``100 * (raw - null) / (perfect - null)``, ``null = -fnWeight * windows`` (no
detection at all) and ``perfect = tpWeight * sigma(-1) * windows``, which is how NAB's published
figures are normalised (reproduced by ``hashdesk eval bursts``, see docs/insights.md).
"""

from __future__ import annotations

import bisect
import csv
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
PROBATION_PERCENT = 0.15
PROBATION_CAP_ROWS = 750  # 15 % of 5,000 rows


def scaled_sigmoid(x: float) -> float:
    if x > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


MAX_TP = scaled_sigmoid(-1.0)


@dataclass(frozen=True)
class Profile:
    name: str
    tp: float
    fp: float
    fn: float


@dataclass
class LabelledFile:
    """One series of the corpus: its rows and its anomaly windows as (first, last) row indices."""

    name: str  # "<category>/<file>.csv", as in the labels
    timestamps: list[datetime]
    values: np.ndarray
    windows: list[tuple[int, int]]
    _weights: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)

    @property
    def probation(self) -> int:
        return probationary_length(len(self.timestamps))

    def weights(self, profile: Profile) -> tuple[np.ndarray, np.ndarray]:
        """Per row: the score a detection there is worth, and its window's number (-1: none)."""
        key = f"{profile.tp}/{profile.fp}"
        if key not in self._weights:
            self._weights[key] = point_weights(len(self.timestamps), self.windows, profile)
        return self._weights[key]


def probationary_length(rows: int) -> int:
    return int(min(math.floor(PROBATION_PERCENT * rows), PROBATION_PERCENT * 5000))


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.strip())


def point_weights(
    rows: int, windows: Sequence[tuple[int, int]], profile: Profile
) -> tuple[np.ndarray, np.ndarray]:
    weight = np.empty(rows, dtype=float)
    window_of = np.full(rows, -1, dtype=int)
    previous: tuple[int, int] | None = None
    ordered = sorted(windows)
    k = 0
    for i in range(rows):
        while k < len(ordered) and ordered[k][1] < i:
            previous = ordered[k]
            k += 1
        if k < len(ordered) and ordered[k][0] <= i <= ordered[k][1]:
            left, right = ordered[k]
            width = right - left + 1
            weight[i] = scaled_sigmoid(-(right - i + 1) / width) * profile.tp / MAX_TP
            window_of[i] = k
        elif previous is not None:
            left, right = previous
            width = right - left + 1
            weight[i] = scaled_sigmoid(abs(right - i) / max(width - 1, 1)) * profile.fp
        else:
            weight[i] = -profile.fp
    return weight, window_of


def load_profiles(root: Path) -> dict[str, Profile]:
    raw = json.loads((root / "config" / "profiles.json").read_text())
    profiles = {}
    for name, body in raw.items():
        cost = body["CostMatrix"]
        profiles[name] = Profile(name, cost["tpWeight"], cost["fpWeight"], cost["fnWeight"])
    return profiles


def read_series(path: Path) -> tuple[list[datetime], np.ndarray]:
    stamps: list[datetime] = []
    values: list[float] = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            stamps.append(parse_time(row["timestamp"]))
            values.append(float(row["value"]))
    return stamps, np.asarray(values, dtype=float)


def window_rows(stamps: list[datetime], start: str, end: str) -> tuple[int, int] | None:
    """The first and last rows inside [start, end] (windows need not fall on a row)."""
    left = bisect.bisect_left(stamps, parse_time(start))
    right = bisect.bisect_right(stamps, parse_time(end)) - 1
    if left > right:
        return None
    return left, right


def load_corpus(root: Path) -> list[LabelledFile]:
    labels = json.loads((root / "labels" / "combined_windows.json").read_text())
    files = []
    for path in sorted((root / "data").glob("*/*.csv")):
        name = f"{path.parent.name}/{path.name}"
        stamps, values = read_series(path)
        windows = [w for s, e in labels.get(name, []) if (w := window_rows(stamps, s, e))]
        files.append(LabelledFile(name, stamps, values, windows))
    return files


@dataclass
class FileScore:
    raw: float
    tp: int
    fp: int
    fn: int  # windows missed


def score_file(
    scores: np.ndarray, labelled: LabelledFile, profile: Profile, threshold: float
) -> FileScore:
    weight, window_of = labelled.weights(profile)
    detected = np.asarray(scores, dtype=float) >= threshold
    detected[: labelled.probation] = False
    fp_rows = detected & (window_of < 0)
    raw = float(weight[fp_rows].sum())
    hit = 0
    for k in range(len(labelled.windows)):
        rows = np.flatnonzero(detected & (window_of == k))
        if rows.size:
            raw += float(weight[rows[0]])
            hit += 1
    missed = len(labelled.windows) - hit
    raw -= profile.fn * missed
    tp = int((detected & (window_of >= 0)).sum())
    return FileScore(raw, tp, int(fp_rows.sum()), missed)


def optimise_threshold(
    scores_by_file: Sequence[np.ndarray], files: Sequence[LabelledFile], profile: Profile
) -> tuple[float, float]:
    """NAB's threshold search: the single threshold maximising the summed raw score.

    Sweeps every distinct anomaly score from the highest down, adding detections one group of
    equal scores at a time (a window's value only ever grows as earlier rows get detected).
    Returns (threshold, total raw score); ties keep the higher threshold.
    """
    parts_score, parts_weight, parts_window = [], [], []
    offset = 0
    for scores, labelled in zip(scores_by_file, files, strict=True):
        weight, window_of = labelled.weights(profile)
        start = labelled.probation
        parts_score.append(np.asarray(scores, dtype=float)[start:])
        parts_weight.append(weight[start:])
        parts_window.append(np.where(window_of[start:] >= 0, window_of[start:] + offset, -1))
        offset += len(labelled.windows)
    all_scores = np.concatenate(parts_score)
    all_weights = np.concatenate(parts_weight)
    all_windows = np.concatenate(parts_window)
    order = np.argsort(-all_scores, kind="stable")
    total = -profile.fn * offset
    best_total, best_threshold = total, float(all_scores.max(initial=0.0)) + 1e-9
    best_in_window = np.full(offset, -profile.fn)
    sorted_scores = all_scores[order]
    sorted_weights = all_weights[order].tolist()
    sorted_windows = all_windows[order].tolist()
    n = len(order)
    i = 0
    while i < n:
        value = sorted_scores[i]
        j = i
        while j < n and sorted_scores[j] == value:
            w = sorted_windows[j]
            if w < 0:
                total += sorted_weights[j]
            elif sorted_weights[j] > best_in_window[w]:
                total += sorted_weights[j] - best_in_window[w]
                best_in_window[w] = sorted_weights[j]
            j += 1
        if total > best_total + 1e-12:
            best_total, best_threshold = total, float(value)
        i = j
    return best_threshold, float(best_total)


def null_and_perfect(files: Sequence[LabelledFile], profile: Profile) -> tuple[float, float]:
    windows = sum(len(f.windows) for f in files)
    return -profile.fn * windows, profile.tp * MAX_TP * windows


def normalise(raw: float, files: Sequence[LabelledFile], profile: Profile) -> float:
    null, perfect = null_and_perfect(files, profile)
    return 100.0 * (raw - null) / (perfect - null)
