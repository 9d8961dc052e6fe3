"""What the Brewing tab says of the brew under way (or the last one), kept without Qt: the
brew the user sent, the cauldron's steps as they come, and how it ended, with the
predicted pH and temperature against the measured ones."""

from __future__ import annotations

from typing import Protocol

from phantom_cauldron.brewing.news import BrewEnded, BrewStarted, BrewStep
from phantom_cauldron.recipes.model import PotionRecipe


class BrewControl(Protocol):
    """What sends brews and cancels: `brew` returns the brew's id, or raises
    `BrewNotSent`."""

    def brew(self, recipe: PotionRecipe) -> str:
        """Send `recipe` to the cauldron."""
        ...

    def cancel(self, brew_id: str) -> None:
        """Tell the cauldron to stop `brew_id`."""
        ...


def _signed(value: float, digits: int) -> str:
    """`value` with its sign (none when it rounds to zero), a true minus sign."""
    if round(value, digits) == 0:
        return f"{0:.{digits}f}"
    return f"{value:+.{digits}f}".replace("-", "−")


def ended_text(ended: BrewEnded) -> str:
    """How a brew ended, and the comparison, in a sentence or three."""
    headline = {
        "done": f"Brewed {ended.recipe}.",
        "cancelled": f"Brew of {ended.recipe} cancelled.",
        "refused": f"The cauldron refused the brew of {ended.recipe}.",
        "unanswered": f"Brew of {ended.recipe} over.",
    }[ended.ending]
    parts = [headline]
    if ended.reason:
        parts.append(ended.reason[0].upper() + ended.reason[1:] + ".")
    comparison = ended.comparison
    if comparison is not None:
        predicted = comparison.predicted
        parts.append(
            f"Temperature: predicted {predicted.temperature:.1f} °C, measured"
            f" {comparison.temperature:.1f} °C (error"
            f" {_signed(comparison.temperature_error, 1)} °C)."
            f" pH: predicted {predicted.ph:.2f}, measured {comparison.ph:.2f} (error"
            f" {_signed(comparison.ph_error, 2)})."
        )
    return " ".join(parts)


class BrewFollowing:
    """The brew the tab follows: the last one sent, with its news as it arrives."""

    def __init__(self) -> None:
        self.brew: str | None = None
        self.started: BrewStarted | None = None
        self.step: BrewStep | None = None
        self.ended: BrewEnded | None = None
        self.problem: str | None = None
        """Why the last brew could not be sent."""
        self.revision = 0

    @property
    def under_way(self) -> bool:
        """Whether a brew was sent and has not ended."""
        return self.brew is not None and self.ended is None

    def sent(self, brew_id: str) -> None:
        """Follow brew `brew_id` (its first news may already have come)."""
        if brew_id != self.brew:
            self.brew, self.started, self.step, self.ended = brew_id, None, None, None
        self.problem = None
        self.revision += 1

    def not_sent(self, problem: str) -> None:
        """Say why a brew could not be sent (the last brew's news stays)."""
        self.problem = problem
        self.revision += 1

    def on_event(self, data: object) -> bool:
        """Take in a brew event's data; False when it is not understood, or of a brew other
        than the one under way (a brew that starts while none is under way is followed)."""
        if isinstance(data, BrewStarted) and (not self.under_way or data.brew == self.brew):
            self.brew, self.started, self.step, self.ended = data.brew, data, None, None
            self.problem = None
        elif isinstance(data, BrewStep | BrewEnded) and data.brew == self.brew and self.under_way:
            if isinstance(data, BrewStep):
                self.step = data
            else:
                self.ended = data
        else:
            return False
        self.revision += 1
        return True

    def text(self) -> str:
        """The tab's line on brewing."""
        if self.problem is not None:
            return f"Not brewed: {self.problem}."
        if self.ended is not None:
            return ended_text(self.ended)
        started = self.started
        if started is None:
            return "Sending the brew…" if self.brew is not None else ""
        if self.step is not None:
            action = f" ({self.step.action.replace('_', ' ')})" if self.step.action else ""
            return f"Brewing {started.recipe}: step {self.step.step} of {self.step.steps}{action}."
        minutes = started.duration_s / 60
        return (
            f"Brewing {started.recipe} on {started.destination}: {started.steps} steps over"
            f" {minutes:.0f} min, sent."
        )
