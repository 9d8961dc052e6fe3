"""The cauldron's conditions for an evolution, read from the series store's latest readings.

Quantities as the parser names them: ``temperature``, ``humidity``, ``ph`` and
``mystical_energy``; of several sensors the one heard last counts. A quantity no sensor
has reported takes the simulator's default (`DEFAULTS`), and the sample says which.
"""

from __future__ import annotations

from dataclasses import dataclass

from phantom_cauldron.recipes.effects import Conditions
from phantom_cauldron.series import SeriesStore
from phantom_cauldron.simulator.physics import PhysicsSettings

_PHYSICS = PhysicsSettings()
DEFAULTS = {
    "temperature": _PHYSICS.setpoint,
    "humidity": _PHYSICS.room_humidity * 100,
    "ph": _PHYSICS.base_ph,
    "mystical_energy": _PHYSICS.energy_mean,
}


@dataclass(frozen=True)
class Sample:
    """Conditions and the quantities that fell back to the simulator's defaults."""

    conditions: Conditions
    defaulted: tuple[str, ...]


def sample_conditions(store: SeriesStore) -> Sample:
    """The latest reading of each quantity in `store`, a default where there is none."""
    values: dict[str, float] = {}
    defaulted: list[str] = []
    for name, default in DEFAULTS.items():
        quantity = store.quantities.get(name)
        heard = [s for s in quantity.series.values() if s.total] if quantity else []
        if heard:
            latest = max(heard, key=lambda series: series.last_seen).recent_view()
            values[name] = float(latest.values[-1])
        else:
            values[name] = default
            defaulted.append(name)
    return Sample(
        Conditions(
            values["temperature"], values["humidity"], values["ph"], values["mystical_energy"]
        ),
        tuple(defaulted),
    )
