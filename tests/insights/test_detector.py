"""The streaming burst detector: reacts to a burst, never looks ahead, resumes from its state."""

from __future__ import annotations

import json
import math
import random
from datetime import datetime, timedelta

import pytest

from hashdesk.insights.bursts.detector import THRESHOLD, StreamingDetector

START = datetime(2026, 11, 2, 0, 0)


def minutes(count: int) -> list[datetime]:
    return [START + timedelta(minutes=i) for i in range(count)]


def quiet_counts(count: int, seed: int = 7) -> list[float]:
    """A quiet stream of report counts per minute: mostly 0, sometimes 1 or 2."""
    rng = random.Random(seed)
    return [float(rng.choice((0, 0, 0, 0, 1, 1, 2))) for _ in range(count)]


def scores(detector: StreamingDetector, times: list[datetime], values: list[float]) -> list[float]:
    return [detector.update(t, v) for t, v in zip(times, values, strict=True)]


def test_a_burst_after_a_quiet_stream_crosses_the_threshold_within_a_few_points() -> None:
    values = [*quiet_counts(1000), 25.0, 30.0, 28.0, 26.0]
    result = scores(StreamingDetector(), minutes(len(values)), values)

    assert all(0.0 <= s <= 1.0 for s in result)
    assert max(result[:1000]) < THRESHOLD
    assert max(result[1000:1003]) >= THRESHOLD


def test_a_spike_on_a_flat_stream_is_detected_at_once() -> None:
    values = [5.0] * 600 + [60.0]
    result = scores(StreamingDetector(), minutes(len(values)), values)

    assert max(result[:600]) < THRESHOLD
    assert result[600] >= THRESHOLD


def test_nothing_is_reported_during_warm_up() -> None:
    values = [*quiet_counts(50), 500.0]
    result = scores(StreamingDetector(), minutes(len(values)), values)

    assert max(result) < THRESHOLD


def test_one_burst_is_reported_once_not_at_every_point() -> None:
    values = quiet_counts(1000) + [40.0] * 30
    result = scores(StreamingDetector(), minutes(len(values)), values)

    assert sum(s >= THRESHOLD for s in result[1000:]) == 1


def test_scores_on_a_prefix_equal_scores_on_the_full_series() -> None:
    rng = random.Random(3)
    values = [10 + 5 * math.sin(i / 30) + rng.gauss(0, 1) for i in range(1500)]
    values[900:920] = [40.0] * 20
    times = minutes(len(values))

    full = scores(StreamingDetector(), times, values)
    prefix = scores(StreamingDetector(), times[:950], values[:950])

    assert prefix == full[:950]


def test_state_round_trip_gives_identical_subsequent_scores() -> None:
    values = quiet_counts(1200, seed=11) + [30.0] * 5 + quiet_counts(300, seed=12)
    times = minutes(len(values))
    straight = scores(StreamingDetector(), times, values)

    first = StreamingDetector()
    scores(first, times[:700], values[:700])
    stored = json.dumps(first.state())
    resumed = StreamingDetector.from_state(json.loads(stored))

    assert scores(resumed, times[700:], values[700:]) == straight[700:]
    assert len(stored) < 20_000


def test_state_keeps_non_default_parameters() -> None:
    detector = StreamingDetector(quiet=10, warmup=50)
    resumed = StreamingDetector.from_state(json.loads(json.dumps(detector.state())))

    assert resumed.params == detector.params


def test_a_missing_reading_is_skipped() -> None:
    values = quiet_counts(400)
    times = minutes(len(values) + 1)
    straight = StreamingDetector()
    scores(straight, times[:400], values)
    gappy = StreamingDetector()
    scores(gappy, times[:400], values)

    assert gappy.update(times[400], math.nan) == 0.0
    assert gappy.state() == straight.state()


def test_unknown_parameters_are_refused() -> None:
    with pytest.raises(TypeError):
        StreamingDetector(bogus=1.0)


def test_expected_follows_the_weekly_rhythm() -> None:
    detector = StreamingDetector()
    hours = [START + timedelta(hours=i) for i in range(24 * 7 * 4)]
    for t in hours:
        detector.update(t, 50.0 if 9 <= t.hour < 17 else 2.0)

    monday_noon = datetime(2026, 12, 7, 12, 0)
    monday_night = datetime(2026, 12, 7, 3, 0)
    assert detector.expected(monday_noon) > 30
    assert detector.expected(monday_night) < 15
