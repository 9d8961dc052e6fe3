"""Online anomaly scores for one sensor's readings, in [0, 1], with no training data.

`AnomalyDetector` is the cauldron's detector; `RollingZScore` is the plain baseline it is
measured against (`bench/anomaly.py`, `bench/nab.py`). Both take readings one at a time,
in O(1) time and memory, and never return NaN.

The idea: a reading is news when it breaks a record of the sensor's own. Each reading
is measured five ways, each in units of what is usual for this sensor:

- *range*: how far it lies beyond the range of the readings so far, in tenths of that
  range. The range widens by at most `range_growth` of itself per reading, so a lone
  outlier does not make the next one ordinary, while a level the sensor keeps visiting
  soon becomes part of it; and an excursion is no news where the sensor has gone as far
  before within `excursion_span_h` hours of this time of day (a nightly backup, the
  afternoon sun on a window);
- *shift*: the recent level's distance from the long-run baseline, over the usual such
  distance (a level shift, a drift, a burst of activity);
- *daily*: the same for the reading less what is usual at this time of day, learnt in
  fixed bins over the day (a daily cycle that fails to happen, or happens wrongly);
- *point*: the reading's distance from the recent level, over the usual such distance
  (a spike, a glitch);
- *stuck*: how many readings in a row have had the same value, against the longest run
  of equal values the sensor has had (a sensor that froze after varying).

Each becomes a ratio R, 1 where a record is just equalled: the range's is 1 for any
reading beyond it, plus 1 per `range_unit` of the range; the shift, daily and point
measures are compared with the largest value they reached before, a record that fades
slowly (half-life `record_half_life` readings) and is never taken below `record_floor`
usual distances, and a point must be `point_factor` times its record to count as much
(noisy sensors spike often; a spike has to stand out from the ones before); a frozen
sensor is reported once, when its run reaches `stuck_factor` times the longest one
before. The score is R⁸ / (1 + R⁸) for the highest R: 0.5 at a record, 0.8 when it is
broken by a fifth. So a sensor's ordinary behaviour (noise, daily cycles, quantised
steps, gaps, a level it has moved to and kept, a sensor that has always been flat)
scores low once seen, whatever its scale, and one threshold serves every sensor. After
a high score, readings that do not go beyond it score half as much for a while (a
refractory period, half-life `refractory_half_life` readings), so an event rings once
rather than on every reading of it.

A new sensor earns trust, as the Numenta Anomaly Benchmark gives a detector a
probationary period: it scores 0 for its first `warmup` readings and `warmup_s`
seconds, then its ratios are multiplied by a confidence that grows from 0 to 1 over the
next `confidence_readings` readings (or in `confidence_s`, if that comes first, for a
sensor that reports seldom). Its range is trusted in proportion to the time it has been
seen, up to a day, because a day is what shows a sensor's usual highs and lows; the
daily measure counts once the sensor has been seen for a whole day. So a sensor's first
cycle teaches rather than alarms, while a fault far beyond anything seen still stands
out within the first hour.

Time constants count readings at the sensor's usual interval, which the detector
learns: after a gap the averages move as far as the elapsed time says.

This borrows ideas from the detectors at the top of the Numenta Anomaly Benchmark
(`bench/nab.py`): HTM's "spatial anomaly" (a value beyond the range seen so far) and
its anomaly likelihood's comparison of a short-term average with the long-run one; the
masking that ARTime applies after an anomaly, and its firing once per novel event;
relative entropy's and CAD OSE's novelty against the sensor's own history; NAB's
probationary period; and the seasonal profile of Holt-Winters.
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
HOUR_S = 3600.0
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
    """Readings scored 0 while the averages and records settle..."""
    warmup_s: float = 1800.0
    """...and seconds: a sensor read every second is not known after a few minutes."""
    confidence_readings: int = 300
    """Readings after the warm-up over which the confidence grows from 0 to 1..."""
    confidence_s: float = 7 * DAY_S
    """...or seconds since the first reading, whichever gives it sooner."""
    fast_tau: float = 10.0
    """The recent level: an average over about this many readings."""
    slow_tau: float = 2000.0
    """The long-run baseline, and how fast usual distances are learnt."""
    day_bins: int = 144
    """The daily profile's bins (10 minutes each)."""
    day_rate: float = 0.05
    """How much of a reading's difference a bin of the daily profile takes in."""
    record_half_life: float = 5000.0
    """How fast a record fades."""
    record_floor: float = 4.0
    """The least record of the shift, daily and point measures, in usual distances."""
    point_factor: float = 2.0
    """A reading's distance from the recent level has a ratio of 1 at this many times its
    record."""
    stuck_floor: float = 10.0
    """The least record of a run of equal readings."""
    stuck_factor: float = 4.0
    """A run of equal readings this many times the record is reported..."""
    stuck_ratio: float = 2.0
    """...with this ratio, once per run."""
    range_base: float = 1.0
    """The ratio of a reading just beyond the range."""
    range_unit: float = 0.1
    """A reading beyond the range has a ratio of 1, plus 1 for each this fraction of the
    range it lies beyond."""
    range_growth: float = 0.1
    """After the warm-up the range widens by at most this fraction of itself per reading."""
    range_trust_s: float = DAY_S
    """The range's ratio is multiplied by the time seen over this, up to 1."""
    excursion_span_h: int = 2
    """An excursion beyond the range is no news if the sensor has gone as far within this
    many hours of the same time of day."""
    refractory_half_life: float = 100.0
    """How fast the memory of a high score fades."""
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


