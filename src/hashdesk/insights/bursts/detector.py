"""The streaming burst detector (docs/insights.md, "Bursts").

It sees each point of one stream once, in order, and never looks ahead: ``update(t, value)``
returns an anomaly score in [0, 1] for that point. Its whole memory is ``state()``, a small JSON
object, so the product can keep one detector per service and hashtag in the database and resume
it (``StreamingDetector.from_state``). The same class is scored on the Numenta Anomaly Benchmark
by ``hashdesk eval bursts``.

Method (every statistic is an exponentially weighted one, so memory is constant):

1. **Baseline.** Three predictions of the next value: the stream's slow level, its hour-of-day
   slot (24, the daily rhythm) and its hour-of-week slot (168, the weekly one). Each keeps its
   mean absolute error, and the baseline is their blend weighted by the inverse of those errors,
   so a stream with a rhythm leans on its slots and a stream without one on its level.
2. **Four surprise channels**, each a non-negative number per point, measured before the
   detector learns from that point:
   - *jump*: the step from the previous value, in units of the usual step;
   - *shift*: a short average of the value (several points) against the baseline, in units of the
     baseline's usual error (level shifts and bursts that build over a few points);
   - *volatility*: a short average of the step size against its long average (the distribution
     changes shape without moving);
   - *new extreme*: how far the value goes beyond the stream's long-run high (or low) envelope,
     which decays very slowly towards the level, relative to the envelope's width.
3. **Calibration.** Each channel's ``log(1 + surprise)`` is turned into a z-score against that
   channel's own running mean and spread (updated *after* scoring); the point's surprise is the
   largest of the four. This makes one threshold mean the same thing on very different streams
   (counts, temperatures, latencies).
4. **Warm-up and suppression.** Nothing is reported while the statistics settle (``warmup``
   points), and after a detection the score is damped for ``quiet`` points: one burst is reported
   once, not at every point while it lasts.
5. The score is a logistic of that z-score, ``THRESHOLD`` (0.5) exactly at z = ``calibration``.

The defaults were tuned on NAB's realKnownCause files (docs/insights.md, "Evaluation").
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

THRESHOLD = 0.5

_SLOTS = 168
_STATE_VERSION = 3

DEFAULTS: dict[str, float] = {
    "alpha_level": 0.003,  # slow level of the baseline
    "alpha_slot": 0.05,  # hour-of-week slot means (each slot is seen once a week)
    "alpha_error": 0.01,  # errors and usual step sizes
    "alpha_short": 0.3,  # the short averages (shift and volatility channels)
    "alpha_history": 0.01,  # the long-run distribution of each channel
    "warmup": 300,  # points before any score can reach THRESHOLD
    "quiet": 150,  # points damped after a detection
    "calibration": 4.0,  # the channel z-score that maps to THRESHOLD
    "slope": 1.0,  # of the logistic, in z units
    "alpha_envelope": 0.00003,  # decay of the high/low envelope towards the level
    "spread_floor": 0.001,  # least spread of a channel's log-surprise
}

# How the product's minute job (insights/bursts/live.py) builds its detectors: without the
# damping after a detection — one stray post on a silent stream would otherwise mute it for
# hours — because there an open probable incident is extended, never raised again, which
# reports a burst once the same way. `hashdesk eval bursts` scores this setting too.
PRODUCT_SETTINGS: dict[str, float] = {"quiet": 0}


class StreamingDetector:
    """One stream's detector; ``update`` once per point, in time order."""

    def __init__(self, **params: float) -> None:
        unknown = set(params) - set(DEFAULTS)
        if unknown:
            raise TypeError(f"unknown detector parameters: {sorted(unknown)}")
        self.params = {**DEFAULTS, **{k: float(v) for k, v in params.items()}}
        self.seen = 0
        self.last = 0.0
        self.level = 0.0
        self.level_error = 0.0
        self.slot_error = 0.0
        self.step = 0.0  # usual |x - previous x|
        self.short_value = 0.0
        self.short_step = 0.0
        # [mean, count] per hour of the week (the weekly rhythm) and per hour of the day (the daily
        # one, learnt in a day rather than a week).
        self.slots: list[list[float]] = [[0.0, 0.0] for _ in range(_SLOTS)]
        self.hours: list[list[float]] = [[0.0, 0.0] for _ in range(24)]
        self.hour_error = 0.0
        self.high = 0.0
        self.low = 0.0
        self.history = [[0.0, 0.0] for _ in range(4)]  # per channel [mean, variance] of log1p
        self.quiet_left = 0

    # -- persistence ---------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        changed = {k: v for k, v in self.params.items() if v != DEFAULTS[k]}
        return {
            "v": _STATE_VERSION,
            "params": changed,
            "seen": self.seen,
            "stats": [
                self.last,
                self.level,
                self.level_error,
                self.slot_error,
                self.step,
                self.short_value,
                self.short_step,
                self.high,
                self.low,
                self.hour_error,
            ],
            "hours": [[m, int(c)] for m, c in self.hours],
            "slots": [[m, int(c)] for m, c in self.slots],
            "history": [list(h) for h in self.history],
            "quiet": self.quiet_left,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> StreamingDetector:
        detector = cls(**state.get("params", {}))
        if state.get("v") != _STATE_VERSION:  # an older shape: start learning again
            return detector
        detector.seen = int(state["seen"])
        (
            detector.last,
            detector.level,
            detector.level_error,
            detector.slot_error,
            detector.step,
            detector.short_value,
            detector.short_step,
            detector.high,
            detector.low,
            detector.hour_error,
        ) = (float(x) for x in state["stats"])
        detector.hours = [[float(m), float(c)] for m, c in state["hours"]]
        detector.slots = [[float(m), float(c)] for m, c in state["slots"]]
        detector.history = [[float(m), float(v)] for m, v in state["history"]]
        detector.quiet_left = int(state.get("quiet", 0))
        return detector

    # -- scoring -------------------------------------------------------------------------------
    @staticmethod
    def _slot(t: datetime) -> int:
        return t.weekday() * 24 + t.hour

    def expected(self, t: datetime) -> float:
        """The value the detector expects at ``t`` (its baseline)."""
        weight = 1.0 / (self.level_error + 1e-9)
        total = self.level * weight
        for (mean, count), error in (
            (self.slots[self._slot(t)], self.slot_error),
            (self.hours[t.hour], self.hour_error),
        ):
            if count >= 2:
                total += mean / (error + 1e-9)
                weight += 1.0 / (error + 1e-9)
        return total / weight

    def update(self, t: datetime, value: float) -> float:
        p = self.params
        value = float(value)
        if not math.isfinite(value):  # a missing reading: neither scored nor learnt
            return 0.0
        if self.seen == 0:
            self.last = self.level = self.short_value = self.high = self.low = value
            slot = self.slots[self._slot(t)]
            slot[0], slot[1] = value, 1.0
            self.seen = 1
            return 0.0
        baseline = self.expected(t)
        # Channels, measured before learning from this point.
        step = abs(value - self.last)
        a_short = p["alpha_short"]
        short_value = self.short_value + a_short * (value - self.short_value)
        short_step = self.short_step + a_short * (step - self.short_step)
        error_scale = (
            min(self.level_error, self.slot_error, self.hour_error) if self.seen > 2 else 0.0
        )
        tiny = 1e-6 * (abs(self.level) + 1.0)
        surprises = (
            step / (self.step + tiny),
            abs(short_value - baseline) / (error_scale + tiny),
            short_step / (self.step + tiny),
            max(0.0, value - self.high, self.low - value) / (self.high - self.low + tiny),
        )
        surprise_z = 0.0
        a_hist = p["alpha_history"]
        for channel, surprise in enumerate(surprises):
            x = math.log1p(surprise)
            hist = self.history[channel]
            if self.seen > 2:
                spread = math.sqrt(hist[1]) + p["spread_floor"]
                z = (x - hist[0]) / spread
                surprise_z = max(surprise_z, z)
                delta = x - hist[0]
                hist[0] += a_hist * delta
                hist[1] = (1 - a_hist) * (hist[1] + a_hist * delta * delta)
            else:
                hist[0] = x
        # Learn.
        self._learn(t, value, step, short_value, short_step)
        if self.seen <= p["warmup"]:
            return 0.0
        score = self._calibrate(surprise_z)
        if self.quiet_left > 0:
            self.quiet_left -= 1
            return min(score, THRESHOLD * 0.99) * 0.5
        if score >= THRESHOLD:
            self.quiet_left = int(p["quiet"])
        return score

    def _calibrate(self, z: float) -> float:
        """A logistic of the largest channel z: THRESHOLD exactly at z = ``calibration``."""
        x = (z - self.params["calibration"]) / self.params["slope"]
        if x < -60:
            return 0.0
        return 1.0 / (1.0 + math.exp(-x)) if x < 60 else 1.0

    def _learn(
        self, t: datetime, value: float, step: float, short_value: float, short_step: float
    ) -> None:
        p = self.params
        a_err = p["alpha_error"]
        slot = self.slots[self._slot(t)]
        if slot[1] >= 1:
            self.slot_error += a_err * (abs(value - slot[0]) - self.slot_error)
        else:
            self.slot_error += a_err * (abs(value - self.level) - self.slot_error)
        self.level_error += a_err * (abs(value - self.level) - self.level_error)
        hour = self.hours[t.hour]
        if hour[1] >= 1:
            self.hour_error += a_err * (abs(value - hour[0]) - self.hour_error)
            hour[0] += max(p["alpha_slot"], 1.0 / (hour[1] + 1)) * (value - hour[0])
        else:
            self.hour_error += a_err * (abs(value - self.level) - self.hour_error)
            hour[0] = value
        hour[1] = min(hour[1] + 1, 1e6)
        self.level += p["alpha_level"] * (value - self.level)
        if slot[1] >= 1:
            slot[0] += max(p["alpha_slot"], 1.0 / (slot[1] + 1)) * (value - slot[0])
        else:
            slot[0] = value
        slot[1] = min(slot[1] + 1, 1e6)
        self.step += a_err * (step - self.step)
        self.short_value = short_value
        self.short_step = short_step
        decay = p["alpha_envelope"]
        self.high = max(value, self.high - decay * (self.high - self.level))
        self.low = min(value, self.low + decay * (self.level - self.low))
        self.last = value
        self.seen += 1
