"""The cauldron's conditions for an evolution or a brew, read from the series store's
latest readings.

Quantities as the parser names them: ``temperature``, ``humidity``, ``ph`` and
``mystical_energy``. Of several sensors of a quantity the one the user chose counts (by
sensor id, `chosen`); failing that one whose name says it measures the brew (``Brew
temperature``, ``Brew pH``), then the one heard last, so the room's thermometer never
passes for the brew's. A quantity no sensor has reported takes the simulator's default
(`DEFAULTS`), and the sample says which.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from phantom_cauldron.directory import SensorDirectory
from phantom_cauldron.recipes.effects import Conditions
from phantom_cauldron.series import Series, SeriesStore
from phantom_cauldron.simulator.physics import PhysicsSettings

_PHYSICS = PhysicsSettings()
DEFAULTS = {
    "temperature": _PHYSICS.setpoint,
    "humidity": _PHYSICS.room_humidity * 100,
    "ph": _PHYSICS.base_ph,
    "mystical_energy": _PHYSICS.energy_mean,
}
BREW_HINT = "brew"
"""A sensor whose name holds this word measures the brew itself."""


@dataclass(frozen=True)
class Sample:
    """Conditions, the sensor read for each quantity, and the quantities that fell back to
    the simulator's defaults."""

    conditions: Conditions
    defaulted: tuple[str, ...]
    sensors: Mapping[str, str]
    """Quantity → the id of the sensor whose reading was taken."""
    counts: Mapping[str, int]
    """Quantity → how many readings that sensor has given (a newer one raises it)."""


def sample_conditions(
    store: SeriesStore,
    sensors: SensorDirectory | None = None,
    chosen: Mapping[str, str] | None = None,
) -> Sample:
    """The latest reading of each quantity in `store` from the sensor that measures the
    brew (see the module), a default where there is none."""
    values: dict[str, float] = {}
    read: dict[str, str] = {}
    counts: dict[str, int] = {}
    defaulted: list[str] = []
    for name, default in DEFAULTS.items():
        series = _brew_series(store, name, sensors, (chosen or {}).get(name))
        if series is None:
            values[name] = default
            defaulted.append(name)
        else:
            values[name] = float(series.recent_view().values[-1])
            read[name] = series.sensor_id
            counts[name] = series.total
    return Sample(
        Conditions(
            values["temperature"], values["humidity"], values["ph"], values["mystical_energy"]
        ),
        tuple(defaulted),
        read,
        counts,
    )


def _brew_series(
    store: SeriesStore, quantity: str, sensors: SensorDirectory | None, chosen: str | None
) -> Series | None:
    found = store.quantities.get(quantity)
    heard = [series for series in found.series.values() if series.total] if found else []
    preferred = [series for series in heard if series.sensor_id == chosen]
    if not preferred and sensors is not None:
        preferred = [
            series
            for series in heard
            if (info := sensors.get(series.sensor_id, quantity)) is not None
            and BREW_HINT in info.label.casefold()
        ]
    candidates = preferred or heard
    return max(candidates, key=lambda series: series.last_seen) if candidates else None
