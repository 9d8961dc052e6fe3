"""The haunts: spirits that speak when the room falls quiet, or on a whim.

Each haunt speaks as a Poisson process: while it may speak, its chance in a tick of `dt`
seconds is `1 - exp(-rate * dt)`, so how often it speaks does not depend on how often the
circle is ticked. Its rate is its `interruption_probability` (per second) once the room
has been quiet for as long as its personality waits, raised by the atmosphere and by a
`summoning`; before that it speaks only on a whim, at a small fraction of that rate.
A `banishing` silences every haunt, and after speaking a haunt rests for `cooldown_s`.
All chances are drawn from one seeded generator, one draw per haunt per tick (and one
for the voice of each manifestation), so the same seed and inputs repeat a séance.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from phantom_seance.events import Manifestation, Personality

SUMMONING = "summoning"
BANISHING = "banishing"


@dataclass(frozen=True, slots=True)
class Temperament:
    """How a personality answers the room."""

    quiet_after_s: float
    """How long the room must be quiet before the haunt may speak of its own accord."""
    whim: float
    """The haunt's rate before the room is quiet enough, as a fraction of its full rate."""
    atmosphere_gain: float
    """The rate is multiplied by `1 + atmosphere_gain * atmosphere` (atmosphere in [0, 1])."""
    summoning_gain: float
    """The rate is multiplied by this while a summoning is active."""


TEMPERAMENTS: dict[Personality, Temperament] = {
    "mischievous": Temperament(
        quiet_after_s=4.0, whim=0.25, atmosphere_gain=0.5, summoning_gain=2.0
    ),
    "melancholy": Temperament(
        quiet_after_s=10.0, whim=0.05, atmosphere_gain=1.0, summoning_gain=2.0
    ),
    "malevolent": Temperament(quiet_after_s=7.0, whim=0.1, atmosphere_gain=3.0, summoning_gain=3.0),
}


@dataclass(frozen=True, slots=True)
class Haunt:
    """One spirit of the circle."""

    name: str
    personality: Personality
    voice_model: str
    interruption_probability: float
    """Its rate of speaking, per second, once the room has been quiet long enough."""
    cooldown_s: float
    last_manifestation: float | None = None

    def __post_init__(self) -> None:
        if self.personality not in TEMPERAMENTS:
            raise ValueError(f"haunt {self.name!r}: unknown personality {self.personality!r}")
        if not 0.0 <= self.interruption_probability <= 10.0:
            raise ValueError(
                f"haunt {self.name!r}: interruption_probability "
                f"{self.interruption_probability} is not a rate per second in [0, 10]"
            )
        if self.cooldown_s < 0:
            raise ValueError(f"haunt {self.name!r}: cooldown_s {self.cooldown_s} is negative")

    def rate(
        self, now: float, quiet_for_s: float, atmosphere: float, rituals: frozenset[str]
    ) -> tuple[float, Literal["quiet", "whim"]]:
        """Its rate of speaking per second at `now`, and why (`quiet` or `whim`); zero while
        it rests after speaking or while a banishing holds."""
        resting = (
            self.last_manifestation is not None and now - self.last_manifestation < self.cooldown_s
        )
        temperament = TEMPERAMENTS[self.personality]
        quiet = quiet_for_s >= temperament.quiet_after_s
        if resting or BANISHING in rituals:
            return 0.0, "quiet" if quiet else "whim"
        rate = self.interruption_probability * (1 + temperament.atmosphere_gain * atmosphere)
        if SUMMONING in rituals:
            rate *= temperament.summoning_gain
        return (rate, "quiet") if quiet else (rate * temperament.whim, "whim")


def default_haunts() -> list[Haunt]:
    """The three spirits a séance starts with, one of each personality."""
    return [
        Haunt("pip", "mischievous", "imp", interruption_probability=0.12, cooldown_s=8.0),
        Haunt("agnes", "melancholy", "lament", interruption_probability=0.06, cooldown_s=20.0),
        Haunt("mordred", "malevolent", "wraith", interruption_probability=0.05, cooldown_s=30.0),
    ]


class HauntCircle:
    """The séance's haunts, ticked on the séance's clock, drawing from one seeded source."""

    def __init__(self, haunts: Iterable[Haunt], seed: int) -> None:
        self.haunts = list(haunts)
        names = [haunt.name for haunt in self.haunts]
        if len(set(names)) != len(names):
            raise ValueError(f"haunt names must differ: {names}")
        self._rng = np.random.default_rng(seed)
        self._last_tick: float | None = None

    def tick(
        self, now: float, quiet_for_s: float, atmosphere: float, rituals: frozenset[str]
    ) -> list[Manifestation]:
        """The haunts that speak in the time since the last tick (none at the first tick,
        which only starts the clock, nor when the clock has not moved on)."""
        dt = 0.0 if self._last_tick is None else max(0.0, now - self._last_tick)
        self._last_tick = now if self._last_tick is None else max(now, self._last_tick)
        spoken: list[Manifestation] = []
        for index, haunt in enumerate(self.haunts):
            draw = self._rng.random()
            rate, reason = haunt.rate(now, quiet_for_s, atmosphere, rituals)
            if draw >= -math.expm1(-rate * dt):
                continue
            self.haunts[index] = dataclasses.replace(haunt, last_manifestation=now)
            spoken.append(
                Manifestation(
                    haunt=haunt.name,
                    personality=haunt.personality,
                    voice_model=haunt.voice_model,
                    at=now,
                    reason=reason,
                    voice_seed=int(self._rng.integers(2**31)),
                )
            )
        return spoken
