"""Which readings go into the audit log: at most one per series every `interval` seconds."""

from __future__ import annotations

from phantom_cauldron.readings import SensorReading


class ReadingSampler:
    """Passes the first reading of each series, then one per `interval` (0: every reading)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[tuple[str, str], float] = {}

    def take(self, reading: SensorReading) -> bool:
        """True if `reading` is to be recorded."""
        key = (reading.sensor_id, reading.type)
        last = self._last.get(key)
        if last is not None and reading.timestamp - last < self.interval:
            return False
        self._last[key] = reading.timestamp
        return True
