"""Following brews without a cauldron's reply: the brew conditions read from the brew's
own sensors, the end judged against the prediction, and what happens when the cauldron
is silent, refuses, or sends what cannot be read."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from phantom_cauldron.brew_view_model import BrewFollowing, ended_text
from phantom_cauldron.brewing.brews import (
    CANCEL_WAIT_S,
    READINGS_WAIT_S,
    BrewNotSent,
    Brews,
    answer_deadline,
)
from phantom_cauldron.brewing.news import BrewComparison, BrewEnded, BrewStarted, BrewStep
from phantom_cauldron.brewing.status import BrewStatus, status_topic
from phantom_cauldron.directory import SensorDirectory, SensorInfo
from phantom_cauldron.evolution.conditions import DEFAULTS, sample_conditions
from phantom_cauldron.readings import SensorReading
from phantom_cauldron.recipes.catalogue import load_catalogue
from phantom_cauldron.recipes.effects import BrewState, predict
from phantom_cauldron.recipes.model import BrewingStep, PotionRecipe
from phantom_cauldron.series import SeriesStore
from phantom_gui.mqtt.messages import MqttMessage

TOPIC = "lab/cauldron/brew"


def reading(sensor: str, quantity: str, value: float, at: float) -> SensorReading:
    return SensorReading(sensor, quantity, value, None, at, "lab")


def named(directory: SensorDirectory, sensor: str, quantity: str, name: str) -> None:
    directory.learn(SensorInfo(sensor, quantity, name))


@pytest.fixture
def cauldron() -> tuple[SeriesStore, SensorDirectory]:
    """A store with the brew's, the room's and the wall's thermometers (the room heard
    last), the brew's pH, and a directory naming them as Home Assistant would."""
    store, directory = SeriesStore(), SensorDirectory()
    for sensor, name, value, at in (
        ("core-1", "Brew temperature", 61.0, 10.0),
        ("wall-1", "Wall temperature", 40.0, 11.0),
        ("room-1", "Room temperature", 21.0, 12.0),
    ):
        store.add(reading(sensor, "temperature", value, at))
        named(directory, sensor, "temperature", name)
    store.add(reading("ph-1", "ph", 5.5, 10.0))
    named(directory, "ph-1", "ph", "Brew pH")
    return store, directory


def test_the_brews_own_sensors_are_read_not_the_one_heard_last(
    cauldron: tuple[SeriesStore, SensorDirectory],
) -> None:
    store, directory = cauldron
    sample = sample_conditions(store, directory)
    assert (sample.conditions.temperature, sample.conditions.ph) == (61.0, 5.5)
    assert sample.sensors == {"temperature": "core-1", "ph": "ph-1"}
    assert sample.defaulted == ("humidity", "mystical_energy")
    assert sample.conditions.humidity == DEFAULTS["humidity"]


def test_a_sensor_the_user_chose_wins_and_without_names_the_latest_counts(
    cauldron: tuple[SeriesStore, SensorDirectory],
) -> None:
    store, directory = cauldron
    chosen = sample_conditions(store, directory, {"temperature": "wall-1"})
    assert chosen.conditions.temperature == 40.0
    assert sample_conditions(store).conditions.temperature == 21.0
    store.add(reading("core-1", "temperature", 62.0, 13.0))
    after = sample_conditions(store, directory)
    assert after.conditions.temperature == 62.0
    assert after.counts["temperature"] == 2


@dataclass
class Clock:
    """The loop's `call_later`, advanced by hand."""

    now: float = 0.0
    due: list[tuple[float, Callable[[], None], list[bool]]] = field(default_factory=list)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Any:
        cancelled = [False]
        self.due.append((self.now + delay, callback, cancelled))

        class Handle:
            def cancel(self) -> None:
                cancelled[0] = True

        return Handle()

    def advance(self, seconds: float) -> None:
        """Run what falls due in the next `seconds`, in order, as time passes."""
        end = self.now + seconds
        while self.due and (entry := min(self.due, key=lambda item: item[0]))[0] <= end:
            self.due.remove(entry)
            self.now = entry[0]
            if not entry[2][0]:
                entry[1]()
        self.now = end


