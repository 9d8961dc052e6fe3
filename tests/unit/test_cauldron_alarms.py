"""Alarm episodes and the sampling of readings for the audit log."""

from __future__ import annotations

from phantom_cauldron.alarms import AlarmTracker
from phantom_cauldron.readings import SensorReading
from phantom_cauldron.sampling import ReadingSampler


def reading(score: float, at: float = 0.0, sensor: str = "core/DS18B20-1") -> SensorReading:
    return SensorReading(sensor, "temperature", 60.0, "°C", at, "core", score)


def test_an_alarm_is_raised_once_while_the_score_stays_high_and_cleared_once_it_falls() -> None:
    alarms = AlarmTracker(threshold=0.8)
    changes = [alarms.update(reading(score)) for score in (0.1, 0.85, 0.95, 0.7, 0.9, 0.3, 0.2)]
    kinds = [change.state if change else None for change in changes]
    assert kinds == [None, "raised", None, None, None, "cleared", None]
    cleared = changes[5]
    assert cleared is not None and cleared.peak == 0.95
    assert cleared.to_dict()["sensor_id"] == "core/DS18B20-1"
    assert alarms.raised == 0


def test_alarms_are_kept_per_series() -> None:
    alarms = AlarmTracker(threshold=0.8)
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
