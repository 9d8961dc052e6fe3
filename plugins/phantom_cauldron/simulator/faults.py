"""Anomalies injected into the simulated readings, and their ground-truth labels."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from phantom_cauldron.simulator.sensors import SensorSpec

FaultKind = Literal["spike", "shift", "drift", "stuck", "dropout"]
KINDS: tuple[FaultKind, ...] = ("spike", "shift", "drift", "stuck", "dropout")
DURATIONS_S: dict[FaultKind, tuple[float, float]] = {
    "spike": (1.0, 3.0),
    "shift": (120.0, 600.0),
    "drift": (300.0, 900.0),
    "stuck": (120.0, 600.0),
    "dropout": (30.0, 300.0),
}
SIZES: dict[FaultKind, tuple[float, float]] = {
    "spike": (4.0, 8.0),
    "shift": (2.0, 4.0),
    "drift": (3.0, 6.0),
}
"""How far each kind moves a reading, in units of the sensor's `scale` (either sign)."""


@dataclass(frozen=True, slots=True)
class Fault:
    """An anomaly on one sensor from `start` to `end` (seconds since the epoch): its label.

    `size` is the offset a spike or shift adds, and the offset a drift reaches at `end`.
    """

    sensor_id: str
    kind: FaultKind
    start: float
    end: float
    size: float = 0.0

    def covers(self, time: float) -> bool:
        """Whether the fault is acting at `time`."""
        return self.start <= time < self.end

    def offset(self, time: float) -> float:
        """What the fault adds to a reading at `time`, while it acts."""
        if self.kind == "drift":
            return self.size * (time - self.start) / (self.end - self.start)
        return self.size


def random_faults(
    seed: int,
    sensors: Sequence[SensorSpec],
    start: float,
    duration: float,
    *,
    settle_s: float = 1800.0,
    mean_gap_s: float = 1200.0,
    quiet_s: float = 600.0,
) -> list[Fault]:
    """Faults of every kind on random sensors, one at a time, from `start + settle_s` on.

    Between two faults there are at least `quiet_s` seconds, and `mean_gap_s` more on
    average, so that a detector's recovery from one is not mistaken for the next.
    """
    rng = random.Random(seed)
    faults: list[Fault] = []
    time = start + settle_s
    end = start + duration
    while True:
        time += rng.expovariate(1.0 / mean_gap_s)
        kind = rng.choice(KINDS)
        length = rng.uniform(*DURATIONS_S[kind])
        if time + length > end:
            return faults
        sensor = rng.choice(sensors)
        low, high = SIZES.get(kind, (0.0, 0.0))
        size = rng.choice((-1.0, 1.0)) * rng.uniform(low, high) * sensor.scale if high else 0.0
        faults.append(Fault(sensor.unique_id, kind, time, time + length, size))
        time += length + quiet_s