@dataclass
class Harness:
    brews: Brews
    clock: Clock
    store: SeriesStore
    directory: SensorDirectory
    sent: list[tuple[str, dict[str, Any]]]
    news: list[object]
    runs: list[Any]

    def status(self, payload: bytes | BrewStatus) -> None:
        data = payload.payload() if isinstance(payload, BrewStatus) else payload
        self.brews.on_status(MqttMessage("lab", status_topic(TOPIC), data, 1, False, 0.0))


class Run:
    """An audit run that keeps what it was told."""

    id = "run-1"

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: self.calls.append((name, args or kwargs))


@pytest.fixture
def harness(cauldron: tuple[SeriesStore, SensorDirectory]) -> Harness:
    store, directory = cauldron
    clock = Clock()
    sent: list[tuple[str, dict[str, Any]]] = []
    news: list[object] = []
    runs: list[Any] = []

    def send(topic: str, payload: bytes) -> str:
        sent.append((topic, json.loads(payload)))
        return "Lab"

    def open_run(kind: str, name: str, **info: Any) -> Run:
        runs.append(Run())
        return runs[-1]

    brews = Brews(
        lambda topic, data, metadata=None: news.append(data),
        send,
        lambda: sample_conditions(store, directory),
        clock.call_later,
        open_run,
        TOPIC,
    )
    return Harness(brews, clock, store, directory, sent, news, runs)


def recipe() -> PotionRecipe:
    catalogue = load_catalogue()
    return PotionRecipe(
        id="r-1",
        ingredients=(catalogue["Basilisk fang"],),
        brewing_steps=(
            BrewingStep(action="heat_to", duration_s=600.0, temperature_c=70.0),
            BrewingStep(action="add", duration_s=300.0, ingredient="Basilisk fang", quantity=2.0),
        ),
    )


def test_a_brew_is_sent_as_one_command_and_judged_on_the_readings_after_done(
    harness: Harness,
) -> None:
    expected = predict(recipe(), sample_conditions(harness.store, harness.directory).conditions)
    brew = harness.brews.brew(recipe())
    ((topic, command),) = harness.sent
    assert (topic, command["brew"], len(command["steps"])) == (TOPIC, brew, 2)
    started = harness.news[0]
    assert isinstance(started, BrewStarted) and started.destination == f"Lab · {TOPIC}"
    harness.status(BrewStatus(brew=brew, state="step", step=1, steps=2, action="heat_to"))
    harness.status(BrewStatus(brew=brew, state="done", step=2, steps=2))
    harness.clock.advance(5.0)
    assert not any(isinstance(item, BrewEnded) for item in harness.news), "no new reading yet"
    harness.store.add(reading("core-1", "temperature", 69.0, 20.0))
    harness.clock.advance(0.2)
    assert not any(isinstance(item, BrewEnded) for item in harness.news), "the pH is awaited"
    harness.store.add(reading("ph-1", "ph", 6.4, 20.0))
    harness.clock.advance(0.2)
    ended = harness.news[-1]
    assert isinstance(ended, BrewEnded) and ended.ending == "done"
    assert ended.comparison is not None
    assert ended.comparison.predicted == expected.end, "predicted from the brew's own sensors"
    assert (ended.comparison.temperature, ended.comparison.ph) == (69.0, 6.4)
    assert ended.comparison.temperature_error == pytest.approx(69.0 - expected.end.temperature)
    assert isinstance(harness.news[1], BrewStep)
    calls = [name for name, _ in harness.runs[0].calls]
    assert calls == ["start_phase", "complete_phase", "complete"]
    assert not harness.brews.brews


def test_readings_that_never_come_are_waited_for_a_while_only(harness: Harness) -> None:
    brew = harness.brews.brew(recipe())
    harness.status(BrewStatus(brew=brew, state="done", step=2, steps=2))
    harness.clock.advance(READINGS_WAIT_S + 1.0)
    ended = harness.news[-1]
    assert isinstance(ended, BrewEnded) and ended.comparison is not None
    assert ended.comparison.temperature == 61.0, "the latest reading there is"


def test_a_silent_cauldron_is_judged_after_the_brew_should_have_ended(harness: Harness) -> None:
    harness.brews.brew(recipe())
    harness.clock.advance(answer_deadline(900.0) - 1.0)
    assert harness.brews.brews
    harness.clock.advance(2.0)
    ended = harness.news[-1]
    assert isinstance(ended, BrewEnded)
    assert (ended.ending, ended.reason) == ("unanswered", "the cauldron never said it was done")
    assert ended.comparison is not None


