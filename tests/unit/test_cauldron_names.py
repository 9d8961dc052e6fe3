"""The names a user reads for sensors: friendly from the sensor directory, raw ids aside."""

from __future__ import annotations

from phantom_cauldron.directory import SensorDirectory, SensorInfo
from phantom_cauldron.names import sensor_names, sensor_tooltip, topic_label


def directory(*infos: SensorInfo) -> SensorDirectory:
    known = SensorDirectory()
    for info in infos:
        known.learn(info)
    return known


def test_known_sensors_get_their_friendly_names_and_the_others_their_short_ids() -> None:
    known = directory(SensorInfo("cauldron_rim", "temperature", "Rim temperature", "Cauldron"))
    names = sensor_names(
        ["cauldron_rim", "tele/cellar/DS18B20-1", "tele/attic/DS18B20-2"], "temperature", known
    )
    assert names == {
        "cauldron_rim": "Rim temperature",
        "tele/cellar/DS18B20-1": "DS18B20-1",
        "tele/attic/DS18B20-2": "DS18B20-2",
    }
    assert sensor_names(["cauldron_rim"], "humidity", known) == {"cauldron_rim": "cauldron_rim"}
    assert sensor_names(["a/b"], "temperature", None) == {"a/b": "b"}


def test_two_sensors_of_one_name_are_told_apart_by_their_devices() -> None:
    known = directory(
        SensorInfo("0xabc", "temperature", "Temperature", "Kitchen sensor"),
        SensorInfo("0xdef", "temperature", "Temperature", "Hall sensor"),
    )
    assert sensor_names(["0xabc", "0xdef"], "temperature", known) == {
        "0xabc": "Kitchen sensor · Temperature",
        "0xdef": "Hall sensor · Temperature",
    }


def test_tooltips_carry_the_raw_id_and_topic() -> None:
    info = SensorInfo("cauldron_rim", "temperature", "Rim temperature", "Cauldron")
    assert sensor_tooltip("cauldron_rim", info, "cauldron/rim/state").splitlines() == [
        "Rim temperature (Cauldron)",
        "id: cauldron_rim",
        "topic: cauldron/rim/state",
    ]
    assert sensor_tooltip("x", None, None) == "id: x"


def test_a_topic_is_labelled_by_its_sensor_its_device_or_its_first_names() -> None:
    rim = SensorInfo("rim", "temperature", "Rim temperature", "Cauldron")
    assert topic_label([rim]) == "Rim temperature"
    plug = [
        SensorInfo("plug", quantity, f"Plug {quantity}", "Cellar plug")
        for quantity in ("power", "voltage", "current")
    ]
    assert topic_label(plug) == "Cellar plug"
    many = [SensorInfo(f"s{i}", "temperature", f"Probe {i}") for i in range(5)]
    assert topic_label(many) == "Probe 0, Probe 1, Probe 2 +2"
    assert topic_label([]) == ""
