"""Alarm episodes, the one alarm policy that charts and alarms share, and the sampling
of readings for the audit log."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phantom_cauldron.alarms import AlarmPolicy, AlarmTracker
from phantom_cauldron.readings import SensorReading
from phantom_cauldron.sampling import ReadingSampler
from phantom_cauldron.scoring import alarmed
from phantom_cauldron.series import SeriesStore


def reading(score: float, at: float = 0.0, sensor: str = "core/DS18B20-1") -> SensorReading:
    return SensorReading(sensor, "temperature", 60.0, "°C", at, "core", score)


def test_an_alarm_is_raised_once_while_the_score_stays_high_and_cleared_once_it_falls() -> None:
    alarms = AlarmTracker(AlarmPolicy(0.8, 0.48))
    changes = [alarms.update(reading(score)) for score in (0.1, 0.85, 0.95, 0.7, 0.9, 0.3, 0.2)]
    kinds = [change.state if change else None for change in changes]
    assert kinds == [None, "raised", None, None, None, "cleared", None]
    cleared = changes[5]
    assert cleared is not None and cleared.peak == 0.95
    assert cleared.to_dict()["sensor_id"] == "core/DS18B20-1"
    assert alarms.raised == 0


def test_alarms_are_kept_per_series() -> None:
    alarms = AlarmTracker(AlarmPolicy(0.8, 0.48))
    assert alarms.update(reading(0.9, sensor="a")) is not None
    assert alarms.update(reading(0.9, sensor="b")) is not None
    assert alarms.update(reading(0.9, sensor="a")) is None
    assert alarms.raised == 2


def test_the_sampler_passes_one_reading_per_series_per_interval() -> None:
    sampler = ReadingSampler(interval=10.0)
    taken = [sampler.take(reading(0.0, at=t)) for t in (0, 3, 9.9, 10, 15, 21)]
    assert taken == [True, False, False, True, False, True]
    assert sampler.take(reading(0.0, at=3, sensor="other"))


def test_a_zero_interval_records_every_reading() -> None:
    sampler = ReadingSampler(interval=0.0)
    assert all(sampler.take(reading(0.0, at=1.0)) for _ in range(5))


scores_strategy = st.lists(
    st.one_of(st.floats(min_value=0.0, max_value=1.0), st.just(math.nan)), max_size=60
)


@settings(max_examples=200, deadline=None)
@given(
    scores=scores_strategy,
    threshold=st.floats(min_value=0.05, max_value=1.0),
    fraction=st.floats(min_value=0.05, max_value=1.0),
)
def test_a_reading_is_marked_on_the_chart_exactly_when_its_series_is_in_alarm(
    scores: list[float], threshold: float, fraction: float
) -> None:
    """One policy: the chart marks a reading iff the alarm tracker has the series in
    alarm after it, and the event-level scoring counts the very same readings."""
    policy = AlarmPolicy(threshold, threshold * fraction)
    store = SeriesStore(alarm_policy=policy)
    tracker = AlarmTracker(policy)
    in_alarm = []
    for second, score in enumerate(scores):
        scored = reading(score, at=float(second))
        store.add(scored)
        tracker.update(scored)
        in_alarm.append(tracker.raised == 1)
    series = store.get("temperature", "core/DS18B20-1")
    marked = {marker.timestamp for marker in series.markers} if series else set()
    assert marked == {float(second) for second, alarm in enumerate(in_alarm) if alarm}
    assert alarmed(np.array(scores, dtype=float), policy).tolist() == in_alarm


def test_a_policy_refuses_a_clear_level_above_its_threshold() -> None:
    with pytest.raises(ValueError, match="clear"):
        AlarmPolicy(0.5, 0.6)
