"""The Cauldron plugin's evolutions through the real plugin manager and a real mosquitto:
the conditions an evolution starts under are the broker's latest readings (the
simulator's defaults, logged, where there are none), and tearing the plugin down in the
middle of an evolution leaves no worker process."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from phantom_cauldron.evolution.conditions import DEFAULTS
from phantom_cauldron.evolution.progress import EvolutionSettings, GenerationProgress
from phantom_cauldron.evolution.remote import Worker
from phantom_cauldron.plugin import Cauldron
from phantom_cauldron.recipes.effects import Conditions
from phantom_gui.runtime import Services

from support.processes import children_of, command_line

WORKER = "-m phantom_cauldron.evolution.worker"
DEADLINE_S = 30.0


class App:
    """The app's services on their own loop, with the Cauldron active."""

    def __init__(self, data: Path, broker: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.services = Services.create(data, broker=broker.config(id="lab", name="Lab"))
        self.services.start(self.loop)
        self.loop.run_until_complete(self.services.plugins.activate("phantom_cauldron"))
        self.cauldron = self.services.plugins.records["phantom_cauldron"].instance
        assert isinstance(self.cauldron, Cauldron)

    def wait_for(self, condition: Callable[[], bool]) -> None:
        deadline = time.monotonic() + DEADLINE_S
        while not condition():
            assert time.monotonic() < deadline, "condition not met in time"
            self.loop.run_until_complete(asyncio.sleep(0.02))

    def heard(self, quantity: str, value: float) -> bool:
        """Whether the Cauldron's series store holds a `quantity` reading of `value`."""
        return any(
            series.quantity == quantity and value in series.recent().values.tolist()
            for series in self.cauldron.ingest.store
        )


@pytest.fixture
def app(tmp_path: Path, make_mosquitto: Callable[..., Any]) -> Iterator[tuple[App, mqtt.Client]]:
    """The app on a real broker, and a paho client playing the cauldron's sensors."""
    broker = make_mosquitto()
    running = App(tmp_path / "data", broker)
    sensors = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-sensors")
    sensors.connect("127.0.0.1", broker.port)
    sensors.loop_start()
    yield running, sensors
    sensors.disconnect()
    sensors.loop_stop()
    running.loop.run_until_complete(running.services.stop())
    running.loop.close()


def send(client: mqtt.Client, topic: str, value: float) -> None:
    client.publish(topic, str(value), qos=1, retain=True).wait_for_publish(5)


def workers() -> list[int]:
    """This process's evolution workers still running."""
    return [pid for pid in children_of(os.getpid()) if WORKER in command_line(pid) + " "]


def test_conditions_follow_the_latest_readings_and_default_where_there_are_none(
    app: tuple[App, mqtt.Client], caplog: pytest.LogCaptureFixture
) -> None:
    running, sensors = app
    caplog.set_level(logging.INFO)
    defaults = Conditions(
        DEFAULTS["temperature"], DEFAULTS["humidity"], DEFAULTS["ph"], DEFAULTS["mystical_energy"]
    )
    assert running.cauldron.conditions() == defaults
    assert "defaults for temperature, humidity, ph, mystical_energy" in caplog.text

    send(sensors, "lab/vat/temperature", 71.5)
    send(sensors, "lab/vat/ph", 5.4)
    running.wait_for(lambda: running.heard("temperature", 71.5) and running.heard("ph", 5.4))
    send(sensors, "lab/vat/temperature", 72.25)
    running.wait_for(lambda: running.heard("temperature", 72.25))
    caplog.clear()

    conditions = running.cauldron.conditions()

    assert conditions == Conditions(72.25, defaults.humidity, 5.4, defaults.mystical_energy)
    assert "defaults for humidity, mystical_energy" in caplog.text


def test_tearing_the_plugin_down_during_an_evolution_leaves_no_worker(
    app: tuple[App, mqtt.Client],
) -> None:
    running, _ = app
    generations: list[GenerationProgress] = []
    running.services.hub.on("cauldron/evolution/#").subscribe(
        lambda event: (
            generations.append(event.data) if isinstance(event.data, GenerationProgress) else None
        )
    )
    evolution = running.cauldron.evolution
    evolution.prepare()
    settings = EvolutionSettings(population=300, generations=2000, seed=3)
    run = evolution.start(settings, running.cauldron.conditions)
    running.wait_for(lambda: bool(generations))
    assert evolution.spare is not None
    started = {evolution.runs[run].child.pid, evolution.spare.pid}
    assert started <= set(workers())

    running.loop.run_until_complete(running.services.plugins.deactivate("phantom_cauldron"))

    assert not workers()
    assert not evolution.runs and evolution.spare is None


def test_coven_traffic_on_an_ordinary_connection_is_not_taken_for_sensors(
    app: tuple[App, mqtt.Client],
) -> None:
    running, sensors = app
    send(sensors, "phantom/coven/lab/events/attic-1a2b3c4d", 1.0)
    send(sensors, "phantom/coven/lab/members/attic-1a2b3c4d", 2.0)
    send(sensors, "lab/vat/temperature", 61.5)
    running.wait_for(lambda: running.heard("temperature", 61.5))
    assert not any(
        topic.startswith("phantom/coven/") for topic, _ in running.cauldron.problem_counts()
    )
    assert not running.heard("value", 1.0) and not running.heard("value", 2.0)


def test_the_evolution_stream_takes_a_requested_runs_news_only_from_its_worker(
    app: tuple[App, mqtt.Client],
) -> None:
    running, _ = app
    cauldron, hub = running.cauldron, running.services.hub
    assert cauldron.remote is not None
    cauldron.remote.runs["far"] = Worker("attic-0123abcd", "attic", "loft")
    taken: list[tuple[str, str | None]] = []
    cauldron.evolution_events().subscribe(
        lambda event: taken.append((event.topic, event.metadata.get("origin_realm")))
    )

    def say(topic: str, sender: str | None) -> None:
        metadata: Any = {} if sender is None else {"origin_realm": sender}
        hub.publish(topic, {}, source=f"coven:{sender}", metadata=metadata)

    say("cauldron/evolution/far/finished", "mallory-00c0ffee")
    say("cauldron/evolution/theirs/generation", "study-00000002")
    say("cauldron/evolution/far/generation", "attic-0123abcd")
    say("cauldron/evolution/here/generation", None)
    running.wait_for(lambda: len(taken) == 2)
    assert "far" in cauldron.remote.runs, "an impostor's end does not end the following"
    say("cauldron/evolution/far/finished", "attic-0123abcd")
    running.wait_for(lambda: len(taken) == 3)
    assert taken == [
        ("cauldron/evolution/far/generation", "attic-0123abcd"),
        ("cauldron/evolution/here/generation", None),
        ("cauldron/evolution/far/finished", "attic-0123abcd"),
    ]
    assert "far" not in cauldron.remote.runs
