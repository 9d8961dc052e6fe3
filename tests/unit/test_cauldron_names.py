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
        "cauldron_rim": "Cauldron Rim temperature",
        "tele/cellar/DS18B20-1": "DS18B20-1",
        "tele/attic/DS18B20-2": "DS18B20-2",
    }
    assert sensor_names(["cauldron_rim"], "humidity", known) == {"cauldron_rim": "cauldron_rim"}
    assert sensor_names(["a/b"], "temperature", None) == {"a/b": "b"}


def test_a_friendly_name_says_the_device_once() -> None:
    assert SensorInfo("0xabc", "temperature", "Temperature", "Kitchen sensor").label == (
        "Kitchen sensor Temperature"
    )
    assert SensorInfo("x", "temperature", "Kitchen sensor temp", "kitchen sensor").label == (
        "Kitchen sensor temp"
    )
    assert SensorInfo("x", "temperature", "Rim temperature").label == "Rim temperature"


def test_two_sensors_of_one_friendly_name_are_told_apart_by_their_ids() -> None:
    known = directory(
        SensorInfo("plug/1", "power", "Power", "Plug"),
        SensorInfo("plug/2", "power", "Power", "Plug"),
        SensorInfo("oven", "power", "Power", "Oven"),
    )
    assert sensor_names(["plug/1", "plug/2", "oven"], "power", known) == {
        "plug/1": "Plug Power (1)",
        "plug/2": "Plug Power (2)",
        "oven": "Oven Power",
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
    assert topic_label([rim]) == "Cauldron Rim temperature"
    plug = [
        SensorInfo("plug", quantity, f"Plug {quantity}", "Cellar plug")
        for quantity in ("power", "voltage", "current")
    ]
    assert topic_label(plug) == "Cellar plug"
    many = [SensorInfo(f"s{i}", "temperature", f"Probe {i}") for i in range(5)]
    assert topic_label(many) == "Probe 0, Probe 1, Probe 2 +2"
    assert topic_label([]) == ""
