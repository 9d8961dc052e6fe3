"""Anomaly alarms: one raised when a sensor's score crosses the threshold, one cleared after.

`AlarmPolicy` is the one rule for when a series is in alarm; the alarm tracker, the
chart markers (`series.py`) and the event-level scoring (`scoring.py`) all apply it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from phantom_cauldron.readings import SensorReading

DEFAULT_THRESHOLD = 0.8
"""The score that raises an alarm unless the user sets another."""
CLEAR_FRACTION = 0.6
"""By default an alarm clears once the score falls below this fraction of the threshold."""


@dataclass(frozen=True, slots=True)
class AlarmPolicy:
    """When a series is in alarm: from a score at or above `threshold` until the first
    score below `clear` (hysteresis, so a score hovering at the threshold raises one
    alarm, not one per reading).

    A reading is marked on the chart exactly when its series is in alarm after it: the
    reading that raised the alarm and each one after it until (not including) the one
    that cleared it.
    """

    threshold: float = DEFAULT_THRESHOLD
    clear: float = DEFAULT_THRESHOLD * CLEAR_FRACTION

    def __post_init__(self) -> None:
        if not 0.0 < self.clear <= self.threshold <= 1.0:
            raise ValueError(
                f"an alarm policy needs 0 < clear <= threshold <= 1, not clear {self.clear} "
                f"and threshold {self.threshold}"
            )

    @classmethod
    def at(cls, threshold: float) -> AlarmPolicy:
        """The policy raising at `threshold` and clearing below `CLEAR_FRACTION` of it."""
        return cls(threshold, threshold * CLEAR_FRACTION)

    def in_alarm(self, was_in_alarm: bool, score: float) -> bool:
        """Whether a series is in alarm after a reading scoring `score` (NaN: unscored,
        which changes nothing), given whether it was before."""
        if score >= self.threshold:
            return True
        if score < self.clear:
            return False
        return was_in_alarm


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

    An alarm is raised once when `policy` puts the series in alarm, however long it
    stays there, and cleared once when the policy takes it out.
    """

    def __init__(self, policy: AlarmPolicy) -> None:
        self.policy = policy
        self._peaks: dict[tuple[str, str], float] = {}

    @property
    def raised(self) -> int:
        """How many series are in alarm now."""
        return len(self._peaks)

    def update(self, reading: SensorReading) -> AlarmChange | None:
        """The change `reading` makes to its series' alarm, if any."""
        score = math.nan if reading.anomaly_score is None else reading.anomaly_score
        key = (reading.sensor_id, reading.type)
        peak = self._peaks.get(key)
        if not self.policy.in_alarm(peak is not None, score):
            if peak is None:
                return None
            del self._peaks[key]
            return AlarmChange("cleared", reading, peak)
        if peak is None:
            self._peaks[key] = score
            return AlarmChange("raised", reading, score)
        if score > peak:
            self._peaks[key] = score
        return None
