"""The streaming burst detector (docs/insights.md, "Bursts").

It sees each point of one stream once, in order, and never looks ahead: ``update(t, value)``
returns an anomaly score in [0, 1] for that point. Its whole memory is ``state()``, a JSON
object, so the product can keep one detector per service and hashtag in the database and resume
it (``StreamingDetector.from_state``). The same class is scored on the Numenta Anomaly Benchmark
by ``hashdesk eval bursts``.

First version: a robust z-score of the value against an exponentially weighted mean and
variance kept per hour-of-week slot (the daily and weekly rhythm) blended with a global one.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

THRESHOLD = 0.5


class StreamingDetector:
    def __init__(self, *, alpha: float = 0.05, warmup: int = 30, z_scale: float = 4.0) -> None:
        self.alpha = alpha
        self.warmup = warmup
        self.z_scale = z_scale
        self.seen = 0
        self.mean = 0.0
        self.var = 0.0
        self.slots: dict[str, list[float]] = {}

    # -- persistence ---------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "params": {"alpha": self.alpha, "warmup": self.warmup, "z_scale": self.z_scale},
            "seen": self.seen,
            "mean": self.mean,
            "var": self.var,
            "slots": self.slots,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> StreamingDetector:
        detector = cls(**state.get("params", {}))
        detector.seen = int(state.get("seen", 0))
        detector.mean = float(state.get("mean", 0.0))
        detector.var = float(state.get("var", 0.0))
        detector.slots = {key: list(value) for key, value in state.get("slots", {}).items()}
        return detector

    # -- scoring -------------------------------------------------------------------------------
    def expected(self, t: datetime) -> float:
        """The value the detector expects at ``t`` (its baseline)."""
        slot = self.slots.get(str(t.weekday() * 24 + t.hour))
        if slot is not None and slot[2] >= 3:
            return 0.5 * slot[0] + 0.5 * self.mean
        return self.mean

    def update(self, t: datetime, value: float) -> float:
        expected = self.expected(t)
        spread = math.sqrt(max(self.var, 1e-9))
        score = 0.0
        if self.seen >= self.warmup:
            z = (value - expected) / max(spread, 1e-6)
            score = 1.0 / (1.0 + math.exp(-(abs(z) - self.z_scale)))
        self._learn(t, value)
        return score

    def _learn(self, t: datetime, value: float) -> None:
        self.seen += 1
        if self.seen == 1:
            self.mean = value
        delta = value - self.mean
        self.mean += self.alpha * delta
        self.var = (1 - self.alpha) * (self.var + self.alpha * delta * delta)
        key = str(t.weekday() * 24 + t.hour)
        slot = self.slots.setdefault(key, [value, 0.0, 0])
        slot_delta = value - slot[0]
        slot[0] += 0.2 * slot_delta
        slot[1] = 0.8 * (slot[1] + 0.2 * slot_delta * slot_delta)
        slot[2] = int(slot[2]) + 1
