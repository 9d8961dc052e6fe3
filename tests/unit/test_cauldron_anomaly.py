"""The cauldron's anomaly detector: high scores for each kind of fault, quiet ones for
noise, daily cycles, slow drift, gaps and irregular sampling; always a finite score in
[0, 1] from O(1) state; and better than the rolling z-score on the simulator's labels."""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable, Iterable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phantom_cauldron.anomaly import (
    DEFAULT_THRESHOLD,
    AnomalyDetector,
    Detector,
    RollingZScore,
    squash,
)
from phantom_cauldron.scoring import EventCounts, detector_scores, evaluate
from phantom_cauldron.simulator.faults import random_faults
from phantom_cauldron.simulator.model import CauldronSimulator, record
from phantom_cauldron.simulator.sensors import SENSORS

START = 1_795_000_000.0
NOISE = 0.1
Reading = tuple[float, float]


def quiet(count: int, seed: int = 0, period: float = 1.0) -> list[Reading]:
    """Noisy readings around 20 with a slow wave, one every `period` seconds."""
    rng = random.Random(seed)
    return [
        (START + i * period, 20.0 + 0.5 * math.sin(i / 300) + rng.gauss(0.0, NOISE))
        for i in range(count)
    ]


def scores(readings: Iterable[Reading], detector: Detector | None = None) -> list[float]:
    detector = detector or AnomalyDetector()
    return [detector.update(time, value) for time, value in readings]


def alarms(values: list[float]) -> int:
    return sum(score >= DEFAULT_THRESHOLD for score in values)


def with_values(readings: list[Reading], change: Callable[[int, float], float]) -> list[Reading]:
    return [(time, change(i, value)) for i, (time, value) in enumerate(readings)]


def test_quiet_noise_scores_low_and_the_warmup_scores_nothing() -> None:
    result = scores(quiet(5000))
    assert result[:60] == [0.0] * 60
    assert alarms(result) == 0
    assert np.median(result) < 0.01


def test_a_spike_scores_high_at_the_spike() -> None:
    readings = with_values(quiet(3000), lambda i, v: v + 3.0 if i == 2000 else v)
    result = scores(readings)
    assert result[2000] >= DEFAULT_THRESHOLD
    assert alarms(result[:2000]) == 0


def test_a_level_shift_alarms_then_is_accepted() -> None:
    """A lasting shift is news when it happens, and the new normal an hour later."""
    readings = with_values(quiet(6000), lambda i, v: v + 2.0 if i >= 2000 else v)
    result = scores(readings)
    assert max(result[2000:2010]) >= DEFAULT_THRESHOLD
    assert alarms(result[:2000]) == 0
    assert alarms(result[5000:]) == 0


def test_a_drift_alarms_while_it_runs_and_its_end_level_is_then_accepted() -> None:
    """The reading walks away by 5 (50 noise widths, ten times the slow wave's swing)
    over ten minutes, and stays there."""
    readings = with_values(quiet(6000), lambda i, v: v + 5.0 * min(max(i - 2000, 0) / 600, 1))
    result = scores(readings)
    assert alarms(result[:2000]) == 0
    assert max(result[2000:2600]) >= DEFAULT_THRESHOLD
    assert alarms(result[5000:]) == 0


def test_a_stuck_sensor_alarms_while_it_is_stuck() -> None:
    readings = quiet(3000)
    held = readings[2000][1]
    result = scores(with_values(readings, lambda i, v: held if 2000 <= i < 2300 else v))
    assert alarms(result[:2000]) == 0
    assert max(result[2000:2300]) >= DEFAULT_THRESHOLD


def test_a_dropout_alarms_on_the_first_reading_after_it() -> None:
    readings = [reading for i, reading in enumerate(quiet(3000)) if not 2000 <= i < 2060]
    result = scores(readings)
    assert result[2000] >= DEFAULT_THRESHOLD
    assert alarms(result[:2000]) == 0
    assert alarms(result[2010:]) == 0


def test_daily_cycles_and_slow_drift_do_not_alarm() -> None:
    """Three days at one reading a minute: a 6-degree daily swing plus a slow climb."""
    rng = random.Random(1)
    day = 86_400.0
    readings = [
        (
            START + i * 60.0,
            20.0 + 3.0 * math.sin(2 * math.pi * i * 60.0 / day) + i * 1e-4 + rng.gauss(0, NOISE),
        )
        for i in range(3 * 1440)
    ]
    assert alarms(scores(readings)) == 0


def test_irregular_sampling_and_short_gaps_do_not_alarm() -> None:
    """Readings at random intervals (exponential, mean 5 s), as from a lossy radio."""
    rng = random.Random(2)
    time, readings = START, []
    for _ in range(5000):
        time += rng.expovariate(1 / 5.0)
        readings.append((time, 20.0 + rng.gauss(0.0, NOISE)))
    assert alarms(scores(readings)) == 0


def test_readings_delivered_in_bursts_do_not_alarm_for_their_jitter() -> None:
    """Stamped on arrival a millisecond apart, with a 50 ms hiccup now and then (a busy
    broker or app): a hiccup fifty times the usual interval is no dropout."""
    rng = random.Random(4)
    time, readings = START, []
    for i in range(2000):
        time += 0.05 if i % 97 == 96 else 0.001
        readings.append((time, 60.0 + 0.1 * (i % 3) + rng.gauss(0.0, 0.01)))
    assert alarms(scores(readings)) == 0


