"""``hashdesk eval bursts DIR [--json FILE]``: NAB scores of the streaming burst detector.

DIR has the layout of the Numenta Anomaly Benchmark (``data/<category>/*.csv``,
``labels/combined_windows.json``, ``config/profiles.json``, ``results/<detector>/...``,
optionally ``published_<category>.txt``). Three steps, files only (no database, no Django):

1. **Scorer check**: every published detector whose per-timestamp detections are in
   ``results/<detector>/<category>/`` is scored at the thresholds of its
   ``results/<detector>/<detector>_<profile>_scores.csv``; the raw score of every file must match
   the published one, and the normalised total the published table.
2. **Our detector**: a fresh ``StreamingDetector()`` per file, fed every row once in order; one
   threshold per profile for all files, chosen the way NAB does (the best total raw score).
3. **Table**: its normalised scores beside the published detectors'.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from hashdesk.insights.bursts.detector import PRODUCT_SETTINGS, THRESHOLD, StreamingDetector
from hashdesk.insights.evaluation import nab_scoring as nab

OURS = "hashdesk"
RAW_TOLERANCE = 1e-6
SHORT = {"standard": "standard", "reward_low_FP_rate": "low_FP", "reward_low_FN_rate": "low_FN"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="a folder in the NAB layout (e.g. ../shared/data/nab)")
    # --json FILE is added by hashdesk.cli for every evaluation.


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def read_published_table(root: Path) -> dict[str, dict[str, float]]:
    """``published_*.txt`` lines: ``name standard X low_FP Y low_FN Z``."""
    table: dict[str, dict[str, float]] = {}
    long = {v: k for k, v in SHORT.items()}
    for path in sorted(root.glob("published_*.txt")):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) < 7 or len(parts) % 2 == 0:
                continue
            try:
                row = {
                    long.get(k, k): float(v) for k, v in zip(parts[1::2], parts[2::2], strict=False)
                }
            except ValueError:
                continue
            table[parts[0]] = row
    return table


def read_published_scores(
    root: Path, detector: str, profile: str
) -> dict[str, tuple[float, float]]:
    """{file: (threshold, raw score)} from results/<det>/<det>_<profile>_scores.csv."""
    path = root / "results" / detector / f"{detector}_{profile}_scores.csv"
    rows: dict[str, tuple[float, float]] = {}
    if not path.exists():
        return rows
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("File", "").endswith(".csv"):
                rows[row["File"]] = (float(row["Threshold"]), float(row["Score"]))
    return rows


def read_detections(root: Path, detector: str, name: str) -> np.ndarray | None:
    category, filename = name.split("/", 1)
    path = root / "results" / detector / category / f"{detector}_{filename}"
    if not path.exists():
        return None
    with path.open(newline="") as handle:
        return np.asarray([float(row["anomaly_score"]) for row in csv.DictReader(handle)])


def published_from_scores(
    root: Path, files: list[nab.LabelledFile], profiles: dict[str, nab.Profile]
) -> dict[str, dict[str, float]]:
    """Each published detector's normalised scores on these files, from its per-file raw scores.

    Used for the detectors that ``published_*.txt`` does not list (or when there is none, e.g.
    another NAB category): the sum of the published raw ``Score`` of the files, normalised.
    """
    table: dict[str, dict[str, float]] = {}
    results = root / "results"
    if not results.exists():
        return table
    for detector_dir in sorted(p for p in results.iterdir() if p.is_dir()):
        row = {}
        for profile_name, profile in profiles.items():
            rows = read_published_scores(root, detector_dir.name, profile_name)
            if all(f.name in rows for f in files):
                raw = sum(rows[f.name][1] for f in files)
                row[profile_name] = round(nab.normalise(raw, files, profile), 1)
        if len(row) == len(profiles):
            table[detector_dir.name] = row
    return table


def scorer_check(
    root: Path,
    files: list[nab.LabelledFile],
    profiles: dict[str, nab.Profile],
    published: dict[str, dict[str, float]],
) -> dict[str, Any]:
    """Re-score the published detections; {detector: {profile: {...}}} plus ``ok``."""
    report: dict[str, Any] = {}
    ok = True
    results = root / "results"
    for detector_dir in (
        sorted(p for p in results.iterdir() if p.is_dir()) if results.exists() else []
    ):
        detector = detector_dir.name
        detections = {f.name: read_detections(root, detector, f.name) for f in files}
        if not all(d is not None for d in detections.values()):
            continue
        for profile_name, profile in profiles.items():
            rows = read_published_scores(root, detector, profile_name)
            if not all(f.name in rows for f in files):
                continue
            ours = published_total = worst = 0.0
            for labelled in files:
                threshold, raw = rows[labelled.name]
                scores = detections[labelled.name]
                assert scores is not None
                mine = nab.score_file(scores, labelled, profile, threshold).raw
                ours += mine
                published_total += raw
                worst = max(worst, abs(mine - raw))
            normalised = nab.normalise(ours, files, profile)
            expected = published.get(detector, {}).get(profile_name)
            entry = {
                "raw_total": round(ours, 9),
                "published_raw_total": round(published_total, 9),
                "max_file_difference": worst,
                "normalised": round(normalised, 2),
                "published_normalised": expected,
                "ok": worst <= RAW_TOLERANCE
                and (expected is None or abs(normalised - expected) <= 0.051),
            }
            ok = ok and bool(entry["ok"])
            report.setdefault(detector, {})[profile_name] = entry
    report["ok"] = ok and len(report) > 0
    return report


def run_detector(
    files: list[nab.LabelledFile], **settings: float
) -> tuple[list[np.ndarray], float]:
    """Our detector's scores per file (with ``settings`` over its defaults), and its throughput
    (points per second)."""
    started = time.perf_counter()
    all_scores = []
    points = 0
    for labelled in files:
        detector = StreamingDetector(**settings)
        update = detector.update
        values = labelled.values.tolist()
        all_scores.append(
            np.asarray([update(t, v) for t, v in zip(labelled.timestamps, values, strict=True)])
        )
        points += len(values)
    return all_scores, points / max(time.perf_counter() - started, 1e-9)


def leave_one_file_out(
    scores: list[np.ndarray], files: list[nab.LabelledFile], profile: nab.Profile
) -> float | None:
    """Normalised score when each file is scored at the threshold chosen on the other files."""
    if len(files) < 2:
        return None
    raw = 0.0
    for i, labelled in enumerate(files):
        others = [j for j in range(len(files)) if j != i]
        threshold, _ = nab.optimise_threshold(
            [scores[j] for j in others], [files[j] for j in others], profile
        )
        raw += nab.score_file(scores[i], labelled, profile, threshold).raw
    return round(nab.normalise(raw, files, profile), 2)


def run(args: argparse.Namespace) -> int:
    root = Path(args.path)
    if not (root / "labels" / "combined_windows.json").exists():
        _say(f"{root}: not a NAB-layout folder (labels/combined_windows.json is missing)")
        return 2
    files = nab.load_corpus(root)
    if not files:
        _say(f"{root}: no data/<category>/*.csv files")
        return 2
    profiles = nab.load_profiles(root)
    published = {**published_from_scores(root, files, profiles), **read_published_table(root)}
    windows = sum(len(f.windows) for f in files)
    _say(f"{len(files)} files, {sum(len(f.values) for f in files):,} rows, {windows} windows")

    check = scorer_check(root, files, profiles, published)
    for detector, by_profile in check.items():
        if detector == "ok":
            continue
        for profile_name, entry in by_profile.items():
            mark = "✔" if entry["ok"] else "✘"
            extra = ""
            if entry["published_normalised"] is not None:
                extra = (f", normalised {entry['normalised']:.2f} vs published "
                         f"{entry['published_normalised']:.1f}")  # fmt: skip
            _say(f"scorer check: {detector} {profile_name} raw total {entry['raw_total']:.6f}, "
                 f"published {entry['published_raw_total']:.6f}{extra} {mark}")  # fmt: skip
    if len(check) == 1:
        _say("scorer check: no published per-timestamp detections here to check against")

    scores, rate = run_detector(files)
    ours: dict[str, float] = {}
    thresholds: dict[str, float] = {}
    shipped: dict[str, float] = {}  # at the product's fixed THRESHOLD, no per-profile search
    held_out: dict[str, float | None] = {}  # threshold chosen without the file scored
    for profile_name, profile in profiles.items():
        threshold, raw = nab.optimise_threshold(scores, files, profile)
        ours[profile_name] = round(nab.normalise(raw, files, profile), 2)
        thresholds[profile_name] = threshold
        fixed = sum(
            nab.score_file(s, f, profile, THRESHOLD).raw for s, f in zip(scores, files, strict=True)
        )
        shipped[profile_name] = round(nab.normalise(fixed, files, profile), 2)
        held_out[profile_name] = leave_one_file_out(scores, files, profile)
    standard = profiles.get("standard")
    if standard is not None:
        _say(f"\n{OURS} per file (standard, threshold {thresholds['standard']:.4f}; "
             f"shipped THRESHOLD {THRESHOLD}):")  # fmt: skip
        for labelled, file_scores in zip(files, scores, strict=True):
            result = nab.score_file(file_scores, labelled, standard, thresholds["standard"])
            found = len(labelled.windows) - result.fn
            _say(f"  {labelled.name:<60} raw {result.raw:7.3f}  windows "
                 f"{found}/{len(labelled.windows)}  FP rows {result.fp}")  # fmt: skip

    names = list(profiles)
    _say("\nnormalised NAB scores (100 = perfect, 0 = no detection)")
    _say(f"{'detector':<20}" + "".join(f"{SHORT.get(n, n):>10}" for n in names))
    rows = [(OURS, ours), *published.items()]
    rows.sort(key=lambda item: -item[1].get("standard", float("-inf")))
    for name, figures in rows:
        label = f"{name} *" if name == OURS else name
        _say(f"{label:<20}" + "".join(f"{figures.get(n, float('nan')):>10.1f}" for n in names))
    _say(f"{OURS} at the shipped THRESHOLD {THRESHOLD} (no threshold search): "
         + ", ".join(f"{SHORT.get(n, n)} {shipped[n]:.1f}" for n in names))  # fmt: skip
    if all(v is not None for v in held_out.values()):
        _say(f"{OURS} with each file's threshold chosen on the other files: "
             + ", ".join(f"{SHORT.get(n, n)} {held_out[n]:.1f}" for n in names))  # fmt: skip
    product_scores, _rate = run_detector(files, **PRODUCT_SETTINGS)
    product: dict[str, float] = {}
    for profile_name, profile in profiles.items():
        _threshold, raw = nab.optimise_threshold(product_scores, files, profile)
        product[profile_name] = round(nab.normalise(raw, files, profile), 2)
    setting = ", ".join(f"{k}={v:g}" for k, v in PRODUCT_SETTINGS.items())
    product_figures = ", ".join(f"{SHORT.get(n, n)} {product[n]:.1f}" for n in names)
    _say(f"{OURS} as the minute job runs it ({setting}; its probable incidents report a burst "
         f"once instead): {product_figures}")  # fmt: skip
    _say(f"{OURS}: {rate:,.0f} points/s while evaluating")

    if getattr(args, "json", None):
        payload = {
            "detector": ours,
            "thresholds": thresholds,
            "detector_at_shipped_threshold": shipped,
            "detector_leave_one_file_out": held_out,
            "detector_product_settings": product,
            "published": published,
            "scorer_check": check,
            "files": len(files),
            "windows": windows,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return 0 if check.get("ok", False) or len(check) == 1 else 1
