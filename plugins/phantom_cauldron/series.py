"""The cauldron's chart data: one series per (quantity, sensor), bounded whatever the run length.

Each series keeps its most recent readings raw in a ring buffer (`Ring`, written twice
so that the newest readings are always one contiguous slice) and the whole run as
min/max per time bucket (`History`), plus its last few anomalous points. `add` runs
once per reading (10k a second is normal), so it only appends to short Python lists;
a block at a time is then copied into the numpy arrays, when the block is full or when
a view reads. Views compare `revision` counters on their frame clock to find what
changed. Qt-free.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping
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
CADENCE_DECAY = 0.98
"""A series' cadence is the longest gap between its readings, shrunk by this factor at
each reading that comes sooner."""


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


class Ring:
    """The latest `capacity` columns of a few rows of numbers (times, values, scores).

    Each column is written twice, at `i` and at `i + allocation`, in an array twice the
    allocation wide, so the newest columns always lie in one contiguous slice: a read
    never concatenates. The allocation starts at `first_allocation` and doubles up to
    `capacity`.
    """

    def __init__(self, rows: int, capacity: int, first_allocation: int = FIRST_ALLOCATION):
        self.capacity = capacity
        self.size = 0
        """How many columns the ring holds (at most `capacity`)."""
        self._head = 0
        """Where the next column goes, in `[0, allocation)`."""
        self._data = np.empty((rows, 2 * min(capacity, first_allocation)))

    @property
    def allocation(self) -> int:
        """Columns the arrays have room for (each written twice)."""
        return int(self._data.shape[1]) // 2

    @property
    def nbytes(self) -> int:
        """Bytes held by the array."""
        return int(self._data.nbytes)

    def write(self, block: NDArray[np.float64]) -> None:
        """Append the columns of `block` (one row per row of the ring), oldest first."""
        block = block[:, -self.capacity :]
        count = block.shape[1]
        allocation = self.allocation
        if allocation < self.capacity and self.size + count > allocation:
            self._grow(min(self.capacity, max(2 * allocation, self.size + count)))
            allocation = self.allocation
        head, data = self._head, self._data
        data[:, head : head + count] = block
        direct = min(count, allocation - head)
        data[:, head + allocation : head + allocation + direct] = block[:, :direct]
        data[:, : count - direct] = block[:, direct:]
        self._head = (head + count) % allocation
        self.size = min(allocation, self.size + count)

    def latest(self) -> NDArray[np.float64]:
        """The columns held, oldest first: a view, valid until the next `write`."""
        stop = self._head + self.allocation
        return self._data[:, stop - self.size : stop]

    def _grow(self, allocation: int) -> None:
        held = self.latest().copy()
        self._data = np.empty((self._data.shape[0], 2 * allocation))
        self._head = self.size = 0
        self.write(held)


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
        ended = (before - self.origin) // self.width if before < math.inf else self.used
        count = int(min(self.used, max(ended, 0)))
        keep = np.flatnonzero(~np.isnan(self._min[:count]))
        centres = self.origin + self.width * (keep + 0.5)
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
    `AlarmPolicy`); `first_seen` is the oldest timestamp, `last_seen` the newest and
    `cadence` the longest gap between readings lately (see `CADENCE_DECAY`), which the
    staleness rule uses.
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
        self.cadence = 0.0
        """The longest recent gap between readings, in seconds (0 before the second)."""
        self.history = History(history_buckets)
        self.markers: deque[Marker] = deque(maxlen=marker_capacity)
        self.in_alarm = False
        self._pending_times: list[float] = []
        self._pending_values: list[float] = []
        self._pending_scores: list[float] = []
        self._ring = Ring(len(Recent._fields), capacity)

    def append(self, timestamp: float, value: float, score: float, policy: AlarmPolicy) -> None:
        """Add one reading (already checked: finite, not older than `last_seen`); marked
        if `policy` has the series in alarm after its `score` (NaN: unscored)."""
        if self.total:
            gap = timestamp - self.last_seen
            shrunk = self.cadence * CADENCE_DECAY
            self.cadence = gap if gap > shrunk else shrunk
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
        block = np.array((self._pending_times, self._pending_values, self._pending_scores))
        self._pending_times.clear()
        self._pending_values.clear()
        self._pending_scores.clear()
        self.history.add(block[0], block[1])
        self._ring.write(block)

    def recent_view(self) -> Recent:
        """The raw readings the ring holds, oldest first, as views into the ring: no copy,
        valid until the next reading arrives."""
        self.flush()
        return Recent(*self._ring.latest())

    def recent(self) -> Recent:
        """Copies of the raw readings the ring holds, oldest first."""
        return Recent(*(row.copy() for row in self.recent_view()))

    def older(self, before: float) -> Points:
        """The history envelope of the readings the ring no longer holds (those before
        `before`, the ring's oldest time); empty while the ring holds every reading."""
        if self.total <= self.capacity:
            return Points(_empty(), _empty())
        return self.history.envelope(before=before)

    def points(self) -> Points:
        """The whole run as one curve (copies): the history envelope older than the ring,
        then the ring."""
        times, values, _ = self.recent_view()
        older = self.older(times[0])
        return Points(np.concatenate((older.times, times)), np.concatenate((older.values, values)))

    @property
    def held(self) -> int:
        """How many raw readings the ring holds."""
        return min(self.total, self.capacity)

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays (the pending lists hold at most `BLOCK` readings)."""
        return self._ring.nbytes + self.history.nbytes


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
    """A series is stale once silent for `periods` times its cadence, and at least `floor_s`;
    or, for a sensor that says how long its readings stay valid (`expire_after_s`), once
    silent that long.

    The cadence is the longest recent gap (`Series.cadence`), not a mean or a median: a
    sensor that reports on change (a retained state, a door) sends bursts between long
    silences, and its usual silence is what must not count as stale. A series with one
    reading has no cadence yet, so it never goes stale by this rule (only by its expiry).
    """

    periods: float = 5.0
    floor_s: float = 3.0

    def deadline(self, series: Series, expire_after_s: float | None = None) -> float:
        """When `series` turns stale if nothing more arrives."""
        if expire_after_s is not None:
            return series.last_seen + expire_after_s
        if series.total < 2:
            return math.inf
        return series.last_seen + max(self.floor_s, self.periods * series.cadence)

    def is_stale(self, series: Series, now: float, expire_after_s: float | None = None) -> bool:
        """Whether `series` has been silent too long at time `now`."""
        return now > self.deadline(series, expire_after_s)


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

    def stale(
        self, now: float, expire_after: Mapping[tuple[str, str], float] | None = None
    ) -> list[Series]:
        """The series silent for too long at time `now` (by `staleness`); `expire_after`
        gives the sensors that declare how long a reading stays valid, by (sensor id,
        quantity)."""
        rule, expiries = self.staleness, expire_after or {}
        return [
            series
            for key, series in self._series.items()
            if rule.is_stale(series, now, expiries.get((key[1], key[0])))
        ]

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
