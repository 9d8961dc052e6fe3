"""The sensor directory: one entry per sensor and quantity, and a revision that says when."""

from __future__ import annotations

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
