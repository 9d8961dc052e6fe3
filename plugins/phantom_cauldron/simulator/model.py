"""The simulated cauldron as its sensors see it: physics, sensor lag and noise, faults."""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from phantom_cauldron.simulator.faults import Fault
from phantom_cauldron.simulator.physics import MAX_SUBSTEP_S, Cauldron, PhysicsSettings
from phantom_cauldron.simulator.sensors import SENSORS, SensorSpec

Sample = dict[str, float | None]
"""Each sensor's reading by unique id; None where the sensor gave none (a dropout)."""


class CauldronSimulator:
    """A seeded cauldron whose sensors read with lag and noise and suffer `faults` (one
    at a time per sensor).

    `step` advances time, `sample` reads every sensor now; nothing waits for a clock, so
    a day takes seconds. `cauldron` takes a brew's commands (heater, ingredients).
    """

    def __init__(
        self,
        seed: int = 0,
        start: float = 0.0,
        faults: Sequence[Fault] = (),
        sensors: Sequence[SensorSpec] = SENSORS,
        physics: PhysicsSettings | None = None,
    ) -> None:
        rng = random.Random(seed)
        self.cauldron = Cauldron(random.Random(rng.getrandbits(64)), start, physics)
        self.sensors = tuple(sensors)
        self.faults = tuple(sorted(faults, key=lambda fault: fault.start))
        self._noise = random.Random(rng.getrandbits(64))
        self._lagged = {sensor.unique_id: sensor.truth(self.cauldron) for sensor in self.sensors}
        self._pending = {
            sensor.unique_id: deque(f for f in self.faults if f.sensor_id == sensor.unique_id)
            for sensor in self.sensors
        }
        self._held: dict[str, float] = {}
        self._last: dict[str, float] = {}

    @property
    def time(self) -> float:
        """Simulated seconds since the epoch."""
        return self.cauldron.time

    def step(self, seconds: float) -> None:
        """Advance the cauldron and its sensors by `seconds`."""
        remaining = max(seconds, 0.0)
        while remaining > 0.0:
            substep = min(MAX_SUBSTEP_S, remaining)
            self.cauldron.step(substep)
            for sensor in self.sensors:
                truth = sensor.truth(self.cauldron)
                if sensor.lag_s > 0.0:
                    keep = math.exp(-substep / sensor.lag_s)
                    truth += (self._lagged[sensor.unique_id] - truth) * keep
                self._lagged[sensor.unique_id] = truth
            remaining -= substep

    def sample(self) -> Sample:
        """Every sensor's reading now, faults applied."""
        return {sensor.unique_id: self._read(sensor) for sensor in self.sensors}

    def _fault(self, key: str) -> Fault | None:
        """The fault acting on sensor `key` now (time only moves forward)."""
        pending = self._pending[key]
        while pending and pending[0].end <= self.time:
            pending.popleft()
        return pending[0] if pending and pending[0].covers(self.time) else None

    def _read(self, sensor: SensorSpec) -> float | None:
        key = sensor.unique_id
        value = self._lagged[key] + self._noise.gauss(0.0, sensor.noise)
        fault = self._fault(key)
        if fault is None:
            self._held.pop(key, None)
        elif fault.kind == "dropout":
            return None
        elif fault.kind == "stuck":
            value = self._held.setdefault(key, self._last.get(key, value))
        else:
            value += fault.offset(self.time)
        reading = self._last[key] = sensor.rounded(value)
        return reading


@dataclass(frozen=True, slots=True)
class Recording:
    """A simulated run: reading times, each sensor's readings (NaN: none) and the faults."""

    times: npt.NDArray[np.float64]
    readings: dict[str, npt.NDArray[np.float64]]
    faults: tuple[Fault, ...]


def record(simulator: CauldronSimulator, duration: float, period: float) -> Recording:
    """Sample `simulator` every `period` seconds for `duration` seconds."""
    count = int(duration / period)
    times = np.empty(count)
    readings = {sensor.unique_id: np.empty(count) for sensor in simulator.sensors}
    for index in range(count):
        simulator.step(period)
        times[index] = simulator.time
        for key, value in simulator.sample().items():
            readings[key][index] = math.nan if value is None else value
    return Recording(times, readings, simulator.faults)
