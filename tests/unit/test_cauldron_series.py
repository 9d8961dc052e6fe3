"""The cauldron's series store: ring buffers, downsampled history, staleness, markers, names."""

from __future__ import annotations

import math

import numpy as np
import pytest

from phantom_cauldron.alarms import AlarmPolicy
from phantom_cauldron.readings import SensorReading
from phantom_cauldron.series import (
    BLOCK,
    History,
    Ring,
    SeriesStore,
    StalenessRule,
    display_names,
)


def reading(
    timestamp: float,
    value: float = 1.0,
    sensor_id: str = "cauldron-core/DS18B20-1",
    quantity: str = "temperature",
    score: float | None = None,
    unit: str | None = "°C",
) -> SensorReading:
    return SensorReading(sensor_id, quantity, value, unit, timestamp, anomaly_score=score)


def test_readings_land_in_one_series_per_quantity_and_sensor() -> None:
    store = SeriesStore()
    store.add(reading(1.0, 20.0))
    store.add(reading(2.0, 21.0))
    store.add(reading(2.0, 55.0, quantity="humidity", unit="%"))
    store.add(reading(3.0, 30.0, sensor_id="crypt/th"))

    assert set(store.quantities) == {"temperature", "humidity"}
    assert list(store.quantities["temperature"].series) == ["cauldron-core/DS18B20-1", "crypt/th"]
    assert store.quantities["humidity"].units == ["%"]
    series = store.get("temperature", "cauldron-core/DS18B20-1")
    assert series is not None
    times, values = series.points()
    assert times.tolist() == [1.0, 2.0]
    assert values.tolist() == [20.0, 21.0]
    assert store.newest == 3.0


def test_the_ring_keeps_the_latest_readings_in_order_after_wrapping_around() -> None:
    store = SeriesStore(capacity=1_000)
    for i in range(2_345):
        store.add(reading(float(i), float(i), score=i / 10_000))
    series = store.get("temperature", "cauldron-core/DS18B20-1")
    assert series is not None

    recent = series.recent()
    assert series.held == 1_000
    assert recent.times.tolist() == [float(i) for i in range(1_345, 2_345)]
    assert recent.values.tolist() == recent.times.tolist()
    assert recent.scores == pytest.approx(recent.times / 10_000)


def test_unscored_readings_have_nan_scores() -> None:
    store = SeriesStore()
    store.add(reading(1.0))
    series = store.get("temperature", "cauldron-core/DS18B20-1")
    assert series is not None
    assert math.isnan(series.recent().scores[0])


def test_reads_are_copies_that_later_readings_do_not_change() -> None:
    store = SeriesStore(capacity=BLOCK)
    for i in range(BLOCK):
        store.add(reading(float(i), 1.0))
    series = store.get("temperature", "cauldron-core/DS18B20-1")
    assert series is not None
    before = series.recent().values
    for i in range(BLOCK, 2 * BLOCK):
        store.add(reading(float(i), 2.0))
    series.recent()
    assert before.tolist() == [1.0] * BLOCK


def test_the_ring_hands_out_its_readings_as_one_contiguous_slice_at_any_fill() -> None:
    """Written twice, the ring never concatenates: what a frame reads is a view."""
    ring = Ring(rows=2, capacity=1_000, first_allocation=64)
    written = 0
    for block in (10, 54, 100, 300, 999, 1_000, 1_500, 7, 333):
        ring.write(np.arange(written, written + block, dtype=float).repeat(2).reshape(-1, 2).T)
        written += block
        latest = ring.latest()
        held = min(written, 1_000)
        assert latest.shape == (2, held)
        assert latest[0].tolist() == list(range(written - held, written))
        assert latest[1].tolist() == latest[0].tolist()
        assert latest.base is not None and latest[0].flags.c_contiguous
    assert ring.allocation == 1_000
    assert ring.nbytes == 2 * 2 * 1_000 * 8


def test_a_frame_reads_views_into_the_ring_not_copies() -> None:
    store = SeriesStore(capacity=1_000)
    for i in range(2_345):
        store.add(reading(float(i), float(i)))
    series = store.get("temperature", "cauldron-core/DS18B20-1")
    assert series is not None
    times = series.recent_view().times
    assert times.tolist() == [float(i) for i in range(1_345, 2_345)]
    assert np.shares_memory(times, series.recent_view().times)
    assert not np.shares_memory(times, series.recent().times)
    older = series.older(before=times[0])
    assert len(older.times) > 0 and older.times[-1] < times[0]


