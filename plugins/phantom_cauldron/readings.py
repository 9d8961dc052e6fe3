"""What the cauldron's parser makes of a payload: readings, and the reasons it refused one."""

from __future__ import annotations

from typing import Any, NamedTuple


class SensorReading(NamedTuple):
    """One measured value of one quantity from one sensor (the seed's model).

    `type` is the quantity (temperature, humidity, pressure, ph, mystical_energy,
    battery, ... any), `timestamp` seconds since the epoch, `location` the device or
    room it came from, `anomaly_score` in [0, 1] once a detector has seen it. A named
    tuple: two are made for every reading (parsed, then scored), and a frozen dataclass
    costs several times as much to make.
    """

    sensor_id: str
    type: str
    value: float
    unit: str | None
    timestamp: float
    location: str | None = None
    anomaly_score: float | None = None

    def scored(self, score: float) -> SensorReading:
        """The same reading with its anomaly score."""
        return SensorReading(
            self.sensor_id, self.type, self.value, self.unit, self.timestamp, self.location, score
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return self._asdict()
