"""Online anomaly scores for one sensor's readings, in [0, 1], with no training data.

`AnomalyDetector` is the cauldron's detector; `RollingZScore` is the plain baseline it is
measured against (`bench/anomaly.py`, `bench/nab.py`). Both take readings one at a time,
in O(1) time and memory, and never return NaN.

The idea: a reading is news when it breaks a record of the sensor's own. Each reading
is measured four ways, each in units of what is usual for this sensor:

- *range*: whether it lies beyond the lowest or highest reading ever seen (a reading
  outside anything the sensor has shown), and by what fraction of that range;
- *shift*: the recent level's distance from the long-run baseline, over the usual such
  distance (a spike, a level shift, a drift, a burst of activity);
- *daily*: the same for the reading less what is usual at this time of day, learnt in
  fixed bins over the day (a daily cycle that fails to happen, or happens wrongly);
- *stuck*: how many readings in a row have had the same value, against the longest run
  of equal values the sensor has had (a sensor that froze after varying).

Each becomes a ratio R, 1 where a record is just equalled: the range's is 1 for any
reading beyond it, plus 1 per `range_unit` of the range; the shift and daily measures
are compared with the largest value they reached before, a record that fades slowly
(half-life `record_half_life` readings) and is never taken below `record_floor` usual
distances; a run of equal readings with `stuck_factor` times the longest run before.
The score is R⁸ / (1 + R⁸) for the highest R: 0.5 at a record, 0.8 when it is broken
by a fifth. So a sensor's ordinary behaviour (noise, daily cycles, quantised steps,
gaps, a level it has moved to and kept, a sensor that has always been flat) scores
low once seen, whatever its scale, and one threshold serves every sensor. After a high
score, readings that do not go beyond it score half as much for a while (a refractory
period, half-life `refractory_half_life` readings), so an event rings once rather than
on every reading of it.

Time constants count readings at the sensor's usual interval, which the detector
learns: after a gap the averages move as far as the elapsed time says.

This borrows ideas from the detectors at the top of the Numenta Anomaly Benchmark
(`bench/nab.py`): HTM's "spatial anomaly" (a value beyond the range seen so far) and
its anomaly likelihood's comparison of a short-term average with the long-run one; the
masking that ARTime applies after an anomaly, and its firing once per novel event;
relative entropy's and CAD OSE's novelty against the sensor's own history; and the
seasonal profile of Holt-Winters.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Protocol

MAX_MAGNITUDE = 1e150
"""Inputs are clipped to ±this, so differences of them stay finite."""
MAX_RATIO = 1e6
MIN_INTERVAL_S = 1e-9
"""Shorter times between readings are taken as this long."""
DAY_S = 86_400.0
SCORE_POWER = 8
"""The score is R^SCORE_POWER / (1 + R^SCORE_POWER) for a ratio R to the record."""
Z_HALF = 5.0
"""For the baseline: the deviation, in standard deviations, that scores 0.5."""


class Detector(Protocol):
    """What scores a sensor's readings: the cauldron's detector, its baseline, or another."""

    def update(self, timestamp: float, value: float) -> float:
        """The anomaly score of `value` read at `timestamp` (seconds), in [0, 1]."""
        ...


def record_score(ratio: float) -> float:
    """A ratio to the record (1: a record equalled) as a score in [0, 1]: 0.5 at 1."""
    if math.isnan(ratio):
        return 1.0
    power = min(abs(ratio), MAX_RATIO) ** SCORE_POWER
    return power / (1.0 + power)


def squash(z: float) -> float:
    """A deviation of `z` standard deviations as a score in [0, 1]: 0.5 at `Z_HALF`."""
    if math.isnan(z):
        return 1.0
    z4 = (min(abs(z), MAX_RATIO) / Z_HALF) ** 4
    return z4 / (1.0 + z4)


def _clip(value: float) -> float:
    return max(-MAX_MAGNITUDE, min(MAX_MAGNITUDE, value))


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """Time constants and half-lives are in readings at the sensor's usual interval."""

    warmup: int = 150
    """Readings scored 0 while the averages and records settle."""
    fast_tau: float = 10.0
    """The recent level: an average over about this many readings."""
    slow_tau: float = 2000.0
    """The long-run baseline, and how fast the usual distance from it is learnt."""
    day_bins: int = 144
    """The daily profile's bins (10 minutes each)."""
    day_rate: float = 0.05
    """How much of a reading's difference a bin of the daily profile takes in."""
    record_half_life: float = 5000.0
    """How fast a record fades."""
    record_floor: float = 4.0
    """The least record of the shift and daily measures, in usual distances."""
    stuck_floor: float = 10.0
    """The least record of a run of equal readings."""
    stuck_factor: float = 4.0
    """A run of equal readings this many times the record has a ratio of 1."""
    range_base: float = 1.0
    """The ratio of a reading just beyond the range."""
    range_unit: float = 0.1
    """A reading beyond the range has a ratio of 1, plus 1 for each this fraction of the
    range it lies beyond."""
    refractory_half_life: float = 100.0
    """How fast the memory of a high score fades."""
    refractory_margin: float = 1.0
    """A ratio must go this many times beyond the remembered one not to be damped."""
    refractory_damping: float = 0.5
    """What the score of a ratio that does not go beyond the remembered one is multiplied
    by."""
    interval_tau: float = 100.0
    """Readings over which the usual interval is learnt."""