def test_without_a_ph_sensor_the_end_says_there_is_nothing_to_compare(harness: Harness) -> None:
    brews = harness.brews
    brews.measure = lambda: sample_conditions(SeriesStore())
    brew = brews.brew(recipe())
    harness.status(BrewStatus(brew=brew, state="done", step=2, steps=2))
    harness.clock.advance(READINGS_WAIT_S + 1.0)
    ended = harness.news[-1]
    assert isinstance(ended, BrewEnded) and ended.comparison is None
    assert ended.reason == "no sensor reads the brew's temperature or ph, so nothing to compare"


def test_a_refusal_fails_the_run_and_a_cancel_unconfirmed_still_ends(harness: Harness) -> None:
    refused = harness.brews.brew(recipe())
    harness.status(BrewStatus(brew=refused, state="refused", reason="the pot is cracked"))
    assert harness.runs[0].calls == [("fail", ("the pot is cracked",))]
    cancelled = harness.brews.brew(recipe())
    harness.brews.cancel(cancelled)
    assert harness.sent[-1][1] == {"command": "cancel", "brew": cancelled}
    harness.clock.advance(CANCEL_WAIT_S + 0.1)
    ended = harness.news[-1]
    assert isinstance(ended, BrewEnded)
    assert (ended.ending, ended.reason) == ("cancelled", "the cauldron did not confirm the cancel")


def test_unreadable_statuses_and_other_brews_change_nothing(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    brew = harness.brews.brew(recipe())
    harness.status(b"{not json")
    harness.status(BrewStatus(brew="someone-elses", state="done", step=1, steps=1))
    assert "an unreadable brewing status on lab/cauldron/brew/status" in caplog.text
    assert list(harness.brews.brews) == [brew]
    assert len(harness.news) == 1


def test_a_brew_that_cannot_be_sent_opens_no_run(harness: Harness) -> None:
    def refuse(topic: str, payload: bytes) -> str:
        raise BrewNotSent("no MQTT connection is connected to send the brew on")

    harness.brews.send = refuse
    with pytest.raises(BrewNotSent):
        harness.brews.brew(recipe())
    assert not harness.runs and not harness.news and not harness.brews.brews


def test_the_tab_follows_the_brew_it_sent_and_words_its_end() -> None:
    following = BrewFollowing()
    started = BrewStarted(
        "b-1",
        "r-1",
        "Lab · t",
        2,
        900.0,
        predict(recipe(), sample_conditions(SeriesStore()).conditions).end,
    )
    assert following.on_event(started) and following.under_way
    assert following.text() == "Brewing r-1 on Lab · t: 2 steps over 15 min, sent."
    assert not following.on_event(BrewStep("b-2", 1, 2, "add")), "another brew's step"
    following.on_event(BrewStep("b-1", 1, 2, "heat_to"))
    assert following.text() == "Brewing r-1: step 1 of 2 (heat to)."
    assert following.on_event(BrewEnded("b-1", "r-1", "refused", "the pot is cracked"))
    assert following.text() == "The cauldron refused the brew of r-1. The pot is cracked."
    following.not_sent("no MQTT connection is connected to send the brew on")
    assert following.text() == "Not brewed: no MQTT connection is connected to send the brew on."


def test_the_end_of_a_brew_is_worded_with_its_errors_signed() -> None:
    predicted = BrewState(45.0, 5.43, 50.0)
    done = BrewEnded("b-1", "r-1", "done", None, BrewComparison(predicted, 44.38, 5.432))
    assert ended_text(done) == (
        "Brewed r-1. Temperature: predicted 45.0 °C, measured 44.4 °C (error −0.6 °C)."
        " pH: predicted 5.43, measured 5.43 (error 0.00)."
    )
    late = BrewEnded("b-1", "r-1", "unanswered", "the cauldron never said it was done",
                     BrewComparison(predicted, 46.0, 5.1))  # fmt: skip
    assert ended_text(late).startswith(
        "Brew of r-1 over. The cauldron never said it was done. Temperature: predicted 45.0 °C,"
        " measured 46.0 °C (error +1.0 °C)."
    )
