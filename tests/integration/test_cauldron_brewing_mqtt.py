"""A brew told on the command topic of the real embedded broker: the simulated cauldron's
readings follow the effect model, a cancel stops it, a bad command is refused."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from paho.mqtt.client import Client, MQTTMessage
from paho.mqtt.enums import CallbackAPIVersion

from phantom_cauldron.brewing.commands import cancel_for, commands_for
from phantom_cauldron.brewing.status import status_topic
from phantom_cauldron.recipes.catalogue import load_catalogue
from phantom_cauldron.recipes.effects import Conditions, predict
from phantom_cauldron.recipes.model import BrewingStep, PotionRecipe
from phantom_cauldron.simulator.messages import telemetry_topic
from phantom_cauldron.simulator.runner import SimulatorRunner
from phantom_gui.mqtt.embedded import EmbeddedBroker, MosquittoNotFound

from support.simulated_cauldron import PHYSICS, simulated_cauldron

TOPIC = "test/cauldron/brew"
SPEED = 100.0
WAIT_S = 30.0
"""How long a test waits for the broker's news before it fails (never a measured time)."""
READING_TEMPERATURE_TOLERANCE = 1.5
"""°C, as the recipes' test states for the brew's sensor, which lags and is noisy."""
READING_PH_TOLERANCE = 0.15
"""As the recipes' test states for the pH sensor."""


@dataclass
class Cauldron:
    """A simulator at room temperature, heater off, on the embedded broker, following the
    brews told on `TOPIC`, and a client that keeps what it hears."""

    broker: EmbeddedBroker
    runner: SimulatorRunner
    heard: list[MQTTMessage]
    changed: threading.Condition
    client: Client

    def wait_for(self, found: Callable[[list[MQTTMessage]], bool]) -> list[MQTTMessage]:
        with self.changed:
            assert self.changed.wait_for(lambda: found(self.heard), WAIT_S), [
                (m.topic, m.payload) for m in self.heard[-20:]
            ]
            return list(self.heard)

    def tell(self, message: dict[str, object]) -> None:
        self.client.publish(TOPIC, json.dumps(message).encode(), 1).wait_for_publish(WAIT_S)


@pytest.fixture
def cauldron() -> Iterator[Cauldron]:
    try:
        broker = EmbeddedBroker.start()
    except MosquittoNotFound as exc:
        pytest.skip(str(exc))
    heard: list[MQTTMessage] = []
    changed = threading.Condition()

    def received(client: Client, userdata: object, message: MQTTMessage) -> None:
        with changed:
            heard.append(message)
            changed.notify_all()

    client = Client(CallbackAPIVersion.VERSION2, client_id="brewing-test")
    client.on_message = received
    client.connect(broker.host, broker.port)
    client.subscribe([(status_topic(TOPIC), 1), ("tele/cauldron-core/SENSOR", 0)])
    client.loop_start()
    try:
        with simulated_cauldron(broker.host, broker.port, TOPIC, SPEED) as runner:
            yield Cauldron(broker, runner, heard, changed, client)
    finally:
        client.disconnect()
        client.loop_stop()
        broker.stop()


def _statuses(messages: list[MQTTMessage]) -> list[dict[str, object]]:
    return [json.loads(m.payload) for m in messages if m.topic == status_topic(TOPIC)]


def _has(state: str, step: int | None = None) -> Callable[[list[MQTTMessage]], bool]:
    return lambda messages: any(
        status["state"] == state and step in (None, status["step"])
        for status in _statuses(messages)
    )


def _readings_after(messages: list[MQTTMessage], state: str, step: int) -> tuple[float, float]:
    """The brew's temperature and pH in the first telemetry heard after that status."""
    index = next(
        i
        for i, m in enumerate(messages)
        if m.topic == status_topic(TOPIC)
        and (json.loads(m.payload)["state"], json.loads(m.payload)["step"]) == (state, step)
    )
    for message in messages[index + 1 :]:
        if message.topic == telemetry_topic("cauldron-core"):
            core = json.loads(message.payload)
            return core["DS18B20-1"]["Temperature"], core["PH"]["pH"]
    raise AssertionError("no telemetry after the status")