class _Average:
    """An exponentially weighted mean and the mean absolute distance of the input from it."""

    __slots__ = ("distance", "mean")

    def __init__(self, start: float) -> None:
        self.mean = start
        self.distance = 0.0


class AnomalyDetector:
    """Record-breaking scores for one sensor (see the module's docstring for the idea and
    `DetectorSettings` for the knobs)."""

    __slots__ = (
        "_baseline",
        "_day",
        "_day_baseline",
        "_day_fast",
        "_fast",
        "_high",
        "_keep_record",
        "_keep_refractory",
        "_last_time",
        "_last_value",
        "_log_interval",
        "_low",
        "_mean_weight",
        "_readings",
        "_records",
        "_refractory",
        "_run",
        "_run_record",
        "settings",
    )

    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings = settings or DetectorSettings()
        self._keep_record = math.log(0.5) / settings.record_half_life
        self._keep_refractory = math.log(0.5) / settings.refractory_half_life
        self._readings = 0
        self._mean_weight = 1.0
        """The weight of a running mean: averages are no slower while they have few readings."""
        self._last_time = 0.0
        self._last_value = 0.0
        self._log_interval = 0.0
        self._low = self._high = 0.0
        self._fast = _Average(0.0)
        self._baseline = _Average(0.0)
        self._day = [math.nan] * settings.day_bins
        self._day_fast = _Average(0.0)
        self._day_baseline = _Average(0.0)
        self._records = [0.0, 0.0]
        """The faded records of the shift and daily measures."""
        self._run = 1
        self._run_record = 0.0
        self._refractory = 0.0

    def update(self, timestamp: float, value: float) -> float:
        """The score of `value` read at `timestamp` (seconds); a non-finite value scores 1
        and is otherwise ignored."""
        if not math.isfinite(value):
            return 1.0
        value = _clip(value)
        timestamp = _clip(timestamp) if math.isfinite(timestamp) else self._last_time
        self._readings += 1
        if self._readings == 1:
            self._start(timestamp, value)
            return 0.0
        self._mean_weight = 1.0 / self._readings
        steps = self._steps(timestamp)
        range_ratio = self._beyond_range(value)
        self._follow(value, steps)
        shift = self._shift(self._fast, self._baseline, steps)
        daily = self._daily(timestamp, value, steps)
        stuck = self._stuck(value, steps)
        if self._readings <= self.settings.warmup:
            self._records[:] = (0.0, 0.0)
            return 0.0
        ratio = max(range_ratio, self._against_records(shift, daily, steps), stuck)
        return self._refract(ratio, steps)

    def _start(self, timestamp: float, value: float) -> None:
        self._last_time = timestamp
        self._last_value = self._low = self._high = value
        for average in (self._fast, self._baseline):
            average.mean = value

    def _weight(self, steps: float, tau: float) -> float:
        """The EWMA weight for `steps` readings at time constant `tau`, a running mean
        while there are fewer readings than `tau`."""
        return max(-math.expm1(-steps / tau), self._mean_weight)

    def _fast_weight(self, steps: float) -> float:
        """The recent level's weight: one reading's at most, so that after a gap a single
        reading, noise and all, does not become the level."""
        return self._weight(min(steps, 1.0), self.settings.fast_tau)

    def _steps(self, timestamp: float) -> float:
        """The time since the last reading in usual intervals; learns the usual interval."""
        elapsed = timestamp - self._last_time
        self._last_time = max(timestamp, self._last_time)
        if elapsed <= 0.0:
            return 1.0
        log_elapsed = math.log(max(elapsed, MIN_INTERVAL_S))
        if self._readings == 2:
            self._log_interval = log_elapsed
            return 1.0
        deviation = log_elapsed - self._log_interval
        weight = max(1.0 / self.settings.interval_tau, self._mean_weight)
        self._log_interval += weight * max(-1.0, min(1.0, deviation))
        return min(math.exp(deviation), MAX_RATIO)

    def _beyond_range(self, value: float) -> float:
        """The ratio of `value` beyond every earlier reading: 0 within their range, else 1
        plus its distance beyond in `range_unit`s of the range."""
        settings = self.settings
        low, high = self._low, self._high
        if value > high:
            self._high = value
            beyond = value - high
        elif value < low:
            self._low = value
            beyond = low - value
        else:
            return 0.0
        unit = settings.range_unit * (high - low)
        if unit <= 0.0:
            return 0.0
        return settings.range_base + min(beyond / unit, MAX_RATIO)

    def _follow(self, value: float, steps: float) -> None:
        """Moves the recent level towards `value`."""
        fast = self._fast
        fast.mean += self._fast_weight(steps) * (value - fast.mean)

    def _shift(self, fast: _Average, baseline: _Average, steps: float) -> float:
        """The recent level's distance from the long-run baseline, in usual distances; then
        the baseline and the usual distance learn from it."""
        weight = self._weight(steps, self.settings.slow_tau)
        difference = fast.mean - baseline.mean
        distance = abs(difference)
        usual = max(baseline.distance, 1e-9 * (1.0 + abs(baseline.mean)))
        baseline.distance += weight * (distance - baseline.distance)
        baseline.mean += weight * difference
        return distance / usual

    def _daily(self, timestamp: float, value: float, steps: float) -> float:
        """The shift of the reading less its time of day's usual value."""
        settings = self.settings
        day = self._day
        slot = int(timestamp % DAY_S / DAY_S * settings.day_bins) % settings.day_bins
        usual = day[slot]
        if math.isnan(usual):
            usual = value
        day[slot] = usual + settings.day_rate * (value - usual)
        fast = self._day_fast
        fast.mean += self._fast_weight(steps) * (value - usual - fast.mean)
        return self._shift(fast, self._day_baseline, steps)

    def _stuck(self, value: float, steps: float) -> float:
        """The run of equal readings over the longest usual run; 0 for a sensor that has
        never changed."""
        if value != self._last_value:
            self._last_value = value
            faded = self._run_record * math.exp(self._keep_record * steps)
            self._run_record = max(faded, self._run)
            self._run = 1
            return 0.0
        self._run += 1
        if self._run_record == 0.0:
            return 0.0
        settings = self.settings
        return self._run / (settings.stuck_factor * max(self._run_record, settings.stuck_floor))

    def _against_records(self, shift: float, daily: float, steps: float) -> float:
        """The higher ratio of the shift and daily measures to their records; then updates
        the records."""
        records = self._records
        fade = math.exp(self._keep_record * steps)
        floor = self.settings.record_floor
        ratio = 0.0
        for index, measure in enumerate((shift, daily)):
            record = records[index]
            if record > 0.0:
                ratio = max(ratio, measure / max(record, floor))
            records[index] = max(record * fade, measure)
        return ratio

    def _refract(self, ratio: float, steps: float) -> float:
        """The score of `ratio`, damped unless it goes beyond the recent highest one."""
        remembered = self._refractory
        self._refractory = max(remembered * math.exp(self._keep_refractory * steps), ratio)
        score = record_score(ratio)
        if ratio <= remembered * self.settings.refractory_margin:
            return score * self.settings.refractory_damping
        return score


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
    )

    def __init__(self, window: int = 60, min_samples: int = 10) -> None:
        self.min_samples = min_samples
        self._values: deque[float] = deque(maxlen=window)
        self._origin = 0.0
        """The sums are of readings minus this, so they keep their digits."""
        self._sum = 0.0
        self._sum_squares = 0.0
        self._since_rebase = 0

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
