"""Online anomaly scores for one sensor's readings, in [0, 1], with no training data.

`AnomalyDetector` is the cauldron's detector; `RollingZScore` is the plain baseline it is
measured against (`bench/anomaly.py`). Both take readings one at a time, in O(1) time
and memory, and never return NaN.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Protocol

DEFAULT_THRESHOLD = 0.8
"""A score at or above this is an alarm (the cauldron plugin's default too)."""
Z_HALF = 5.0
"""The deviation, in standard deviations, that scores 0.5."""
MAX_MAGNITUDE = 1e150
"""Inputs are clipped to ±this, so sums and squares of them stay finite."""
MAX_Z = 1e6
MIN_INTERVAL_S = 1e-9
"""Shorter times between readings are taken as this long."""
NORMAL_MAD_TO_SD = math.sqrt(math.pi / 2)
"""A normal distribution's standard deviation over its mean absolute deviation."""


class Detector(Protocol):
    """What scores a sensor's readings: the cauldron's detector, its baseline, or another."""

    def update(self, timestamp: float, value: float) -> float:
        """The anomaly score of `value` read at `timestamp` (seconds), in [0, 1]."""
        ...


def squash(z: float) -> float:
    """A deviation of `z` standard deviations as a score in [0, 1]: 0.5 at `Z_HALF`."""
    if math.isnan(z):
        return 1.0
    z = min(abs(z), MAX_Z) / Z_HALF
    z4 = z**4
    return z4 / (1.0 + z4)


def _clip(value: float) -> float:
    return max(-MAX_MAGNITUDE, min(MAX_MAGNITUDE, value))


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """Time constants are in typical sampling intervals, which the detector measures."""

    threshold: float = DEFAULT_THRESHOLD
    warmup: int = 60
    """Readings scored 0 while the estimates settle."""
    level_alpha: float = 0.3
    """How much of a reading's surprise the level takes in, per interval."""
    trend_beta: float = 0.05
    """How much of the level's change the trend takes in."""
    trend_damping: float = 0.95
    """Per interval, in (0, 1): a forecast across a gap extrapolates the trend only so far."""
    spread_tau: float = 100.0
    """How fast the usual size of a forecast's error is learned."""
    huber: float = 3.0
    """Residuals beyond this many spreads move the estimates only this far."""
    baseline_tau: float = 600.0
    """The slow baseline that the level is compared with, to find drift and lasting shifts."""
    drift_warmup: int = 600
    """Readings before drift is scored, while the usual distance from the baseline settles."""
    drift_tau: float = 3000.0
    """How fast the usual distance between level and baseline is learned."""
    stuck_factor: float = 3.0
    """A run of equal readings this many times the longest usual run scores 0.5."""
    stuck_memory_tau: float = 5000.0
    """Readings over which the longest usual run is forgotten."""
    min_changes: int = 10
    """A sensor must have changed value this often before an unchanging one is suspect."""
    gap_factor: float = 5.0
    """On regular sampling, a gap this many intervals long scores 0.5."""
    min_gap_s: float = 1.0
    """Shorter silences never score: readings stamped on arrival jitter by milliseconds when
    a broker delivers in bursts or the app is busy, and nobody calls so short a silence a
    dropout."""
    interval_tau: float = 100.0
    """Readings over which the usual interval is learned."""


class AnomalyDetector:
    """Robust, time-aware scores for one sensor; see `DetectorSettings` for the knobs.

    Four deviations, each in standard deviations, the largest of which is squashed:
    the reading against a robust Holt forecast (level and trend, Huber-clipped updates)
    over an EWMA of absolute residuals; the level against a slow baseline over the usual
    distance between them (drift, lasting shifts); an unchanging value against the
    longest usual run (a stuck sensor); the time since the last reading against the
    usual interval (dropouts). Updates decay by elapsed time, so gaps and irregular
    sampling need no special care, and the usual distances adapt, so slow change and
    daily cycles stop alarming.
    """

    __slots__ = (
        "_baseline",
        "_changes",
        "_drift_spread",
        "_gap_floor",
        "_interval_weight",
        "_keep_level",
        "_keep_longest_run",
        "_last_time",
        "_last_value",
        "_level",
        "_log_interval",
        "_log_interval_spread",
        "_longest_run",
        "_mean_weight",
        "_readings",
        "_resolution",
        "_run",
        "_spread",
        "_trend",
        "settings",
        "threshold",
    )

    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings = settings or DetectorSettings()
        self.threshold = settings.threshold
        self._gap_floor = math.log(settings.gap_factor) / Z_HALF
        """The least spread of the log intervals: `gap_factor` intervals score 0.5."""
        self._interval_weight = -math.expm1(-1.0 / settings.interval_tau)
        self._keep_level = math.log1p(-settings.level_alpha)
        """The log of the share of the level that one interval keeps."""
        self._keep_longest_run = math.exp(-1.0 / settings.stuck_memory_tau)
        self._readings = 0
        self._mean_weight = 1.0
        """The weight of a running mean: EWMAs are no slower while they have few readings."""
        self._last_time = 0.0
        self._last_value = 0.0
        self._level = 0.0
        self._trend = 0.0
        self._spread = 0.0
        self._baseline = 0.0
        self._drift_spread = 0.0
        self._resolution = math.inf
        self._log_interval = 0.0
        self._log_interval_spread = 0.0
        self._run = 1
        self._longest_run = 1.0
        self._changes = 0

    def is_alarm(self, score: float) -> bool:
        """Whether `score` raises an alarm."""
        return score >= self.threshold

    def update(self, timestamp: float, value: float) -> float:
        """The score of `value` read at `timestamp` (seconds); a non-finite value scores 1
        and is otherwise ignored."""
        if not math.isfinite(value):
            return 1.0
        if not -MAX_MAGNITUDE <= value <= MAX_MAGNITUDE:
            value = _clip(value)
        if not -MAX_MAGNITUDE <= timestamp <= MAX_MAGNITUDE:
            timestamp = _clip(timestamp) if math.isfinite(timestamp) else self._last_time
        self._readings += 1
        if self._readings == 1:
            self._start(timestamp, value)
            return 0.0
        self._mean_weight = 1.0 / (self._readings - 1)
        elapsed = max(timestamp - self._last_time, 0.0)
        self._last_time = max(timestamp, self._last_time)
        gap_z = self._gap_z(elapsed)
        steps = self._steps(elapsed)
        learn_spread = value != self._last_value or self._run < self._longest_run
        value_z = self._forecast(value, steps, learn_spread)
        drift_z = self._drift(steps)
        stuck_z = self._stuck(value)
        if self._readings <= self.settings.warmup:
            return 0.0
        if self._readings <= self.settings.drift_warmup:
            drift_z = 0.0
        return squash(max(value_z, drift_z, stuck_z, gap_z))

    def _start(self, timestamp: float, value: float) -> None:
        self._last_time = timestamp
        self._last_value = self._level = self._baseline = value

    def _weight(self, steps: float, tau: float) -> float:
        """The EWMA weight for `steps` intervals at time constant `tau`, a running mean
        while there are fewer readings than `tau`."""
        return max(-math.expm1(-steps / tau), self._mean_weight)

    def _floor(self, level: float) -> float:
        """The least spread: the readings' resolution (the smallest change seen), and a
        trace of `level` so that a constant sensor divides by no zero."""
        return max(
            0.0 if math.isinf(self._resolution) else self._resolution, 1e-9 * (1.0 + abs(level))
        )

    def _gap_z(self, elapsed: float) -> float:
        """How unusual the time since the last reading is; learns the usual interval."""
        if elapsed <= 0.0:
            return 0.0
        log_elapsed = math.log(max(elapsed, MIN_INTERVAL_S))
        if self._readings == 2:
            self._log_interval = log_elapsed
            return 0.0
        spread = max(self._log_interval_spread * NORMAL_MAD_TO_SD, self._gap_floor)
        deviation = log_elapsed - self._log_interval
        clipped = max(-self.settings.huber * spread, min(self.settings.huber * spread, deviation))
        weight = max(self._interval_weight, self._mean_weight)
        self._log_interval += weight * clipped
        self._log_interval_spread += weight * (abs(clipped) - self._log_interval_spread)
        if elapsed < self.settings.min_gap_s:
            return 0.0
        return max(deviation, 0.0) / spread

    def _steps(self, elapsed: float) -> float:
        """`elapsed` in usual intervals."""
        return min(elapsed / math.exp(self._log_interval), MAX_Z)

    def _forecast(self, value: float, steps: float, learn_spread: bool) -> float:
        """The reading's deviation from the forecast; updates level and trend, and the
        spread unless told not to (a value repeated beyond the usual run says nothing of
        the noise)."""
        settings = self.settings
        damping = settings.trend_damping
        decay = math.pow(damping, steps)
        forecast = self._level + self._trend * damping * (1.0 - decay) / (1.0 - damping)
        residual = value - forecast
        floor = self._floor(forecast)
        spread = max(self._spread * math.sqrt(max(steps, 1.0)), floor)
        limit = settings.huber * spread
        clipped = max(-limit, min(limit, residual))
        alpha = max(-math.expm1(steps * self._keep_level), self._mean_weight)
        self._level = forecast + alpha * clipped
        self._trend = self._trend * decay + settings.trend_beta * alpha * clipped / max(steps, 1.0)
        if learn_spread:
            self._spread += self._weight(steps, settings.spread_tau) * (abs(clipped) - self._spread)
        return abs(residual) / (spread * NORMAL_MAD_TO_SD)

    def _drift(self, steps: float) -> float:
        """The level's distance from the slow baseline, against the usual distance."""
        settings = self.settings
        spread = max(self._drift_spread, self._floor(self._level))
        limit = settings.huber * spread
        distance = self._level - self._baseline
        clipped = max(-limit, min(limit, distance))
        self._baseline += self._weight(steps, settings.baseline_tau) * clipped
        self._drift_spread += self._weight(steps, settings.drift_tau) * (
            abs(clipped) - self._drift_spread
        )
        return abs(distance) / (spread * NORMAL_MAD_TO_SD)

    def _stuck(self, value: float) -> float:
        """How long the value has not changed, against the longest usual run; zero where
        the noise is too small to change the reading at its resolution."""
        settings = self.settings
        self._longest_run *= self._keep_longest_run
        if value != self._last_value:
            self._resolution = min(self._resolution, abs(value - self._last_value))
            if self._run < settings.stuck_factor * self._longest_run:
                self._longest_run = max(self._longest_run, self._run)
            self._changes += 1
            self._run = 1
            self._last_value = value
            return 0.0
        self._run += 1
        noisy = self._spread * NORMAL_MAD_TO_SD >= 0.5 * self._resolution
        if self._changes < settings.min_changes or not noisy:
            return 0.0
        return Z_HALF * self._run / (settings.stuck_factor * max(self._longest_run, 1.0))


class RollingZScore:
    """The baseline: |z| of each reading against the mean and standard deviation of the
    last `window` readings, squashed like the detector's."""

    __slots__ = (
        "_origin",
        "_since_rebase",
        "_sum",
        "_sum_squares",
        "_values",
        "min_samples",
        "threshold",
    )

    def __init__(
        self, window: int = 60, threshold: float = DEFAULT_THRESHOLD, min_samples: int = 10
    ) -> None:
        self.threshold = threshold
        self.min_samples = min_samples
        self._values: deque[float] = deque(maxlen=window)
        self._origin = 0.0
        """The sums are of readings minus this, so they keep their digits."""
        self._sum = 0.0
        self._sum_squares = 0.0
        self._since_rebase = 0

    def is_alarm(self, score: float) -> bool:
        """Whether `score` raises an alarm."""
        return score >= self.threshold

    def update(self, timestamp: float, value: float) -> float:
        """The score of `value` (the time is not used); a non-finite value scores 1."""
        if not math.isfinite(value):
            return 1.0
        value = _clip(value)
        values = self._values
        if not values:
            self._origin = value
        score = self._score(value - self._origin)
        if len(values) == values.maxlen:
            oldest = values[0] - self._origin
            self._sum -= oldest
            self._sum_squares -= oldest * oldest
        values.append(value)
        shifted = value - self._origin
        self._sum += shifted
        self._sum_squares += shifted * shifted
        self._since_rebase += 1
        if self._since_rebase >= len(values):
            self._rebase()
        return score

    def _score(self, shifted: float) -> float:
        count = len(self._values)
        if count < self.min_samples:
            return 0.0
        mean = self._sum / count
        std = math.sqrt(max(self._sum_squares / count - mean * mean, 0.0))
        deviation = abs(shifted - mean)
        tiny = 1e-12 * (1.0 + abs(self._origin + mean))
        if std > tiny:
            return squash(deviation / std)
        return 1.0 if deviation > tiny else 0.0

    def _rebase(self) -> None:
        """Recompute the sums exactly, around the window's mean (amortised O(1))."""
        values = self._values
        self._origin = math.fsum(values) / len(values)
        self._sum = math.fsum(v - self._origin for v in values)
        self._sum_squares = math.fsum((v - self._origin) ** 2 for v in values)
        self._since_rebase = 0
