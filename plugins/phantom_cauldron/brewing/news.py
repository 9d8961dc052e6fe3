"""What the app says of a brew on its hub: `cauldron/brew/<brew>/started`, then a `step`
for each step the cauldron reports, then `ended`, with the predicted pH and temperature
against the measured ones when there are readings to compare."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from phantom_cauldron.recipes.effects import BrewState

BREW_EVENTS = "cauldron/brew"

Ending = Literal["done", "cancelled", "refused", "unanswered"]
"""`unanswered`: the cauldron never said the brew was done; it was judged at its end."""


def brew_event_topic(brew: str, kind: Literal["started", "step", "ended"]) -> str:
    """The hub topic of brew `brew`'s news of `kind`."""
    return f"{BREW_EVENTS}/{brew}/{kind}"


@dataclass(frozen=True)
class BrewStarted:
    """A brew sent: the recipe, where to, how long it lasts and what it should end at."""

    brew: str
    recipe: str
    destination: str
    """The MQTT connection's name and the command topic."""
    steps: int
    duration_s: float
    predicted: BrewState


@dataclass(frozen=True)
class BrewStep:
    """The cauldron began step `step` (from 1) of `steps`."""

    brew: str
    step: int
    steps: int
    action: str | None


@dataclass(frozen=True)
class BrewComparison:
    """The brew's end as predicted and as its sensors measured it."""

    predicted: BrewState
    temperature: float
    """Measured, °C."""
    ph: float
    """Measured."""

    @property
    def temperature_error(self) -> float:
        """Measured less predicted, °C."""
        return self.temperature - self.predicted.temperature

    @property
    def ph_error(self) -> float:
        """Measured less predicted."""
        return self.ph - self.predicted.ph


@dataclass(frozen=True)
class BrewEnded:
    """How a brew ended, why (for a refusal or no answer), and the comparison."""

    brew: str
    recipe: str
    ending: Ending
    reason: str | None = None
    comparison: BrewComparison | None = None
