"""Anomaly alarms: one raised when a sensor's score crosses the threshold, one cleared after."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from phantom_cauldron.readings import SensorReading

CLEAR_FRACTION = 0.6
"""An alarm clears once the score falls below this fraction of the threshold (hysteresis)."""


@dataclass(frozen=True, slots=True)
class AlarmChange:
    """An alarm raised or cleared on one series (sensor and quantity)."""

    state: Literal["raised", "cleared"]
    reading: SensorReading
    peak: float
    """The highest score while the alarm was raised (the raising score when raised)."""

    def to_dict(self) -> dict[str, Any]:
        """The hub payload of `cauldron/anomaly/...` events."""
        reading = self.reading
        return {
            "state": self.state,
            "sensor_id": reading.sensor_id,
            "type": reading.type,
            "value": reading.value,
            "unit": reading.unit,
            "score": reading.anomaly_score,
            "peak": self.peak,
            "timestamp": reading.timestamp,
            "location": reading.location,
        }


class AlarmTracker:
    """Turns a stream of scored readings into alarm episodes, per series.

    A score at or above `threshold` raises the series' alarm (once, however long it
    stays high); a score below `threshold * CLEAR_FRACTION` clears it.
    """

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self._peaks: dict[tuple[str, str], float] = {}

    @property
    def raised(self) -> int:
        """How many series are in alarm now."""
        return len(self._peaks)

    def update(self, reading: SensorReading) -> AlarmChange | None:
        """The change `reading` makes to its series' alarm, if any."""
        score = reading.anomaly_score or 0.0
        key = (reading.sensor_id, reading.type)
        peak = self._peaks.get(key)
        if peak is None:
            if score < self.threshold:
                return None
            self._peaks[key] = score
            return AlarmChange("raised", reading, score)
        if score >= self.threshold * CLEAR_FRACTION:
            if score > peak:
                self._peaks[key] = score
            return None
        del self._peaks[key]
        return AlarmChange("cleared", reading, peak)