class _Range:
    """The range of a sensor's readings, which widens slowly, and the furthest excursions
    beyond it by hour of the day."""

    __slots__ = ("_highest", "_lowest", "high", "low", "settings")

    def __init__(self, settings: DetectorSettings, start: float) -> None:
        self.settings = settings
        self.low = self.high = start
        self._highest = [-math.inf] * 24
        """The highest reading beyond the range in each hour of the day."""
        self._lowest = [math.inf] * 24

    def ratio(self, value: float, timestamp: float, settled: bool) -> float:
        """The ratio of `value` beyond the range (0 within it, or where the sensor has
        gone as far at about this time of day); then the range takes it in, all of it
        until `settled`, at most `range_growth` of the range after."""
        settings = self.settings
        low, high = self.low, self.high
        if low <= value <= high:
            return 0.0
        width = high - low
        growth = settings.range_growth * width if settled and width > 0.0 else math.inf
        hour = int(timestamp % DAY_S // HOUR_S) % 24
        span = settings.excursion_span_h
        hours = [(hour + step) % 24 for step in range(-span, span + 1)]
        if value > high:
            known = value <= max(self._highest[h] for h in hours)
            self._highest[hour] = max(self._highest[hour], value)
            self.high = min(value, high + growth)
            beyond = value - high
        else:
            known = value >= min(self._lowest[h] for h in hours)
            self._lowest[hour] = min(self._lowest[hour], value)
            self.low = max(value, low - growth)
            beyond = low - value
        unit = settings.range_unit * width
        if known or unit <= 0.0:
            return 0.0
        return settings.range_base + min(beyond / unit, MAX_RATIO)


class AnomalyDetector:
    """Record-breaking scores for one sensor (see the module's docstring for the idea and
    `DetectorSettings` for the knobs)."""

    __slots__ = (
        "_baseline",
        "_day",
        "_day_baseline",
        "_day_fast",
        "_deviation",
        "_fast",
        "_first_time",
        "_keep_record",
        "_keep_refractory",
        "_last_time",
        "_last_value",
        "_log_interval",
        "_mean_weight",
        "_range",
        "_readings",
        "_records",
        "_refractory",
        "_run",
        "_run_record",
        "_run_reported",
        "settings",
    )

    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings = settings or DetectorSettings()
        self._keep_record = math.log(0.5) / settings.record_half_life
        self._keep_refractory = math.log(0.5) / settings.refractory_half_life
        self._readings = 0
        self._mean_weight = 1.0
        """The weight of a running mean: averages are no slower while they have few readings."""
        self._first_time = self._last_time = 0.0
        self._last_value = 0.0
        self._log_interval = 0.0
        self._range = _Range(settings, 0.0)
        self._fast = _Average(0.0)
        self._baseline = _Average(0.0)
        self._deviation = 0.0
        """The usual distance of a reading from the recent level."""
        self._day = [math.nan] * settings.day_bins
        self._day_fast = _Average(0.0)
        self._day_baseline = _Average(0.0)
        self._records = [0.0, 0.0, 0.0]
        """The faded records of the shift, daily and point measures."""
        self._run = 1
        self._run_record = 0.0
        self._run_reported = False
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
        settings = self.settings
        self._mean_weight = 1.0 / self._readings
        steps = self._steps(timestamp)
        age = timestamp - self._first_time
        warming = self._readings <= settings.warmup or age < settings.warmup_s
        range_ratio = self._range.ratio(value, timestamp, not warming)
        point = self._point(value, steps)
        self._fast.mean += self._fast_weight(steps) * (value - self._fast.mean)
        shift = self._shift(self._fast, self._baseline, steps)
        daily = self._daily(timestamp, value, steps)
        stuck = self._stuck(value, steps)
        if warming:
            self._records[:] = (0.0, 0.0, 0.0)
            return 0.0
        measured = self._against_records(
            (shift, daily if age >= DAY_S else 0.0, point / settings.point_factor),
            (shift, daily, point),
            steps,
        )
        trust = min(1.0, age / settings.range_trust_s)
        ratio = max(range_ratio * trust, measured, stuck) * self._confidence(age)
        return self._refract(ratio, steps)

    def _start(self, timestamp: float, value: float) -> None:
        self._first_time = self._last_time = timestamp
        self._last_value = value
        self._range = _Range(self.settings, value)
        for average in (self._fast, self._baseline):
            average.mean = value

    def _confidence(self, age: float) -> float:
        """How far the sensor is trusted after its warm-up, from 0 to 1."""
        settings = self.settings
        readings = (self._readings - settings.warmup) / settings.confidence_readings
        return min(1.0, max(readings, age / settings.confidence_s))

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

    def _point(self, value: float, steps: float) -> float:
        """The reading's distance from the recent level, in usual such distances; then
        the usual distance learns from it."""
        distance = abs(value - self._fast.mean)
        usual = max(self._deviation, 1e-9 * (1.0 + abs(value)))
        point = distance / usual if self._readings > 2 else 0.0
        self._deviation += self._weight(steps, self.settings.slow_tau) * (
            distance - self._deviation
        )
        return point

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
        """The run of equal readings over `stuck_factor` times the longest usual run, up
        to 1, except `stuck_ratio` at the reading where it first reaches 1; 0 for a
        sensor that has never changed."""
        if value != self._last_value:
            self._last_value = value
            faded = self._run_record * math.exp(self._keep_record * steps)
            self._run_record = max(faded, self._run)
            self._run = 1
            self._run_reported = False
            return 0.0
        self._run += 1
        if self._run_record == 0.0:
            return 0.0
        settings = self.settings
        ratio = self._run / (settings.stuck_factor * max(self._run_record, settings.stuck_floor))
        if ratio < 1.0 or self._run_reported:
            return min(ratio, 1.0)
        self._run_reported = True
        return settings.stuck_ratio

    def _against_records(
        self, scored: tuple[float, ...], measures: tuple[float, ...], steps: float
    ) -> float:
        """The highest ratio of the `scored` measures to their records; then the records
        learn the `measures`."""
        records = self._records
        fade = math.exp(self._keep_record * steps)
        floor = self.settings.record_floor
        ratio = 0.0
        for index, measure in enumerate(measures):
            record = records[index]
            if record > 0.0:
                ratio = max(ratio, scored[index] / max(record, floor))
            records[index] = max(record * fade, measure)
        return ratio

    def _refract(self, ratio: float, steps: float) -> float:
        """The score of `ratio`, damped unless it goes beyond the recent highest one."""
        remembered = self._refractory
        self._refractory = max(remembered * math.exp(self._keep_refractory * steps), ratio)
        score = record_score(ratio)
        if ratio <= remembered:
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
