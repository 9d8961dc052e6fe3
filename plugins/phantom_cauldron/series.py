"""The cauldron's chart data: one series per (quantity, sensor), bounded whatever the run length.

Each series keeps its most recent readings raw in a ring buffer and the whole run as
min/max per time bucket (`History`), plus its last few anomalous points. `add` runs
once per reading (10k a second is normal), so it only appends to short Python lists;
a block at a time is then copied into the numpy arrays, when the block is full or when
a view reads. Views compare `revision` counters on their frame clock to find what
changed. Qt-free.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from phantom_cauldron.alarms import AlarmPolicy
from phantom_cauldron.readings import SensorReading

Array = NDArray[np.float64]

RING_CAPACITY = 10_000
"""Raw readings kept per series."""
HISTORY_BUCKETS = 4_096
"""Min/max buckets per series: a day at 1 Hz fits with 32 s buckets."""
HISTORY_START_WIDTH_S = 1.0
MARKER_CAPACITY = 200
"""Anomalous points kept per series."""
MAX_SERIES = 256
BLOCK = 256
"""Readings gathered in Python lists before they are copied into the arrays."""
FIRST_ALLOCATION = 1_024
"""Ring arrays start this small and double up to their capacity."""
INTERVAL_SMOOTHING = 0.125
"""Weight of the newest gap in a series' typical interval between readings."""


class Points(NamedTuple):
    """Times (seconds since the epoch, non-decreasing) and values of one curve."""

    times: Array
    values: Array


class Recent(NamedTuple):
    """The raw readings a ring holds, oldest first; `scores` is NaN where unscored."""

    times: Array
    values: Array
    scores: Array


class Marker(NamedTuple):
    """A reading at which its series was in alarm: where to mark it and its score."""

    timestamp: float
    value: float
    score: float


def _empty() -> Array:
    return np.empty(0, dtype=np.float64)


