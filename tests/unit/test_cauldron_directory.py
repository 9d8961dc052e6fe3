"""The sensor directory: one entry per sensor and quantity, each device's online state,
and a revision that says when either changed."""

from __future__ import annotations

import pytest

from phantom_cauldron import directory as directory_module
from phantom_cauldron.directory import SensorDirectory, SensorInfo


def test_entries_are_learned_replaced_and_forgotten_with_the_revision_moving_only_on_change() -> (
    None
):
    directory = SensorDirectory()
    rim = SensorInfo("cauldron_rim", "temperature", "Rim temperature", "Cauldron", "°C")
    directory.learn(rim)
    assert directory.get("cauldron_rim", "temperature") == rim
    assert directory.revision == 1

    directory.learn(SensorInfo("cauldron_rim", "temperature", "Rim temperature", "Cauldron", "°C"))
    assert directory.revision == 1

    directory.learn(SensorInfo("cauldron_rim", "temperature", "Rim", "Cauldron", "°C", 300.0))
    assert directory.get("cauldron_rim", "temperature").expire_after_s == 300.0  # type: ignore[union-attr]
    assert len(directory) == 1 and directory.revision == 2

    directory.forget("cauldron_rim", "temperature")
    directory.forget("cauldron_rim", "temperature")
    assert directory.get("cauldron_rim", "temperature") is None
    assert list(directory) == [] and directory.revision == 3


def test_a_label_puts_the_device_before_the_name_without_saying_it_twice() -> None:
    assert SensorInfo("a", "temperature", "Temperature", "Bedroom").label == "Bedroom Temperature"
    assert SensorInfo("a", "temperature", "Bedroom temperature", "bedroom").label == (
        "Bedroom temperature"
    )
    assert SensorInfo("a", "temperature", "Rim temperature").label == "Rim temperature"


def test_device_states_are_kept_by_device_with_their_topic_and_node() -> None:
    directory = SensorDirectory()
    directory.set_online("brewery", True, "tele/brewery/LWT")
    directory.set_online("brewery", True, "tele/brewery/LWT")
    assert directory.revision == 1
    directory.set_online("brewery", False, "tele/brewery/LWT")
    directory.set_online("greenhouse", True, "greenhouse/status")
    state = directory.device("brewery")
    assert state is not None and (state.online, state.node) == (False, "tele/brewery")
    assert [d.device_id for d in directory.devices()] == ["brewery", "greenhouse"]
    assert directory.device("cellar") is None
    assert directory.revision == 3


def test_the_directory_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(directory_module, "SENSOR_LIMIT", 2)
    monkeypatch.setattr(directory_module, "DEVICE_LIMIT", 1)
    directory = SensorDirectory()
    for index in range(4):
        directory.learn(SensorInfo(f"flood/{index}", "value", f"flood {index}"))
        directory.set_online(f"flood/{index}", True, f"flood/{index}/LWT")
    directory.learn(SensorInfo("flood/0", "value", "renamed"))
    assert [info.name for info in directory] == ["renamed", "flood 1"]
    assert [d.device_id for d in directory.devices()] == ["flood/0"]