def test_a_brew_on_the_command_topic_changes_the_readings_as_predicted(
    cauldron: Cauldron,
) -> None:
    """The checks fall where the brew changes slowly (held by the thermostat, cooling, the
    acid dissolved), so that a reading a few simulated seconds late still counts."""
    catalogue = load_catalogue()
    recipe = PotionRecipe(
        id="sour-warmth",
        ingredients=(catalogue["Basilisk fang"],),
        brewing_steps=(
            BrewingStep(action="add", duration_s=300.0, ingredient="Basilisk fang", quantity=3.0),
            BrewingStep(action="heat_to", duration_s=400.0, temperature_c=45.0),
            BrewingStep(action="stir", duration_s=200.0),
            BrewingStep(action="rest", duration_s=200.0),
        ),
    )
    simulated = cauldron.runner.simulator.cauldron
    room = simulated.room_temperature()
    prediction = predict(recipe, Conditions(room, 50.0, PHYSICS.base_ph, 50.0, room), PHYSICS)
    cauldron.wait_for(lambda messages: len(messages) >= 3)
    cauldron.tell(commands_for(recipe, "brew-1"))
    heard = cauldron.wait_for(
        lambda messages: (
            _has("done")(messages) and messages[-1].topic == telemetry_topic("cauldron-core")
        )
    )

    statuses = _statuses(heard)
    assert [(status["state"], status["step"], status["steps"]) for status in statuses] == [
        *[("step", step, 4) for step in range(1, 5)],
        ("done", 4, 4),
    ]
    for state, step, after in (("step", 3, 1), ("step", 4, 2), ("done", 4, 3)):
        temperature, ph = _readings_after(heard, state, step)
        expected = prediction.after_steps[after]
        assert temperature == pytest.approx(expected.temperature, abs=READING_TEMPERATURE_TOLERANCE)
        assert ph == pytest.approx(expected.ph, abs=READING_PH_TOLERANCE)
    assert prediction.end.ph < PHYSICS.base_ph - 0.5
    assert prediction.after_steps[1].temperature > room + 20.0


def test_a_cancel_stops_the_brew_and_a_bad_command_is_refused(cauldron: Cauldron) -> None:
    catalogue = load_catalogue()
    recipe = PotionRecipe(
        id="never-soured",
        ingredients=(catalogue["Basilisk fang"],),
        brewing_steps=(
            BrewingStep(action="heat_to", duration_s=600.0, temperature_c=90.0),
            BrewingStep(action="add", duration_s=60.0, ingredient="Basilisk fang", quantity=3.0),
        ),
    )
    cauldron.tell({"command": "brew", "brew": "broken", "steps": "none"})
    cauldron.wait_for(_has("refused"))
    cauldron.tell(commands_for(recipe, "brew-2"))
    cauldron.wait_for(_has("step", 1))
    cauldron.tell(cancel_for("brew-2"))
    cancelled_at = cauldron.runner.simulator.time
    cauldron.wait_for(_has("cancelled"))
    simulator = cauldron.runner.simulator
    with cauldron.changed:
        assert cauldron.changed.wait_for(lambda: simulator.time > cancelled_at + 900.0, WAIT_S)
    heard = cauldron.wait_for(lambda messages: True)

    refused, *rest = _statuses(heard)
    assert refused["brew"] == "broken"
    assert refused["state"] == "refused"
    assert "'recipe'" in str(refused["reason"])
    assert [(status["state"], status["step"]) for status in rest] == [
        ("step", 1),
        ("cancelled", 1),
    ]
    _, ph = _readings_after(heard, "cancelled", 1)
    assert ph == pytest.approx(PHYSICS.base_ph, abs=READING_PH_TOLERANCE)
    assert not simulator.cauldron.heater_on