def test_memory_stays_bounded_over_a_million_readings() -> None:
    store = SeriesStore()
    sensors = [f"cauldron/sensor-{i}" for i in range(4)]

    def feed(first: int, count: int) -> None:
        for i in range(first, first + count):
            store.add(reading(i * 0.01, float(i % 97), sensor_id=sensors[i % 4], score=0.9))

    feed(0, 200_000)
    after_200k = store.nbytes
    feed(200_000, 800_000)

    assert store.nbytes == after_200k
    for series in store:
        assert series.held == store.capacity
        assert len(series.markers) == store.marker_capacity
        assert series.history.used <= series.history.capacity
        assert len(series.points().times) <= store.capacity + 2 * series.history.capacity


def test_the_history_covers_the_whole_run_with_its_minima_and_maxima() -> None:
    store = SeriesStore(capacity=500, history_buckets=64)
    values = np.sin(np.arange(100_000) / 300.0) * 10
    values[12_345] = 99.0
    values[54_321] = -99.0
    for i, value in enumerate(values):
        store.add(reading(1_000.0 + i, float(value)))
    series = store.get("temperature", "cauldron-core/DS18B20-1")
    assert series is not None

    times, curve = series.points()
    assert times[0] < 1_000.0 + series.history.width
    assert times[-1] == 1_000.0 + 99_999
    assert np.all(np.diff(times) >= 0)
    assert curve.max() == 99.0
    assert curve.min() == -99.0
    assert len(times) <= 500 + 2 * 64


def test_history_buckets_merge_in_pairs_when_the_run_outgrows_them() -> None:
    history = History(buckets=4, width=1.0)
    history.add(np.array([0.0, 0.5, 1.5, 3.2]), np.array([1.0, 5.0, 2.0, 7.0]))
    assert history.width == 1.0
    history.add(np.array([6.0]), np.array([-3.0]))

    assert history.width == 2.0
    envelope = history.envelope()
    assert envelope.times.tolist() == [1.0, 1.0, 3.0, 3.0, 7.0, 7.0]
    assert envelope.values.tolist() == [1.0, 5.0, 7.0, 7.0, -3.0, -3.0]


def test_refused_readings_are_counted_and_never_charted() -> None:
    store = SeriesStore(max_series=2)
    assert store.add(reading(5.0, 1.0))
    assert not store.add(reading(4.0, 2.0))
    assert not store.add(reading(6.0, math.nan))
    assert not store.add(reading(6.0, math.inf))
    assert store.add(reading(6.0, 3.0, sensor_id="b"))
    assert not store.add(reading(6.0, 3.0, sensor_id="c"))

    assert store.refused == {"out of order": 1, "not finite": 2, "too many series": 1}
    assert len(store) == 2
    series = store.get("temperature", "cauldron-core/DS18B20-1")
    assert series is not None
    assert series.points().values.tolist() == [1.0]


def test_revisions_tell_a_view_what_changed() -> None:
    store = SeriesStore()
    store.add(reading(1.0))
    store.add(reading(1.0, quantity="humidity"))
    structure = store.structure_revision
    humidity = store.quantities["humidity"].revision
    temperature = store.quantities["temperature"].revision

    store.add(reading(2.0))

    assert store.structure_revision == structure
    assert store.quantities["humidity"].revision == humidity
    assert store.quantities["temperature"].revision == temperature + 1
    store.add(reading(2.0, sensor_id="new"))
    assert store.structure_revision == structure + 1


def test_a_series_goes_stale_after_some_of_its_usual_gaps() -> None:
    store = SeriesStore(staleness=StalenessRule(periods=5, floor_s=3.0))
    for second in range(0, 20, 2):
        store.add(reading(float(second)))
    series = store.get("temperature", "cauldron-core/DS18B20-1")
    assert series is not None
    assert series.cadence == pytest.approx(2.0)

    assert store.stale(18.0 + 9.9) == []
    assert store.stale(18.0 + 10.1) == [series]