def test_a_quantised_sensor_that_often_repeats_is_not_stuck() -> None:
    """A slow sensor read at 0.1 resolution repeats its value for minutes on end."""
    readings = [(t, round(v * 2, 0) / 2) for t, v in quiet(5000, seed=3)]
    assert alarms(scores(readings)) == 0


def test_constant_input_scores_zero_and_any_change_after_is_news() -> None:
    detector = AnomalyDetector()
    assert scores(((START + i, 7.0) for i in range(1000)), detector) == [0.0] * 1000
    assert detector.update(START + 1000, 7.5) == 1.0


def test_a_non_finite_value_scores_one_and_changes_nothing() -> None:
    detector = AnomalyDetector()
    scores(quiet(500), detector)
    state = [getattr(detector, name) for name in AnomalyDetector.__slots__]
    assert detector.update(START + 600, math.nan) == 1.0
    assert detector.update(START + 601, math.inf) == 1.0
    assert [getattr(detector, name) for name in AnomalyDetector.__slots__] == state


def test_the_threshold_decides_the_alarm() -> None:
    detector = AnomalyDetector()
    assert detector.threshold == DEFAULT_THRESHOLD
    assert detector.is_alarm(DEFAULT_THRESHOLD)
    assert not detector.is_alarm(DEFAULT_THRESHOLD - 0.01)


def test_squash_maps_deviations_monotonically_into_the_unit_interval() -> None:
    values = [squash(z) for z in (0.0, 1.0, 5.0, 10.0, 1e300, math.inf)]
    assert values[0] == 0.0
    assert values == sorted(values)
    assert values[2] == 0.5
    assert values[-1] <= 1.0
    assert squash(math.nan) == 1.0


@pytest.mark.parametrize("make", [AnomalyDetector, RollingZScore])
def test_state_does_not_grow(make: Callable[[], Detector]) -> None:
    """The state after 100k readings is no bigger than after 1k: O(1) memory."""
    detector = make()
    readings = quiet(100_000)

    def size() -> int:
        total = 0
        for name in type(detector).__slots__:
            value = getattr(detector, name)
            total += sys.getsizeof(value)
            if isinstance(value, Iterable):
                total += sum(sys.getsizeof(item) for item in value)
        return total

    scores(readings[:1000], detector)
    after_1k = size()
    scores(readings[1000:], detector)
    assert size() <= after_1k


finite = st.floats(allow_nan=False, allow_infinity=False)
readings_strategy = st.lists(
    st.tuples(st.floats(min_value=0.0, max_value=1e12, allow_nan=False), finite),
    min_size=1,
    max_size=300,
)


@pytest.mark.parametrize("make", [AnomalyDetector, RollingZScore])
@settings(max_examples=200, deadline=None)
@given(steps=readings_strategy, start=finite)
def test_scores_are_finite_and_in_the_unit_interval(
    make: Callable[[], Detector], steps: list[tuple[float, float]], start: float
) -> None:
    """Any NaN-free input, however extreme, with any gaps (and time going backwards)."""
    detector = make()
    time = start
    for elapsed, value in steps:
        time += elapsed * (-1 if value < 0 and elapsed > 1e11 else 1)
        score = detector.update(time, value)
        assert 0.0 <= score <= 1.0
        assert math.isfinite(score)


@pytest.mark.parametrize("make", [AnomalyDetector, RollingZScore])
@settings(max_examples=50, deadline=None)
@given(value=finite, count=st.integers(min_value=1, max_value=400))
def test_a_constant_input_never_alarms(
    make: Callable[[], Detector], value: float, count: int
) -> None:
    detector = make()
    assert all(detector.update(START + i, value) == 0.0 for i in range(count))


def simulator_events(seeds: Iterable[int]) -> dict[str, EventCounts]:
    """Each detector's events over 4-hour simulator runs, every sensor."""
    totals = {"detector": EventCounts(), "baseline": EventCounts()}
    duration = 4 * 3600.0
    for seed in seeds:
        faults = random_faults(seed, SENSORS, START, duration)
        run = record(CauldronSimulator(seed, START, faults), duration, 1.0)
        for key, values in run.readings.items():
            windows = [(f.start, f.end) for f in faults if f.sensor_id == key]
            for name, factory in (("detector", AnomalyDetector), ("baseline", RollingZScore)):
                result = detector_scores(factory, run.times, values)
                totals[name] += evaluate(result, run.times, windows, DEFAULT_THRESHOLD, 120.0)
    return totals


def test_f1_on_the_simulators_labels_clears_the_bar_and_beats_the_baseline() -> None:
    """Seeds 10-12, 4 h each, all 8 sensors, at the default threshold, 120 s tolerance.

    Measured: the detector finds all 17 windows with 3 false alarms (F1 0.92); the
    rolling z-score finds 11 with none (F1 0.79). Over seeds 10-21 the detector's F1 per
    run ranges 0.71-1.0 (all false alarms are natural pH excursions after ingredient
    additions), so the bar is 0.8 on the three-run total: low enough to survive tuning
    and a different draw of faults, high enough to fail if any kind stops being found
    (each kind is about a fifth of the windows) or false alarms double.
    """
    totals = simulator_events((10, 11, 12))
    ours, baseline = totals["detector"], totals["baseline"]
    assert ours.f1 >= 0.8
    assert ours.recall >= 0.9
    assert ours.f1 > baseline.f1
