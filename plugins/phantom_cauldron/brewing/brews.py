"""Brewing recipes in the cauldron: each brew sent as one command over MQTT, followed by
the status the cauldron reports, recorded as an audit run, and judged when it ends.

`Brews.brew` predicts the recipe's end from the cauldron's conditions now, sends the
brew command (`commands_for`) on the command topic, opens the audit run ("brew") and
publishes `BrewStarted`. Each status on `<topic>/status` for one of its brews becomes a
`BrewStep` and a phase of the run. After ``done`` it waits for the brew's next temperature
and pH readings (at most `READINGS_WAIT_S`), then compares them with the predicted ones
(`BrewEnded`). A cauldron that never says the brew is done is judged
`unanswered` a grace after the brew should have ended (`answer_deadline`), and a cancel
it does not confirm ends the brew after `CANCEL_WAIT_S`. Everything runs on the hub's
thread; `call_later` is the loop's.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from phantom_cauldron.brewing.commands import BREW_TOPIC, cancel_for, commands_for
from phantom_cauldron.brewing.news import (
    BrewComparison,
    BrewEnded,
    BrewStarted,
    BrewStep,
    Ending,
    brew_event_topic,
)
from phantom_cauldron.brewing.status import BrewStatus, status_topic
from phantom_cauldron.evolution.conditions import Sample
from phantom_cauldron.recipes.effects import predict
from phantom_cauldron.recipes.model import PotionRecipe
from phantom_gui.core.events import EventMetadata
from phantom_gui.mqtt.messages import MqttMessage

READINGS_WAIT_S = 30.0
"""After the cauldron says a brew is done, its next readings are awaited this long at most."""
READINGS_POLL_S = 0.1
CANCEL_WAIT_S = 10.0
MIN_GRACE_S = 60.0
GRACE_SHARE = 0.1
COMPARED = ("temperature", "ph")

Publish = Callable[..., Any]
Send = Callable[[str, bytes], str]
"""Sends a payload on a topic; returns the name of the connection it went on, or raises
`BrewNotSent`."""
CallLater = Callable[[float, Callable[[], None]], Any]
Measure = Callable[[], Sample]
OpenRun = Callable[..., Any]


class BrewNotSent(RuntimeError):
    """A brew or cancel that could not be sent, and why."""


def answer_deadline(duration_s: float) -> float:
    """How long after a brew is sent it is judged if the cauldron never says it is done."""
    return duration_s + max(MIN_GRACE_S, GRACE_SHARE * duration_s)


@dataclass
class _Brew:
    started: BrewStarted
    audit: Any
    timer: Any = None
    step: int = 0


class Brews:
    """Send brews and cancels on `topic` with `send`, follow them to their end, and say
    so on the hub with `publish`; `measure` reads the cauldron's conditions, `open_run`
    opens an audit run (None: none is recorded)."""

    def __init__(
        self,
        publish: Publish,
        send: Send,
        measure: Measure,
        call_later: CallLater,
        open_run: OpenRun | None = None,
        topic: str = BREW_TOPIC,
        logger: logging.Logger | None = None,
    ) -> None:
        self.publish = publish
        self.send = send
        self.measure = measure
        self.call_later = call_later
        self.open_run = open_run
        self.topic = topic
        self.logger = logger or logging.getLogger(__name__)
        self.brews: dict[str, _Brew] = {}

    def brew(self, recipe: PotionRecipe) -> str:
        """Send `recipe` to the cauldron; the brew's id (`BrewNotSent` says why not)."""
        sample = self.measure()
        prediction = predict(recipe, sample.conditions)
        brew_id = f"brew-{uuid.uuid4().hex[:10]}"
        command = commands_for(recipe, brew_id)
        destination = self.send(self.topic, json.dumps(command).encode())
        started = BrewStarted(
            brew_id,
            recipe.id,
            f"{destination} · {self.topic}",
            len(prediction.after_steps) if recipe.brewing_steps else 0,
            prediction.duration_s,
            prediction.end,
        )
        audit = None
        if self.open_run is not None:
            audit = self.open_run(
                "brew",
                f"Brew {recipe.id}",
                brew=brew_id,
                recipe=recipe.model_dump(mode="json"),
                command=command,
                conditions=dataclasses.asdict(sample.conditions),
                predicted=dataclasses.asdict(prediction.end),
            )
        state = self.brews[brew_id] = _Brew(started, audit)
        self._emit(state, "started", started)
        state.timer = self.call_later(
            answer_deadline(prediction.duration_s), lambda: self._judge(brew_id, "unanswered")
        )
        return brew_id

    def cancel(self, brew_id: str) -> None:
        """Tell the cauldron to stop `brew_id` (nothing if it has ended)."""
        state = self.brews.get(brew_id)
        if state is None:
            return
        self.send(self.topic, json.dumps(cancel_for(brew_id)).encode())
        state.timer.cancel()
        state.timer = self.call_later(
            CANCEL_WAIT_S,
            lambda: self._end(brew_id, "cancelled", "the cauldron did not confirm the cancel"),
        )

    def close(self) -> None:
        """Stop following every brew (the cauldron goes on with them)."""
        for state in self.brews.values():
            state.timer.cancel()
        self.brews.clear()

    def is_status(self, topic: str) -> bool:
        """Whether `topic` carries the cauldron's news of brews."""
        return topic == status_topic(self.topic)

    def on_status(self, message: MqttMessage) -> None:
        """Take one status the cauldron reported (statuses of other brews are ignored)."""
        try:
            status = BrewStatus.model_validate_json(message.payload)
        except ValidationError as exc:
            self.logger.warning(
                "an unreadable brewing status on %s: %s", message.topic, exc.errors()[0]["msg"]
            )
            return
        state = self.brews.get(status.brew or "")
        if state is None:
            return
        if status.state == "step":
            self._step(state, status)
        elif status.state == "done":
            self._close_phase(state)
            state.timer.cancel()
            self._await_readings(state, self.measure(), round(READINGS_WAIT_S / READINGS_POLL_S))
        else:
            self._end(state.started.brew, status.state, status.reason)

    def _step(self, state: _Brew, status: BrewStatus) -> None:
        self._close_phase(state)
        state.step = status.step
        if state.audit is not None:
            state.audit.start_phase(status.step, status.action or "", steps=status.steps)
        news = BrewStep(state.started.brew, status.step, status.steps, status.action)
        self._emit(state, "step", news)

    def _close_phase(self, state: _Brew) -> None:
        if state.audit is not None and state.step:
            state.audit.complete_phase(state.step)

    def _await_readings(self, state: _Brew, before: Sample, polls: int) -> None:
        """Judge the brew once the temperature and pH have been read anew since `before`
        (or after `polls` more looks, with what there is)."""
        counts = self.measure().counts
        fresh = all(counts.get(name, 0) > before.counts.get(name, 0) for name in COMPARED)
        if fresh or polls <= 0:
            self._judge(state.started.brew, "done")
        else:
            state.timer = self.call_later(
                READINGS_POLL_S, lambda: self._await_readings(state, before, polls - 1)
            )

    def _judge(self, brew_id: str, ending: Ending) -> None:
        state = self.brews.get(brew_id)
        if state is None:
            return
        sample = self.measure()
        unanswered = "the cauldron never said it was done" if ending == "unanswered" else None
        unread = [name for name in COMPARED if name in sample.defaulted]
        if unread:
            nothing = f"no sensor reads the brew's {' or '.join(unread)}, so nothing to compare"
            self._end(brew_id, ending, "; ".join(filter(None, (unanswered, nothing))))
            return
        comparison = BrewComparison(
            state.started.predicted, sample.conditions.temperature, sample.conditions.ph
        )
        self._end(brew_id, ending, unanswered, comparison)

    def _end(
        self,
        brew_id: str,
        ending: Ending,
        reason: str | None,
        comparison: BrewComparison | None = None,
    ) -> None:
        state = self.brews.pop(brew_id, None)
        if state is None:
            return
        state.timer.cancel()
        ended = BrewEnded(brew_id, state.started.recipe, ending, reason, comparison)
        self._emit(state, "ended", ended)
        if state.audit is None:
            return
        if ending == "refused":
            state.audit.fail(reason or "refused by the cauldron")
            return
        outcome: dict[str, Any] = {"ending": ending, "reason": reason}
        if comparison is not None:
            outcome |= {
                "measured_temperature": comparison.temperature,
                "measured_ph": comparison.ph,
                "temperature_error": comparison.temperature_error,
                "ph_error": comparison.ph_error,
            }
        state.audit.complete(**outcome)

    def _emit(self, state: _Brew, kind: Any, data: object) -> None:
        metadata: EventMetadata = {}
        if state.audit is not None:
            metadata["run"] = state.audit.id
        self.publish(brew_event_topic(state.started.brew, kind), data, metadata=metadata)