def test_a_single_reading_is_never_called_silent_without_an_expiry() -> None:
    store = SeriesStore()
    store.add(reading(0.0, sensor_id="retained/state"))
    assert store.stale(7 * 24 * 3600.0) == []


def test_a_sensor_reporting_on_change_is_not_stale_during_its_usual_silences() -> None:
    """Bursts of changes a second apart between silences of about an hour: the sensor's
    usual silence is its cadence, not the seconds between the changes of a burst."""
    store = SeriesStore(staleness=StalenessRule(periods=5, floor_s=3.0))
    at = 0.0
    for _ in range(6):
        for _ in range(4):
            at += 1.0
            store.add(reading(at, sensor_id="door"))
        at += 3_600.0
    at -= 3_600.0
    assert store.stale(at + 2 * 3_600.0) == [], "two hours: a usual silence for this sensor"
    assert [s.sensor_id for s in store.stale(at + 6 * 3_600.0)] == ["door"]


def test_a_long_outage_is_forgotten_as_regular_readings_come_back() -> None:
    store = SeriesStore(staleness=StalenessRule(periods=5, floor_s=3.0))
    for second in range(10):
        store.add(reading(float(second)))
    for second in range(600, 1_200):
        store.add(reading(float(second)))
    series = store.get("temperature", "cauldron-core/DS18B20-1")
    assert series is not None
    assert series.cadence < 1.5
    assert store.stale(1_199.0 + 10.0) == [series]


def test_a_declared_expiry_decides_instead_of_the_cadence() -> None:
    store = SeriesStore(staleness=StalenessRule(periods=5, floor_s=3.0))
    for second in range(10):
        store.add(reading(float(second)))
    store.add(reading(0.0, sensor_id="once"))
    expiry = {("cauldron-core/DS18B20-1", "temperature"): 300.0, ("once", "temperature"): 60.0}
    assert store.stale(9.0 + 50.0, expiry) == []
    assert [s.sensor_id for s in store.stale(9.0 + 301.0, expiry)] == [
        "cauldron-core/DS18B20-1",
        "once",
    ]


def test_fast_sensors_are_not_stale_before_the_floor() -> None:
    rule = StalenessRule(periods=5, floor_s=3.0)
    store = SeriesStore(staleness=rule)
    for i in range(100):
        store.add(reading(i * 0.01))
    series = store.get("temperature", "cauldron-core/DS18B20-1")
    assert series is not None
    assert rule.deadline(series) == pytest.approx(0.99 + 3.0)


def test_readings_in_alarm_become_markers_up_to_a_bound() -> None:
    store = SeriesStore(alarm_policy=AlarmPolicy(0.8, 0.48), marker_capacity=3)
    scores = [0.1, 0.85, 0.2, 0.9, 0.99, 0.95, 0.5, 0.3]
    for second, score in enumerate(scores):
        store.add(reading(float(second), float(second), score=score))
    series = store.get("temperature", "cauldron-core/DS18B20-1")
    assert series is not None

    kept = [(marker.timestamp, marker.score) for marker in series.markers]
    assert kept == [(4.0, 0.99), (5.0, 0.95), (6.0, 0.5)]
    assert series.marked == 5


def test_clear_forgets_every_series() -> None:
    store = SeriesStore()
    store.add(reading(5.0))
    store.clear()
    assert len(store) == 0
    assert store.quantities == {}
    assert store.add(reading(1.0))


@pytest.mark.parametrize(
    ("sensor_ids", "names"),
    [
        (
            ["cauldron-core/DS18B20-1", "cauldron-core/DS18B20-2"],
            ["DS18B20-1", "DS18B20-2"],
        ),
        (["kitchen/temperature", "hall/temperature"], ["kitchen/temperature", "hall/temperature"]),
        (["a/x/probe", "b/x/probe", "c/probe"], ["a/x/probe", "b/x/probe", "c/probe"]),
        (["x/y", "y"], ["x/y", "y"]),
        (["tasmota_ABC123"], ["tasmota_ABC123"]),
        (["home/cellar/cauldron"], ["cauldron"]),
    ],
)
def test_display_names_are_the_shortest_distinct_last_segments(
    sensor_ids: list[str], names: list[str]
) -> None:
    assert display_names(sensor_ids) == dict(zip(sensor_ids, names, strict=True))
