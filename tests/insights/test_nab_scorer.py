"""NAB scoring on tiny hand-made folders (the published method, not NAB's code)."""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from hashdesk.insights.evaluation import bursts, nab_scoring
from hashdesk.insights.evaluation.nab_scoring import MAX_TP, scaled_sigmoid

Corpus = list[nab_scoring.LabelledFile]
ROWS = 100  # probation: the first 15 rows
WINDOW = (50, 59)
START = datetime(2014, 1, 1)
PROFILES = {
    name: {"CostMatrix": {"tpWeight": 1.0, "fnWeight": fn, "fpWeight": fp, "tnWeight": 1.0}}
    for name, fp, fn in (
        ("standard", 0.11, 1.0),
        ("reward_low_FP_rate", 0.22, 1.0),
        ("reward_low_FN_rate", 0.11, 2.0),
    )
}


def stamp(i: int) -> str:
    return (START + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "data" / "demo").mkdir(parents=True)
    (tmp_path / "labels").mkdir()
    (tmp_path / "config").mkdir()
    lines = ["timestamp,value"] + [f"{stamp(i)},{1.0 if i != 52 else 9.0}" for i in range(ROWS)]
    (tmp_path / "data" / "demo" / "a.csv").write_text("\n".join(lines) + "\n")
    windows = {"demo/a.csv": [[stamp(WINDOW[0]) + ".000000", stamp(WINDOW[1]) + ".000000"]]}
    (tmp_path / "labels" / "combined_windows.json").write_text(json.dumps(windows))
    (tmp_path / "config" / "profiles.json").write_text(json.dumps(PROFILES))
    return tmp_path


@pytest.fixture
def corpus(folder: Path) -> Corpus:
    return nab_scoring.load_corpus(folder)


def standard() -> nab_scoring.Profile:
    return nab_scoring.Profile("standard", tp=1.0, fp=0.11, fn=1.0)


def detections(*rows: int) -> np.ndarray:
    scores = np.zeros(ROWS)
    scores[list(rows)] = 1.0
    return scores


def raw(corpus: Corpus, *rows: int) -> float:
    return nab_scoring.score_file(detections(*rows), corpus[0], standard(), 0.5).raw


def test_windows_are_read_as_row_ranges(corpus: Corpus) -> None:
    assert corpus[0].name == "demo/a.csv"
    assert corpus[0].windows == [WINDOW]
    assert corpus[0].probation == 15


def test_a_detection_at_the_start_of_the_window_scores_one(corpus: Corpus) -> None:
    assert raw(corpus, WINDOW[0]) == pytest.approx(1.0)


def test_a_later_detection_in_the_window_scores_less(corpus: Corpus) -> None:
    width = WINDOW[1] - WINDOW[0] + 1
    assert raw(corpus, WINDOW[1]) == pytest.approx(scaled_sigmoid(-1 / width) / MAX_TP)
    assert 0 < raw(corpus, WINDOW[1]) < raw(corpus, 55) < raw(corpus, WINDOW[0])


def test_only_the_earliest_detection_of_a_window_counts(corpus: Corpus) -> None:
    assert raw(corpus, 50, 51, 52, 59) == pytest.approx(raw(corpus, 50))


def test_a_detection_before_the_window_is_a_false_positive(corpus: Corpus) -> None:
    # the FP weight before any window, and the missed window
    assert raw(corpus, 30) == pytest.approx(-0.11 - 1.0)


def test_false_positives_after_a_window_cost_more_the_further_they_are(corpus: Corpus) -> None:
    just_after, far_after = raw(corpus, 50, 60), raw(corpus, 50, 99)
    width = WINDOW[1] - WINDOW[0] + 1
    assert just_after == pytest.approx(1.0 + 0.11 * scaled_sigmoid(1 / (width - 1)))
    assert far_after == pytest.approx(1.0 - 0.11)
    assert far_after < just_after < 1.0


def test_detections_in_the_probationary_period_are_ignored(corpus: Corpus) -> None:
    assert raw(corpus, 3, 10) == pytest.approx(-1.0)


def test_no_detection_is_the_null_score_and_normalises_to_zero(corpus: Corpus) -> None:
    profile = standard()
    assert raw(corpus) == pytest.approx(-1.0)
    assert nab_scoring.normalise(-1.0, corpus, profile) == pytest.approx(0.0)
    perfect = nab_scoring.null_and_perfect(corpus, profile)[1]
    assert nab_scoring.normalise(perfect, corpus, profile) == pytest.approx(100.0)


def test_the_threshold_search_finds_the_best_single_threshold(corpus: Corpus) -> None:
    scores = np.zeros(ROWS)
    scores[30] = 0.9  # a false positive, more confident than...
    scores[WINDOW[0]] = 0.7  # ...the true detection
    scores[80] = 0.3  # a false positive below it
    threshold, total = nab_scoring.optimise_threshold([scores], corpus, standard())

    assert threshold == pytest.approx(0.7)
    assert total == pytest.approx(nab_scoring.score_file(scores, corpus[0], standard(), 0.7).raw)
    assert total == pytest.approx(1.0 - 0.11)


def test_eval_bursts_checks_published_scores_and_writes_json(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = folder / "results" / "oracle"
    (results / "demo").mkdir(parents=True)
    rows = ["timestamp,value,anomaly_score"]
    rows += [f"{stamp(i)},1.0,{1.0 if i == WINDOW[0] else 0.0}" for i in range(ROWS)]
    (results / "demo" / "oracle_a.csv").write_text("\n".join(rows) + "\n")
    for profile in PROFILES:
        (results / f"oracle_{profile}_scores.csv").write_text(
            f"Detector,Profile,File,Threshold,Score\noracle,{profile},demo/a.csv,0.5,1.0\n"
        )
    (folder / "published_demo.txt").write_text(
        "oracle             standard  100.67  low_FP  100.67  low_FN  100.45\n"
    )
    out = tmp_path / "out.json"

    status = bursts.run(argparse.Namespace(path=str(folder), json=str(out)))

    assert status == 0
    printed = capsys.readouterr().out
    assert "scorer check: oracle standard raw total 1.000000, published 1.000000" in printed
    figures = json.loads(out.read_text())
    assert set(figures["detector"]) == set(PROFILES)
    assert figures["published"]["oracle"]["standard"] == 100.67
    assert figures["scorer_check"]["ok"] is True


def test_without_a_published_table_it_is_computed_from_the_published_raw_scores(
    folder: Path, tmp_path: Path
) -> None:
    results = folder / "results" / "oracle"
    results.mkdir(parents=True)
    for profile in PROFILES:
        (results / f"oracle_{profile}_scores.csv").write_text(
            f"Detector,Profile,File,Threshold,Score\noracle,{profile},demo/a.csv,0.5,1.0\n"
        )
    out = tmp_path / "out.json"

    assert bursts.run(argparse.Namespace(path=str(folder), json=str(out))) == 0

    oracle = json.loads(out.read_text())["published"]["oracle"]
    # raw 1.0 against null -1 (-2 for low FN) and perfect sigma(-1)
    assert oracle["standard"] == pytest.approx(round(100 * 2 / (MAX_TP + 1), 1))
    assert oracle["reward_low_FN_rate"] == pytest.approx(round(100 * 3 / (MAX_TP + 2), 1))


def test_eval_bursts_refuses_a_folder_without_labels(tmp_path: Path) -> None:
    assert bursts.run(argparse.Namespace(path=str(tmp_path), json=None)) == 2
