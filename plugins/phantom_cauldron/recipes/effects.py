"""The effect model: what a recipe does to the cauldron, and which effects the potion has.

Deterministic: the same recipe, conditions and physics always give the same prediction.
It follows the simulated cauldron's physics (`phantom_cauldron.simulator.physics`, with
its `PhysicsSettings`):

- A brew starts with the heater off. `heat_to` and `simmer` set the thermostat to their
  `temperature_c` and turn the heater on; `rest` turns it off; `add` and `stir` leave it
  as it is. Each step then lasts its `duration_s`.
- Temperature: with the heater off the brew relaxes towards the room's temperature, with
  it on towards `PhysicsSettings.equilibrium(room, heating=True)`, with the time constant
  `thermal_time_s`. Once the brew reaches the setpoint the thermostat holds it there,
  within the simulator's hysteresis (±1 °C by default): the model then predicts the
  setpoint itself.
- pH: the brew's pH is `base_ph` less its acidity. The acidity it starts with (`base_ph`
  less the current pH) fades with `ph_recovery_s`. An added ingredient brings `acidity ×
  quantity`, which dissolves with `dissolve_s` and then fades with `ph_recovery_s`, as
  `add_ingredient` does; the pH is clipped to 0…14.
- Mystical energy: the current level plus each ingredient's `magic × quantity`, fading
  with `magic_decay_s`. The crystal ball's own waves are not predicted.

Effects: each added ingredient gives its magical properties (strength per unit ×
quantity) in the share it releases, `1 - exp(-dose / EXTRACTION_DOSE)`, where the dose
is the time integral, from its addition to the end of the brew, of the brew's degrees
above `EXTRACTION_FLOOR_C` (counted twice while stirring; each step at the mean of its
start and end temperatures). The mystical energy when it is added scales it
(`energy / energy_mean`). At the end, a pH away from neutral (`exp(-((pH - 7) /
PH_WIDTH)²)`) and damp air at the rim (`1 - DAMPNESS × humidity / 100`) weaken every
effect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from phantom_cauldron.recipes.model import HEATED, Effect, PotionRecipe
from phantom_cauldron.simulator.physics import PhysicsSettings, relax

EXTRACTION_FLOOR_C = 40.0
EXTRACTION_DOSE = 20_000.0
"""K·s above the floor that release 63 % of an ingredient's properties."""
PH_WIDTH = 3.0
DAMPNESS = 0.5


@dataclass(frozen=True, slots=True)
class Conditions:
    """The cauldron as its sensors read it when the brew starts."""

    temperature: float
    """The brew, °C."""
    humidity: float
    """At the rim, %."""
    ph: float
    mystical_energy: float
    room_temperature: float = PhysicsSettings().room_mean


@dataclass(frozen=True, slots=True)
class BrewState:
    """The brew at one moment: temperature (°C), pH and mystical energy (thaum)."""

    temperature: float
    ph: float
    mystical_energy: float


@dataclass(frozen=True, slots=True)
class Prediction:
    """A recipe's effects, strongest first, the brew after each step and its length."""

    effects: tuple[Effect, ...]
    after_steps: tuple[BrewState, ...]
    duration_s: float

    @property
    def end(self) -> BrewState:
        """The brew when the recipe is done (the conditions' own if it has no steps)."""
        return self.after_steps[-1]


@dataclass(frozen=True, slots=True)
class _Drop:
    time: float
    acidity: float
    magic: float
    properties: dict[str, float]
    potency: float
    """Energy scaling × quantity: what multiplies the properties once extracted."""


def predict(
    recipe: PotionRecipe, conditions: Conditions, physics: PhysicsSettings | None = None
) -> Prediction:
    """What `recipe` brewed from `conditions` gives, under `physics` (the default cauldron)."""
    physics = physics or PhysicsSettings()
    start_acidity = physics.base_ph - conditions.ph
    temperature, setpoint, now = conditions.temperature, None, 0.0
    drops: list[_Drop] = []
    doses: list[float] = []
    states = [BrewState(conditions.temperature, conditions.ph, conditions.mystical_energy)]
    for step in recipe.brewing_steps:
        if step.action in HEATED:
            setpoint = step.temperature_c
        elif step.action == "rest":
            setpoint = None
        elif step.ingredient is not None and step.quantity is not None:
            ingredient = recipe.ingredient(step.ingredient)
            energy = _energy(conditions.mystical_energy, drops, now, physics)
            drops.append(
                _Drop(
                    now,
                    ingredient.acidity * step.quantity,
                    ingredient.magic * step.quantity,
                    ingredient.magical_properties,
                    step.quantity * max(0.0, energy) / physics.energy_mean,
                )
            )
            doses.append(0.0)
        end = _temperature(temperature, setpoint, step.duration_s, conditions, physics)
        heat = max(0.0, (temperature + end) / 2 - EXTRACTION_FLOOR_C) * step.duration_s
        doses = [dose + heat * (2 if step.action == "stir" else 1) for dose in doses]
        temperature, now = end, now + step.duration_s
        ph = _ph(start_acidity, drops, now, physics)
        states.append(BrewState(end, ph, _energy(conditions.mystical_energy, drops, now, physics)))
    ph = states[-1].ph
    keep = math.exp(-(((ph - 7.0) / PH_WIDTH) ** 2)) * (1 - DAMPNESS * conditions.humidity / 100)
    strengths: dict[str, float] = {}
    for drop, dose in zip(drops, doses, strict=True):
        released = -math.expm1(-dose / EXTRACTION_DOSE) * drop.potency * keep
        for name, strength in drop.properties.items():
            strengths[name] = strengths.get(name, 0.0) + strength * released
    effects = sorted(strengths.items(), key=lambda item: (-item[1], item[0]))
    return Prediction(
        tuple(Effect(name=name, strength=strength) for name, strength in effects),
        tuple(states[1:]) or tuple(states),
        now,
    )


def _temperature(
    temperature: float,
    setpoint: float | None,
    seconds: float,
    conditions: Conditions,
    physics: PhysicsSettings,
) -> float:
    """The brew after `seconds` under a thermostat at `setpoint` (None: heater off)."""
    room = conditions.room_temperature
    if setpoint is None:
        return relax(temperature, room, seconds, physics.thermal_time_s)
    if temperature == setpoint:
        return setpoint
    target = physics.equilibrium(room, heating=temperature < setpoint)
    share = (setpoint - temperature) / (target - temperature)
    if 0.0 < share < 1.0 and seconds >= -physics.thermal_time_s * math.log1p(-share):
        return setpoint
    return relax(temperature, target, seconds, physics.thermal_time_s)


def _ph(start_acidity: float, drops: list[_Drop], now: float, physics: PhysicsSettings) -> float:
    recovery, dissolve = physics.ph_recovery_s, physics.dissolve_s
    acidity = start_acidity * math.exp(-now / recovery)
    for drop in drops:
        age = now - drop.time
        fading = math.exp(-age / recovery) - math.exp(-age / dissolve)
        acidity += drop.acidity * recovery / (recovery - dissolve) * fading
    return min(14.0, max(0.0, physics.base_ph - acidity))


def _energy(start: float, drops: list[_Drop], now: float, physics: PhysicsSettings) -> float:
    return start + sum(
        drop.magic * math.exp(-(now - drop.time) / physics.magic_decay_s) for drop in drops
    )
