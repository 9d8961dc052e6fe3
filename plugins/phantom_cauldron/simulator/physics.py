"""The cauldron's physics: a heated brew losing heat to a room with a daily cycle, steam
above it, a pH that ingredients move, the weather's air pressure and a crystal ball's
mystical energy. Deterministic for a given random generator and sequence of steps."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

DAY_S = 86_400.0
MAX_SUBSTEP_S = 1.0
"""The thermostat and the random weather are updated at least this often."""


@dataclass(frozen=True, slots=True)
class PhysicsSettings:
    """The cauldron's constants (SI units, temperatures in °C)."""

    setpoint: float = 65.0
    hysteresis: float = 1.0
    """The thermostat switches the heater on below setpoint - this, off above setpoint + this."""
    heater_power: float = 2000.0
    heat_capacity: float = 20_000.0
    """J/K: about five litres of brew."""
    heat_loss: float = 15.0
    """W/K lost to the room."""
    room_mean: float = 19.0
    room_swing: float = 3.0
    warmest_hour: float = 15.0
    """UTC hour of the room's daily maximum."""
    room_humidity: float = 0.45
    steam: float = 0.08
    """The share of the brew's saturation vapour pressure that reaches the rim."""
    rim_mix: float = 0.35
    """How far the rim's air is from the room's temperature towards the brew's."""
    base_ph: float = 6.0
    dissolve_s: float = 60.0
    ph_recovery_s: float = 900.0
    ingredients_per_hour: float = 6.0
    ingredient_acidity: float = 0.12
    """Standard deviation of a random ingredient's effect on pH."""
    pressure_mean: float = 1013.0
    pressure_sd: float = 6.0
    pressure_tau_s: float = 6 * 3600.0
    energy_mean: float = 50.0
    energy_waves: tuple[tuple[float, float], ...] = ((420.0, 8.0), (1380.0, 5.0), (5820.0, 3.0))
    """(period s, amplitude) of the mystical energy's waves, besides a daily one."""
    energy_daily: float = 2.0
    magic_decay_s: float = 300.0

    @property
    def thermal_time_s(self) -> float:
        """The time constant with which the brew approaches its equilibrium temperature."""
        return self.heat_capacity / self.heat_loss

    def equilibrium(self, room: float, heating: bool) -> float:
        """The temperature the brew tends to in a room at `room` °C, the heater on or off."""
        return room + (self.heater_power / self.heat_loss if heating else 0.0)


def relax(value: float, target: float, seconds: float, time_constant: float) -> float:
    """`value` after `seconds` of exponential approach to `target`."""
    return target + (value - target) * math.exp(-seconds / time_constant)


def saturation_vapour_pressure(celsius: float) -> float:
    """hPa over water (Magnus formula)."""
    return 6.112 * math.exp(17.62 * celsius / (243.12 + celsius))


class Cauldron:
    """The true state of the brew and its surroundings, advanced by `step`.

    `heater_enabled` and `setpoint` and `add_ingredient` are the controls a brew uses.
    """

    def __init__(
        self, rng: random.Random, start: float, settings: PhysicsSettings | None = None
    ) -> None:
        self.settings = settings = settings or PhysicsSettings()
        self._rng = rng
        self.time = start
        self.setpoint = settings.setpoint
        self.heater_enabled = True
        self.heater_on = False
        self.temperature = settings.setpoint
        self.pressure = settings.pressure_mean + rng.gauss(0.0, settings.pressure_sd)
        self._undissolved = 0.0
        self._acidity = 0.0
        self._magic = 0.0
        self._phases = [
            rng.uniform(0.0, 2 * math.pi) for _ in range(len(settings.energy_waves) + 1)
        ]
        self._next_ingredient = start + self._ingredient_wait()

    def add_ingredient(self, acidity: float, magic: float = 0.0) -> None:
        """Drop in an ingredient: once dissolved it lowers the pH by `acidity` (raises it if
        negative), and it lifts the mystical energy by `magic`; both fade again."""
        self._undissolved += acidity
        self._magic += magic

    def step(self, seconds: float) -> None:
        """Advance the state by `seconds`."""
        end = self.time + max(seconds, 0.0)
        while self.time < end:
            substep = min(MAX_SUBSTEP_S, end - self.time)
            self._advance(substep)
            self.time += substep
            if self.time >= self._next_ingredient:
                self.add_ingredient(self._rng.gauss(0.0, self.settings.ingredient_acidity))
                self._next_ingredient = self.time + self._ingredient_wait()

    def _ingredient_wait(self) -> float:
        return self._rng.expovariate(self.settings.ingredients_per_hour / 3600.0)

    def _advance(self, seconds: float) -> None:
        settings = self.settings
        if self.temperature < self.setpoint - settings.hysteresis:
            self.heater_on = self.heater_enabled
        elif self.temperature > self.setpoint + settings.hysteresis or not self.heater_enabled:
            self.heater_on = False
        equilibrium = settings.equilibrium(self.room_temperature(), self.heater_on)
        self.temperature = relax(self.temperature, equilibrium, seconds, settings.thermal_time_s)
        dissolved = self._undissolved * -math.expm1(-seconds / settings.dissolve_s)
        self._undissolved -= dissolved
        self._acidity = self._acidity * math.exp(-seconds / settings.ph_recovery_s) + dissolved
        self._magic *= math.exp(-seconds / settings.magic_decay_s)
        keep = math.exp(-seconds / settings.pressure_tau_s)
        noise = settings.pressure_sd * math.sqrt(1.0 - keep * keep)
        self.pressure = (
            settings.pressure_mean
            + (self.pressure - settings.pressure_mean) * keep
            + noise * self._rng.gauss(0.0, 1.0)
        )

    def room_temperature(self) -> float:
        """The room's air, warmest in the afternoon."""
        settings = self.settings
        hours = (self.time % DAY_S) / 3600.0
        return settings.room_mean + settings.room_swing * math.cos(
            2 * math.pi * (hours - settings.warmest_hour) / 24.0
        )

    def rim_temperature(self) -> float:
        """The air at the cauldron's rim, between the room and the brew."""
        room = self.room_temperature()
        return room + self.settings.rim_mix * (self.temperature - room)

    def rim_humidity(self) -> float:
        """Relative humidity at the rim (%): the room's moisture plus the brew's steam."""
        settings = self.settings
        vapour = settings.room_humidity * saturation_vapour_pressure(self.room_temperature())
        vapour += settings.steam * saturation_vapour_pressure(self.temperature)
        return min(100.0, 100.0 * vapour / saturation_vapour_pressure(self.rim_temperature()))

    def wall_temperature(self) -> float:
        """The cauldron's wall above the burner: hotter than the brew while it heats."""
        return self.temperature + (6.0 if self.heater_on else 0.0)

    def ph(self) -> float:
        """The brew's pH."""
        return min(14.0, max(0.0, self.settings.base_ph - self._acidity))

    def mystical_energy(self) -> float:
        """The crystal ball's reading: overlapping waves, a daily tide and fading magic."""
        settings = self.settings
        energy = settings.energy_mean + self._magic
        periods = (*settings.energy_waves, (DAY_S, settings.energy_daily))
        for (period, amplitude), phase in zip(periods, self._phases, strict=True):
            energy += amplitude * math.sin(2 * math.pi * self.time / period + phase)
        return energy