class History:
    """Min and max of the values in each time bucket, over the whole run.

    When a reading falls past the last bucket, neighbouring buckets are merged in
    pairs (the width doubles), so a fixed number of buckets always spans from the
    first reading to the latest.
    """

    def __init__(self, buckets: int = HISTORY_BUCKETS, width: float = HISTORY_START_WIDTH_S):
        self.width = width
        self.origin: float | None = None
        self.used = 0
        even = buckets + buckets % 2
        self._min = np.full(even, np.nan)
        self._max = np.full(even, np.nan)

    @property
    def capacity(self) -> int:
        """The number of buckets."""
        return len(self._min)

    @property
    def nbytes(self) -> int:
        """Bytes held by the bucket arrays."""
        return self._min.nbytes + self._max.nbytes

    def add(self, times: Array, values: Array) -> None:
        """Fold a block of readings (times non-decreasing, values finite) into the buckets."""
        if self.origin is None:
            self.origin = math.floor(times[0] / self.width) * self.width
        while int((times[-1] - self.origin) // self.width) >= self.capacity:
            self._coarsen()
        bucket = ((times - self.origin) // self.width).astype(np.intp)
        starts = np.flatnonzero(np.diff(bucket, prepend=-1))
        where = bucket[starts]
        self._min[where] = np.fmin(self._min[where], np.minimum.reduceat(values, starts))
        self._max[where] = np.fmax(self._max[where], np.maximum.reduceat(values, starts))
        self.used = max(self.used, int(where[-1]) + 1)

    def envelope(self, before: float = math.inf) -> Points:
        """Each filled bucket that ends by `before` as two points at its centre: min, then max."""
        if self.origin is None:
            return Points(_empty(), _empty())
        ends = self.origin + self.width * np.arange(1, self.used + 1)
        keep = np.flatnonzero((ends <= before) & ~np.isnan(self._min[: self.used]))
        centres = ends[keep] - self.width / 2
        values = np.column_stack((self._min[keep], self._max[keep])).ravel()
        return Points(np.repeat(centres, 2), values)

    def _coarsen(self) -> None:
        pairs = (self.used + 1) // 2
        for array, merge in ((self._min, np.fmin), (self._max, np.fmax)):
            merged = merge(array[0 : 2 * pairs : 2], array[1 : 2 * pairs : 2])
            array[:] = np.nan
            array[:pairs] = merged
        self.used = pairs
        self.width *= 2


class Series:
    """One sensor's readings of one quantity: a ring of recent raw points, history, markers.

    `total` counts the readings accepted (a view redraws the curve when it changes)
    and `marked` those at which the series was in alarm (`in_alarm`, by the store's
    `AlarmPolicy`); `first_seen` is the oldest timestamp, `last_seen` the
    newest and `interval` the typical gap between readings (smoothed), which the staleness
    rule uses.
    """

    def __init__(
        self,
        quantity: str,
        sensor_id: str,
        unit: str | None,
        capacity: int = RING_CAPACITY,
        history_buckets: int = HISTORY_BUCKETS,
        marker_capacity: int = MARKER_CAPACITY,
    ) -> None:
        self.quantity = quantity
        self.sensor_id = sensor_id
        self.unit = unit
        self.topic: str | None = None
        self.capacity = capacity
        self.total = 0
        self.marked = 0
        self.first_seen = math.inf
        self.last_seen = -math.inf
        self.interval = math.nan
        self.history = History(history_buckets)
        self.markers: deque[Marker] = deque(maxlen=marker_capacity)
        self.in_alarm = False
        self._pending_times: list[float] = []
        self._pending_values: list[float] = []
        self._pending_scores: list[float] = []
        allocation = min(capacity, FIRST_ALLOCATION)
        self._times = np.empty(allocation)
        self._values = np.empty(allocation)
        self._scores = np.empty(allocation)
        self._size = 0
        self._head = 0
        """Where the next point goes; while the ring has not wrapped, `_head == _size`."""

    def append(self, timestamp: float, value: float, score: float, policy: AlarmPolicy) -> None:
        """Add one reading (already checked: finite, not older than `last_seen`); marked
        if `policy` has the series in alarm after its `score` (NaN: unscored)."""
        if self.total:
            gap = timestamp - self.last_seen
            interval = self.interval
            self.interval = (
                gap if self.total == 1 else interval + INTERVAL_SMOOTHING * (gap - interval)
            )
        else:
            self.first_seen = timestamp
        self.total += 1
        self.last_seen = timestamp
        self.in_alarm = in_alarm = policy.in_alarm(self.in_alarm, score)
        if in_alarm:
            self.markers.append(Marker(timestamp, value, score))
            self.marked += 1
        pending = self._pending_times
        pending.append(timestamp)
        self._pending_values.append(value)
        self._pending_scores.append(score)
        if len(pending) >= BLOCK:
            self.flush()

    def flush(self) -> None:
        """Copy the readings gathered since the last flush into the ring and the history."""
        if not self._pending_times:
            return
        times = np.array(self._pending_times)
        values = np.array(self._pending_values)
        scores = np.array(self._pending_scores)
        self._pending_times.clear()
        self._pending_values.clear()
        self._pending_scores.clear()
        self.history.add(times, values)
        self._write(times[-self.capacity :], values[-self.capacity :], scores[-self.capacity :])

    def recent(self) -> Recent:
        """Copies of the raw readings the ring holds, oldest first."""
        self.flush()
        arrays = self._arrays()
        if self._size < len(self._times):
            return Recent(*(a[: self._size].copy() for a in arrays))
        head = self._head
        return Recent(*(np.concatenate((a[head:], a[:head])) for a in arrays))

    def points(self) -> Points:
        """The whole run as one curve: history envelope older than the ring, then the ring."""
        times, values, _ = self.recent()
        if self.total <= self.capacity:
            return Points(times, values)
        older = self.history.envelope(before=times[0])
        return Points(np.concatenate((older.times, times)), np.concatenate((older.values, values)))

    @property
    def held(self) -> int:
        """How many raw readings the ring holds."""
        return min(self.total, self.capacity)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (the pending lists hold at most `BLOCK` readings)."""
        return sum(a.nbytes for a in self._arrays()) + self.history.nbytes

    def _arrays(self) -> tuple[Array, Array, Array]:
        return self._times, self._values, self._scores

    def _write(self, times: Array, values: Array, scores: Array) -> None:
        count = len(times)
        allocation = len(self._times)
        if allocation < self.capacity and self._size + count > allocation:
            self._grow(min(self.capacity, max(2 * allocation, self._size + count)))
        allocation = len(self._times)
        head = self._head
        first = min(count, allocation - head)
        for ring, block in zip(self._arrays(), (times, values, scores), strict=True):
            ring[head : head + first] = block[:first]
            ring[: count - first] = block[first:]
        self._head = (head + count) % allocation
        self._size = min(allocation, self._size + count)

    def _grow(self, allocation: int) -> None:
        size = self._size
        grown = []
        for ring in self._arrays():
            array = np.empty(allocation)
            array[:size] = ring[:size]
            grown.append(array)
        self._times, self._values, self._scores = grown
        self._head = size


class Quantity:
    """One measured quantity (temperature, humidity, ...): its series by sensor id."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.series: dict[str, Series] = {}
        self.revision = 0

    @property
    def units(self) -> list[str]:
        """The distinct units its sensors report, in order of appearance."""
        return list(dict.fromkeys(s.unit for s in self.series.values() if s.unit))


@dataclass(frozen=True, slots=True)
class StalenessRule:
    """A series is stale once silent for `periods` typical intervals, and at least `floor_s`.

    A series with a single reading has no typical interval yet: it goes stale after
    `unknown_s`.
    """

    periods: float = 5.0
    floor_s: float = 3.0
    unknown_s: float = 60.0

    def deadline(self, series: Series) -> float:
        """When `series` turns stale if nothing more arrives."""
        if series.total < 2:
            return series.last_seen + self.unknown_s
        return series.last_seen + max(self.floor_s, self.periods * series.interval)

    def is_stale(self, series: Series, now: float) -> bool:
        """Whether `series` has been silent too long at time `now`."""
        return now > self.deadline(series)


class SeriesStore:
    """Every series, grouped by quantity; memory bounded by `max_series` and the series' sizes.

    `add` refuses (and counts in `refused`, by reason) readings that are not finite,
    older than their series' newest, or of a new series once `max_series` exist.
    `revision` changes with every accepted reading, so a frame clock can skip a frame
    in which nothing arrived; each `Quantity` and `Series` has its own counter too.
    `structure_revision` changes when a series is made or all are cleared.
    """

    def __init__(
        self,
        capacity: int = RING_CAPACITY,
        max_series: int = MAX_SERIES,
        alarm_policy: AlarmPolicy | None = None,
        staleness: StalenessRule | None = None,
        history_buckets: int = HISTORY_BUCKETS,
        marker_capacity: int = MARKER_CAPACITY,
    ) -> None:
        self.capacity = capacity
        self.max_series = max_series
        self.alarm_policy = alarm_policy or AlarmPolicy()
        self.staleness = staleness or StalenessRule()
        self.history_buckets = history_buckets
        self.marker_capacity = marker_capacity
        self.quantities: dict[str, Quantity] = {}
        self.refused: Counter[str] = Counter()
        self.revision = 0
        self.structure_revision = 0
        self.newest = -math.inf
        self._series: dict[tuple[str, str], Series] = {}

    def add(self, reading: SensorReading, topic: str | None = None) -> bool:
        """Append `reading` to its series (made on first sight); False if refused.

        `topic` is the MQTT topic it came from, so a view can hide the series of a
        topic the user no longer charts.
        """
        value = reading.value
        timestamp = reading.timestamp
        if not math.isfinite(value) or not math.isfinite(timestamp):
            self.refused["not finite"] += 1
            return False
        series = self._series.get((reading.type, reading.sensor_id))
        if series is None:
            series = self._new_series(reading)
            if series is None:
                return False
        if timestamp < series.last_seen:
            self.refused["out of order"] += 1
            return False
        score = reading.anomaly_score
        series.append(timestamp, value, math.nan if score is None else score, self.alarm_policy)
        if topic is not None:
            series.topic = topic
        if timestamp > self.newest:
            self.newest = timestamp
        self.quantities[reading.type].revision += 1
        self.revision += 1
        return True

    def get(self, quantity: str, sensor_id: str) -> Series | None:
        """The series of `sensor_id`'s `quantity`, if any reading made it."""
        return self._series.get((quantity, sensor_id))

    def __iter__(self) -> Iterator[Series]:
        return iter(self._series.values())

    def __len__(self) -> int:
        return len(self._series)

    @property
    def nbytes(self) -> int:
        """Bytes held by every series' arrays."""
        return sum(series.nbytes for series in self._series.values())

    def stale(self, now: float) -> list[Series]:
        """The series silent for too long at time `now` (by `staleness`)."""
        return [s for s in self._series.values() if self.staleness.is_stale(s, now)]

    def clear(self) -> None:
        """Forget every series (a replay starts over)."""
        self.quantities.clear()
        self._series.clear()
        self.refused.clear()
        self.newest = -math.inf
        self.revision += 1
        self.structure_revision += 1

    def _new_series(self, reading: SensorReading) -> Series | None:
        if len(self._series) >= self.max_series:
            self.refused["too many series"] += 1
            return None
        series = Series(
            reading.type,
            reading.sensor_id,
            reading.unit,
            self.capacity,
            self.history_buckets,
            self.marker_capacity,
        )
        self._series[(reading.type, reading.sensor_id)] = series
        quantity = self.quantities.get(reading.type)
        if quantity is None:
            quantity = self.quantities[reading.type] = Quantity(reading.type)
        quantity.series[reading.sensor_id] = series
        self.structure_revision += 1
        return series


def display_names(sensor_ids: Iterable[str]) -> dict[str, str]:
    """A short name for each sensor id: its fewest last ``/`` segments that no other id shares.

    ``cauldron-core/DS18B20-1`` becomes ``DS18B20-1`` when no other id ends that way;
    ``kitchen/temperature`` stays whole next to ``hall/temperature``.
    """
    levels = {sensor_id: tuple(sensor_id.split("/")) for sensor_id in sensor_ids}
    deepest = max(map(len, levels.values()), default=0)
    ends = {d: Counter(parts[-d:] for parts in levels.values()) for d in range(1, deepest + 1)}
    names = {}
    for sensor_id, parts in levels.items():
        depth = next((d for d in range(1, len(parts)) if ends[d][parts[-d:]] == 1), len(parts))
        names[sensor_id] = "/".join(parts[-depth:])
    return names
