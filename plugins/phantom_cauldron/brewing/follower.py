"""A simulated cauldron following a brew: each step acts at its exact simulated time."""

from __future__ import annotations

from phantom_cauldron.brewing.commands import AddStep, BrewCommand, HeatStep, PlainStep
from phantom_cauldron.brewing.status import BrewStatus
from phantom_cauldron.simulator.model import CauldronSimulator


class BrewFollower:
    """Follows at most one brew on a simulator: `begin` it, `advance` the simulator through
    it (stepping to each step's time before acting), `cancel` it."""

    def __init__(self) -> None:
        self._brew: BrewCommand | None = None
        self._start = 0.0
        self._done = 0
        """How many of the brew's steps have acted."""

    @property
    def brew(self) -> BrewCommand | None:
        """The brew under way."""
        return self._brew

    def begin(self, brew: BrewCommand, start: float) -> BrewStatus | None:
        """Follow `brew` from simulated time `start`; a refusal while another is under way."""
        if self._brew is not None:
            return BrewStatus(
                brew=brew.brew,
                recipe=brew.recipe,
                state="refused",
                reason=f"brew {self._brew.brew!r} is under way; cancel it first",
            )
        self._brew, self._start, self._done = brew, start, 0
        return None

    def cancel(self, brew_id: str, simulator: CauldronSimulator) -> BrewStatus:
        """Stop brew `brew_id` and turn the heater off; a refusal if it is not under way."""
        brew = self._brew
        if brew is None or brew.brew != brew_id:
            return BrewStatus(
                brew=brew_id, state="refused", reason=f"no brew {brew_id!r} is under way"
            )
        self._brew = None
        simulator.cauldron.heater_enabled = False
        return BrewStatus(
            brew=brew.brew,
            recipe=brew.recipe,
            state="cancelled",
            step=self._done,
            steps=len(brew.steps),
        )

    def advance(self, simulator: CauldronSimulator, seconds: float) -> list[BrewStatus]:
        """Advance `simulator` by `seconds`, acting on every step that falls due on the way;
        the news of the steps begun and of the brew's end."""
        end = simulator.time + max(seconds, 0.0)
        news: list[BrewStatus] = []
        while (brew := self._brew) is not None:
            if self._done < len(brew.steps):
                due = self._start + brew.steps[self._done].at_s
            else:
                due = self._start + brew.duration_s
            if due > end:
                break
            simulator.step(due - simulator.time)
            if self._done == len(brew.steps):
                self._brew = None
                news.append(
                    BrewStatus(
                        brew=brew.brew,
                        recipe=brew.recipe,
                        state="done",
                        step=self._done,
                        steps=len(brew.steps),
                    )
                )
                continue
            step = brew.steps[self._done]
            _act(step, simulator, first=self._done == 0)
            self._done += 1
            news.append(
                BrewStatus(
                    brew=brew.brew,
                    recipe=brew.recipe,
                    state="step",
                    step=self._done,
                    steps=len(brew.steps),
                    action=step.action,
                )
            )
        simulator.step(end - simulator.time)
        return news


def _act(
    step: HeatStep | AddStep | PlainStep, simulator: CauldronSimulator, *, first: bool
) -> None:
    """What `step` does to the cauldron; a brew's first step finds the heater off."""
    cauldron = simulator.cauldron
    if first:
        cauldron.heater_enabled = False
    if isinstance(step, HeatStep):
        cauldron.setpoint, cauldron.heater_enabled = step.temperature_c, True
    elif isinstance(step, AddStep):
        cauldron.add_ingredient(step.acidity * step.quantity, step.magic * step.quantity)
    elif step.action == "rest":
        cauldron.heater_enabled = False
