"""The simulated devices' sensors: what each measures, how noisily, and how HA knows it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from phantom_cauldron.simulator.physics import Cauldron


@dataclass(frozen=True, slots=True)
class SensorSpec:
    """One value a simulated device reports: `<sensor>.<field>` in its Tasmota telemetry."""

    device: str
    sensor: str
    field: str
    name: str
    unit: str | None
    device_class: str | None
    truth: Callable[[Cauldron], float]
    noise: float
    """Standard deviation of the measurement noise."""
    resolution: float
    """Readings are rounded to this step."""
    lag_s: float
    """Time constant with which the sensor follows the truth."""
    scale: float
    """A deviation of this size is clearly unusual: the unit of injected anomalies."""

    @property
    def unique_id(self) -> str:
        """`<device>_<sensor>_<field>` in lower snake case: the id of readings and labels."""
        return _slug(f"{self.device}_{self.sensor}_{self.field}")

    @property
    def object_id(self) -> str:
        """The sensor's id within its device, for the discovery topic."""
        return _slug(f"{self.sensor}_{self.field}")

    def rounded(self, value: float) -> float:
        """`value` at the sensor's resolution, with no binary fraction left over."""
        digits = max(0, -int(f"{self.resolution:e}".split("e")[1]))
        return round(round(value / self.resolution) * self.resolution, digits)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


# fmt: off
SENSORS: tuple[SensorSpec, ...] = (
    SensorSpec("cauldron-core", "DS18B20-1", "Temperature", "Brew temperature", "°C",
               "temperature", lambda cauldron: cauldron.temperature,
               noise=0.05, resolution=0.1, lag_s=5.0, scale=1.0),
    SensorSpec("cauldron-core", "DS18B20-2", "Temperature", "Wall temperature", "°C",
               "temperature", Cauldron.wall_temperature,
               noise=0.05, resolution=0.1, lag_s=20.0, scale=1.5),
    SensorSpec("cauldron-core", "PH", "pH", "Brew pH", None,
               "ph", Cauldron.ph,
               noise=0.02, resolution=0.01, lag_s=3.0, scale=0.2),
    SensorSpec("cauldron-rim", "AM2301", "Temperature", "Rim temperature", "°C",
               "temperature", Cauldron.rim_temperature,
               noise=0.15, resolution=0.1, lag_s=30.0, scale=1.0),
    SensorSpec("cauldron-rim", "AM2301", "Humidity", "Rim humidity", "%",
               "humidity", Cauldron.rim_humidity,
               noise=0.6, resolution=0.1, lag_s=30.0, scale=3.0),
    SensorSpec("crystal-ball", "BME280", "Temperature", "Room temperature", "°C",
               "temperature", Cauldron.room_temperature,
               noise=0.05, resolution=0.1, lag_s=60.0, scale=1.0),
    SensorSpec("crystal-ball", "BME280", "Pressure", "Air pressure", "hPa",
               "pressure", lambda cauldron: cauldron.pressure,
               noise=0.05, resolution=0.1, lag_s=0.0, scale=1.0),
    SensorSpec("crystal-ball", "AETHER", "MysticalEnergy", "Mystical energy", "thaum",
               None, Cauldron.mystical_energy,
               noise=0.8, resolution=0.01, lag_s=0.0, scale=5.0),
)
# fmt: on
"""Eight sensors on three devices: the brew's core, the cauldron's rim, the crystal ball."""

DEVICE_MODELS = {
    "cauldron-core": "Brew probe (Tasmota, 2× DS18B20, pH)",
    "cauldron-rim": "Steam hood (Tasmota, AM2301)",
    "crystal-ball": "Crystal ball (Tasmota, BME280, aether coil)",
}
