"""Home Assistant MQTT discovery in the cauldron's parser: configs (ESPHome's included)
teach it the sensors on later state topics, their value templates say how to read them,
and a sensor a device family also reads natively keeps one identity whichever arrives
first; the sensor directory carries the names configs give."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phantom_cauldron.directory import SensorInfo
from phantom_cauldron.parsing import DiscoveredSensor, PayloadParser, Reason
from phantom_cauldron.readings import SensorReading

NOW = 1_700_000_000.0
STATE = "tele/cauldron/SENSOR"
TASMOTA_STATE = {
    "Time": "2024-01-05T10:00:00",
    "BME280": {"Temperature": 21.4, "Humidity": 45.2, "DewPoint": 9.1, "Pressure": 1013.2},
    "TempUnit": "C",
    "PressureUnit": "hPa",
}


@pytest.fixture
def parser() -> PayloadParser:
    return PayloadParser(clock=lambda: NOW)


def announce(
    parser: PayloadParser, topic: str, config: dict[str, object] | None, retained: bool = True
) -> None:
    """Publish a discovery config (None: the empty payload that removes it)."""
    payload = json.dumps(config).encode() if config is not None else b""
    assert parser.parse(topic, payload, retained) == []


def state(parser: PayloadParser, topic: str, payload: object) -> list[SensorReading]:
    """Publish a state payload (text as it is, anything else as JSON)."""
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return parser.parse(topic, text.encode())


def simulator_config(field: str, device_class: str, unit: str) -> dict[str, object]:
    """A config as the cauldron simulator publishes it for one BME280 field."""
    return {
        "name": f"Cauldron {field}",
        "state_topic": STATE,
        "value_template": f"{{{{ value_json.BME280.{field} }}}}",
        "unit_of_measurement": unit,
        "device_class": device_class,
        "unique_id": f"cauldron_bme280_{field.lower()}",
        "device": {"identifiers": ["cauldron"], "name": "Cauldron"},
    }


def announce_simulator(parser: PayloadParser) -> None:
    announce(
        parser,
        "homeassistant/sensor/cauldron/temperature/config",
        simulator_config("Temperature", "temperature", "°C"),
    )
    announce(
        parser,
        "homeassistant/sensor/cauldron/humidity/config",
        simulator_config("Humidity", "humidity", "%"),
    )
    announce(
        parser,
        "homeassistant/sensor/cauldron/pressure/config",
        simulator_config("Pressure", "pressure", "hPa"),
    )


BME280 = "cauldron/BME280"
SIMULATOR_READINGS = [
    SensorReading(BME280, "temperature", 21.4, "°C", NOW, "cauldron"),
    SensorReading(BME280, "humidity", 45.2, "%", NOW, "cauldron"),
    SensorReading(BME280, "pressure", 1013.2, "hPa", NOW, "cauldron"),
    SensorReading(BME280, "dew_point", 9.1, "°C", NOW, "cauldron"),
]
"""The three announced fields through their configs, then the one no config reads."""


def keys(readings: list[SensorReading]) -> list[tuple[str, str]]:
    return [(r.sensor_id, r.type) for r in readings]


def test_announced_fields_are_read_once_through_their_configs_and_the_rest_natively(
    parser: PayloadParser,
) -> None:
    announce_simulator(parser)
    assert state(parser, STATE, TASMOTA_STATE) == SIMULATOR_READINGS
    assert parser.problems.total == 0


def test_discovery_arriving_after_state_messages_names_the_same_series(
    parser: PayloadParser,
) -> None:
    before = state(parser, STATE, TASMOTA_STATE)
    assert sorted(keys(before)) == sorted(keys(SIMULATOR_READINGS))
    assert parser.sensors.get(BME280, "temperature").name == "BME280 temperature"  # type: ignore[union-attr]
    announce_simulator(parser)
    assert state(parser, STATE, TASMOTA_STATE) == SIMULATOR_READINGS
    assert parser.sensors.get(BME280, "temperature") == SensorInfo(
        BME280, "temperature", "Cauldron Temperature", "Cauldron", "°C", None, STATE, "cauldron"
    )
    assert len(parser.sensors) == 4


def test_a_tasmota_device_announcing_one_probe_gives_all_four(parser: PayloadParser) -> None:
    announce(
        parser,
        "homeassistant/sensor/vat/ds18b20_1/config",
        {
            "name": "Vat temperature",
            "uniq_id": "vat-ds18b20-1",
            "stat_t": "tele/vat/SENSOR",
            "val_tpl": "{{ value_json['DS18B20-1'].Temperature }}",
            "unit_of_meas": "°C",
            "dev_cla": "temperature",
            "dev": {"ids": ["vat"], "name": "Vat"},
        },
    )
    payload = {
        "Time": "2021-01-02T09:09:44",
        "DS18B20-1": {"Id": "00000566CC39", "Temperature": 13.3},
        "DS18B20-2": {"Id": "0000059352D4", "Temperature": 1.2},
        "DS18B20-3": {"Id": "000005937C90", "Temperature": 22.5},
        "AM2301": {"Temperature": 24.6, "Humidity": 58.2},
        "TempUnit": "C",
    }
    readings = state(parser, "tele/vat/SENSOR", payload)
    assert {(r.sensor_id, r.type): r.value for r in readings} == {
        ("vat/DS18B20-1", "temperature"): 13.3,
        ("vat/DS18B20-2", "temperature"): 1.2,
        ("vat/DS18B20-3", "temperature"): 22.5,
        ("vat/AM2301", "temperature"): 24.6,
        ("vat/AM2301", "humidity"): 58.2,
    }
    names = {info.sensor_id: info.name for info in parser.sensors if info.quantity == "temperature"}
    assert names == {
        "vat/DS18B20-1": "Vat temperature",
        "vat/DS18B20-2": "DS18B20-2 temperature",
        "vat/DS18B20-3": "DS18B20-3 temperature",
        "vat/AM2301": "AM2301 temperature",
    }


def test_a_template_that_computes_a_value_is_a_sensor_of_its_own(parser: PayloadParser) -> None:
    announce(
        parser,
        "homeassistant/sensor/cauldron/fahrenheit/config",
        {
            "stat_t": STATE,
            "val_tpl": "{{ (value_json.BME280.Temperature * 1.8 + 32) | round(1) }}",
            "unit_of_meas": "°F",
            "dev_cla": "temperature",
            "uniq_id": "cauldron_fahrenheit",
        },
    )
    readings = state(parser, STATE, TASMOTA_STATE)
    assert ("cauldron_fahrenheit", "temperature") in keys(readings)
    assert (BME280, "temperature") not in keys(readings)  # its field is the config's now
    assert (BME280, "humidity") in keys(readings)


def test_the_first_config_reading_a_field_names_it_and_a_second_keeps_its_own_id(
    parser: PayloadParser,
) -> None:
    first = simulator_config("Temperature", "temperature", "°C")
    second = first | {"unique_id": "another_temperature", "name": "Another"}
    announce(parser, "homeassistant/sensor/cauldron/temperature/config", first)
    announce(parser, "homeassistant/sensor/cauldron/again/config", second)
    readings = state(parser, STATE, TASMOTA_STATE)
    assert keys(readings)[:2] == [(BME280, "temperature"), ("another_temperature", "temperature")]


def test_the_parser_lists_what_it_has_discovered(parser: PayloadParser) -> None:
    announce_simulator(parser)
    discovered = parser.discovered
    assert [(s.sensor_id, s.quantity, s.unit, s.state_topic) for s in discovered] == [
        ("cauldron_bme280_temperature", "temperature", "°C", STATE),
        ("cauldron_bme280_humidity", "humidity", "%", STATE),
        ("cauldron_bme280_pressure", "pressure", "hPa", STATE),
    ]
    assert discovered[0].template.source == "{{ value_json.BME280.Temperature }}"
    assert all(sensor.template.supported for sensor in discovered)


def test_an_empty_config_removes_the_entity_and_its_name(parser: PayloadParser) -> None:
    announce_simulator(parser)
    assert parser.sensors.get(BME280, "humidity").name == "Cauldron Humidity"  # type: ignore[union-attr]
    revision = parser.discovery.revision
    announce(parser, "homeassistant/sensor/cauldron/humidity/config", None)
    assert parser.discovery.revision > revision
    assert parser.sensors.get(BME280, "humidity") is None
    assert sorted(keys(state(parser, STATE, TASMOTA_STATE))) == sorted(keys(SIMULATOR_READINGS))
    assert parser.sensors.get(BME280, "humidity").name == "BME280 humidity"  # type: ignore[union-attr]
    announce(parser, "homeassistant/sensor/cauldron/temperature/config", None, retained=False)
    announce(parser, "homeassistant/sensor/cauldron/pressure/config", None)
    assert parser.discovered == []
    assert {r.sensor_id for r in state(parser, STATE, TASMOTA_STATE)} == {BME280}
    assert parser.problems.total == 0


def test_a_repeated_config_changes_nothing(parser: PayloadParser) -> None:
    announce_simulator(parser)
    revision = parser.discovery.revision
    announce_simulator(parser)
    assert parser.discovery.revision == revision
    assert len(parser.discovered) == 3


def test_a_changed_config_moves_the_entity_to_its_new_state_topic(parser: PayloadParser) -> None:
    topic = "homeassistant/sensor/cauldron/temperature/config"
    announce(parser, topic, simulator_config("Temperature", "temperature", "°C"))
    moved = simulator_config("Temperature", "temperature", "°C") | {
        "state_topic": "tele/pot/SENSOR"
    }
    announce(parser, topic, moved)
    assert parser.sensors.get(BME280, "temperature") is None
    assert {r.sensor_id for r in state(parser, STATE, TASMOTA_STATE)} == {BME280}
    assert parser.sensors.get(BME280, "temperature").name == "BME280 temperature"  # type: ignore[union-attr]
    readings = state(parser, "tele/pot/SENSOR", TASMOTA_STATE)
    assert ("pot/BME280", "temperature") in keys(readings)
    info = parser.sensors.get("pot/BME280", "temperature")
    assert info is not None and (info.name, info.topic) == (
        "Cauldron Temperature",
        "tele/pot/SENSOR",
    )


def test_abbreviated_keys_and_base_topic(parser: PayloadParser) -> None:
    announce(
        parser,
        "homeassistant/sensor/shellyplusht-C0/temperature/config",
        {
            "~": "shellyplusht-C0/",
            "name": "Temperature",
            "stat_t": "~status/temperature:0",
            "val_tpl": "{{ value_json.tC }}",
            "unit_of_meas": "°C",
            "dev_cla": "temperature",
            "uniq_id": "shellyplusht-C0-temperature",
            "dev": {"ids": ["C0"], "name": "Bedroom H&T", "mf": "Shelly"},
        },
    )
    readings = state(
        parser, "shellyplusht-C0/status/temperature:0", {"id": 0, "tC": 19.8, "tF": 67.6}
    )
    sensor = "shellyplusht-C0/temperature:0"
    assert readings == [SensorReading(sensor, "temperature", 19.8, "°C", NOW, "shellyplusht-C0")]
    info = parser.sensors.get(sensor, "temperature")
    assert info is not None and info.label == "Bedroom H&T Temperature"


def test_base_topic_at_the_end_and_no_node_id(parser: PayloadParser) -> None:
    announce(
        parser,
        "homeassistant/sensor/attic_ph/config",
        {"~": "lab/attic", "stat_t": "ph/~", "unit_of_meas": "pH"},
    )
    assert state(parser, "ph/lab/attic", "6.9") == [
        SensorReading("ph/lab/attic", "ph", 6.9, "pH", NOW, "ph/lab")
    ]


def test_without_device_class_the_ids_name_the_quantity(parser: PayloadParser) -> None:
    announce(parser, "homeassistant/sensor/pot/pot_humidity/config", {"stat_t": "pot/h"})
    announce(parser, "homeassistant/sensor/pot/brew_level/config", {"stat_t": "pot/l"})
    assert state(parser, "pot/h", "55") == [
        SensorReading("pot/h", "humidity", 55.0, None, NOW, "pot")
    ]
    assert [r.type for r in state(parser, "pot/l", "3")] == ["value"]


def test_esphome_discovery_names_its_state_topic(parser: PayloadParser) -> None:
    state_topic = "livingroom/sensor/living_room_temperature/state"
    assert [r.sensor_id for r in state(parser, state_topic, "21.3")] == [
        "livingroom/living_room_temperature"
    ]
    announce(
        parser,
        "homeassistant/sensor/livingroom/living_room_temperature/config",
        {
            "dev_cla": "temperature",
            "unit_of_meas": "°C",
            "stat_cla": "measurement",
            "name": "Living Room Temperature",
            "stat_t": state_topic,
            "avty_t": "livingroom/status",
            "uniq_id": "ESPsensorliving_room_temperature",
            "dev": {
                "ids": "84f3eb1a2b3c",
                "name": "livingroom",
                "sw": "esphome v2024.2.0",
                "mdl": "esp01_1m",
                "mf": "espressif",
            },
        },
    )
    sensor = "livingroom/living_room_temperature"
    assert state(parser, state_topic, "21.4") == [
        SensorReading(sensor, "temperature", 21.4, "°C", NOW, "livingroom")
    ]
    assert parser.sensors.get(sensor, "temperature").name == "Living Room Temperature"  # type: ignore[union-attr]
    assert state(parser, state_topic, "nan") == []
    assert parser.problems.for_topic(state_topic) == {Reason.NOT_FINITE: 1}


def test_device_discovery_announces_several_components(parser: PayloadParser) -> None:
    announce(
        parser,
        "homeassistant/device/cauldron/config",
        {
            "dev": {"ids": "cauldron", "name": "Cauldron"},
            "o": {"name": "phantom"},
            "cmps": {
                "temp": {
                    "p": "sensor",
                    "dev_cla": "temperature",
                    "unit_of_meas": "°C",
                    "val_tpl": "{{ value_json.temperature }}",
                    "uniq_id": "cauldron_t",
                },
                "hum": {
                    "p": "sensor",
                    "dev_cla": "humidity",
                    "unit_of_meas": "%",
                    "val_tpl": "{{ value_json.humidity }}",
                },
                "lid": {
                    "p": "binary_sensor",
                    "dev_cla": "opening",
                    "val_tpl": "{{ value_json.lid }}",
                },
            },
            "stat_t": "cauldron/state",
        },
    )
    readings = state(parser, "cauldron/state", {"temperature": 71.5, "humidity": 80, "lid": "open"})
    assert readings == [
        SensorReading("cauldron_t", "temperature", 71.5, "°C", NOW, "Cauldron"),
        SensorReading("cauldron/hum", "humidity", 80.0, "%", NOW, "Cauldron"),
    ]
    announce(parser, "homeassistant/device/cauldron/config", None)
    assert parser.discovered == []


def test_other_components_are_not_learned(parser: PayloadParser) -> None:
    announce(
        parser,
        "homeassistant/switch/pump/config",
        {"stat_t": "pump/state", "cmd_t": "pump/set", "uniq_id": "pump"},
    )
    assert parser.discovered == []
    assert parser.problems.total == 0


def test_a_custom_discovery_prefix() -> None:
    parser = PayloadParser(clock=lambda: NOW, discovery_prefix="phantom")
    announce(parser, "phantom/sensor/pot/t/config", {"stat_t": "pot/t", "dev_cla": "temperature"})
    assert [r.sensor_id for r in state(parser, "pot/t", "80")] == ["pot/t"]
    assert [s.config_topic for s in parser.discovered] == ["phantom/sensor/pot/t/config"]


@pytest.mark.parametrize(
    ("template", "payload", "value"),
    [
        ("{{ value_json.temperature }}", {"temperature": 21.5}, 21.5),
        ("{{value_json.temperature}}", {"temperature": 21.5}, 21.5),
        ("{{ value_json['temp'] }}", {"temp": 19}, 19.0),
        ('{{ value_json["temp"] }}', {"temp": 19}, 19.0),
        ("{{ value_json.a.b }}", {"a": {"b": -4.25}}, -4.25),
        ("{{ value_json.sensors[1].t }}", {"sensors": [{"t": 1}, {"t": 2}]}, 2.0),
        ("{{ value }}", "23.5", 23.5),
        ("{{ value | float }}", "23.5", 23.5),
        ("{{ float(value) }}", "23.5", 23.5),
        ("{{ value | int }}", "23.7", 23.0),
        ("{{ value_json.x | round(1) }}", {"x": 3.14159}, 3.1),
        ("{{ value_json.x | round }}", {"x": 3.6}, 4.0),
        ("{{ (value | float) * 0.1 }}", "215", 21.5),
        ("{{ value | float * 0.1 }}", "215", 21.5),
        ("{{ value_json.t / 10 }}", {"t": 215}, 21.5),
        ("{{ (value_json.t * 1.8 + 32) | round(1) }}", {"t": 21.5}, 70.7),
        ("{{ value_json.t - 273.15 }}", {"t": 294.65}, 294.65 - 273.15),
        ("{{ value | multiply(0.001) }}", "21500", 21.5),
        ("{{ -value_json.t | abs }}", {"t": 4}, 4.0),
        ("{{ value_json.t }}", {"t": "21.5"}, 21.5),
        (None, "21.5", 21.5),
    ],
)
def test_value_templates(
    parser: PayloadParser, template: str | None, payload: object, value: float
) -> None:
    config: dict[str, object] = {"stat_t": "pot/state", "uniq_id": "pot"}
    if template is not None:
        config["val_tpl"] = template
    announce(parser, "homeassistant/sensor/pot/config", config)
    readings = state(parser, "pot/state", payload)
    assert [r.value for r in readings] == [pytest.approx(value)]


@pytest.mark.parametrize(
    "template",
    [
        "{% if value_json.x %}{{ value_json.x }}{% endif %}",
        "{{ value_json.x | default(0) }}",
        "{{ states('sensor.cauldron') }}",
        "{{ value.split(',')[0] }}",
        "{{ value_json.x ** 2 }}",
        "{{ value_json.x }} °C",
        "{{ value_json.x | round(1, 'floor') }}",
        "{{ __import__('os').system('true') }}",
        "value_json.x",
    ],
)
def test_an_unsupported_template_is_counted_with_its_reason(
    parser: PayloadParser, template: str
) -> None:
    announce(
        parser, "homeassistant/sensor/pot/config", {"stat_t": "pot/state", "val_tpl": template}
    )
    assert [s.template.supported for s in parser.discovered] == [False]
    assert state(parser, "pot/state", {"x": 21.5}) == []
    assert parser.problems.for_topic("pot/state") == {Reason.UNSUPPORTED_TEMPLATE: 1}


@pytest.mark.parametrize(
    ("template", "payload", "reason"),
    [
        ("{{ value | float(0) }}", "unavailable", Reason.NO_VALUE),
        ("{{ value | float }}", "nan", Reason.NOT_FINITE),
        ("{{ value_json.t }}", {"other": 1}, Reason.FIELD_MISSING),
        ("{{ value_json.t }}", '{"t": NaN}', Reason.NOT_FINITE),
        ("{{ value_json.t }}", '{"t": 21', Reason.INVALID_JSON),
        ("{{ value_json.t }}", {"t": None}, Reason.NO_VALUE),
        ("{{ value_json.t / 0 }}", {"t": 1}, Reason.OUT_OF_RANGE),
        ("{{ value_json.t * 1e10 * 1e10 }}", {"t": 1}, Reason.OUT_OF_RANGE),
        ("{{ value * 0.1 }}", "215", Reason.NOT_A_NUMBER),
        ("{{ value_json.on }}", {"on": True}, Reason.NOT_A_NUMBER),
    ],
)
def test_a_template_never_makes_a_reading_from_a_bad_value(
    parser: PayloadParser, template: str, payload: object, reason: Reason
) -> None:
    announce(
        parser, "homeassistant/sensor/pot/config", {"stat_t": "pot/state", "val_tpl": template}
    )
    assert state(parser, "pot/state", payload) == []
    assert parser.problems.for_topic("pot/state") == {reason: 1}


def test_entities_sharing_a_topic_keep_the_readings_they_can_make(parser: PayloadParser) -> None:
    announce_simulator(parser)
    readings = state(
        parser, STATE, {"BME280": {"Temperature": None, "Humidity": 45.2, "Pressure": 1013.2}}
    )
    assert keys(readings) == [(BME280, "humidity"), (BME280, "pressure")]
    assert parser.problems.total == 0


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"stat_t": "pot/state"', Reason.INVALID_JSON),
        (b'["pot/state"]', Reason.INVALID_DISCOVERY),
        (b'{"name": "no state topic"}', Reason.INVALID_DISCOVERY),
        (b'{"stat_t": "pot/+/state"}', Reason.INVALID_DISCOVERY),
        (b'{"stat_t": 42}', Reason.INVALID_DISCOVERY),
    ],
)
def test_an_invalid_config_is_counted_and_keeps_what_was_known(
    parser: PayloadParser, payload: bytes, reason: Reason
) -> None:
    topic = "homeassistant/sensor/pot/t/config"
    announce(parser, topic, {"stat_t": "pot/state", "dev_cla": "temperature", "uniq_id": "pot_t"})
    assert parser.parse(topic, payload, retained=True) == []
    assert parser.problems.for_topic(topic) == {reason: 1}
    assert [s.sensor_id for s in parser.discovered] == ["pot_t"]
    assert isinstance(parser.discovered[0], DiscoveredSensor)


CONFIG_TOPICS = [
    "homeassistant/sensor/pot/a/config",
    "homeassistant/sensor/pot/b/config",
    "homeassistant/device/pot/config",
]
STATE_TOPICS = ["pot/one", "pot/two"]


@settings(max_examples=200, deadline=None)
@given(
    changes=st.lists(
        st.tuples(st.sampled_from(CONFIG_TOPICS), st.none() | st.sampled_from(STATE_TOPICS)),
        max_size=12,
    )
)
def test_every_announced_entity_gives_exactly_one_reading_whatever_the_order(
    changes: list[tuple[str, str | None]],
) -> None:
    parser = PayloadParser(clock=lambda: NOW)
    announced: dict[str, dict[str, str]] = {}
    for config_topic, state_topic in changes:
        if state_topic is None:
            announce(parser, config_topic, None)
            announced.pop(config_topic, None)
        elif "/device/" in config_topic:
            components = {key: {"p": "sensor"} for key in ("x", "y")}
            announce(parser, config_topic, {"stat_t": state_topic, "cmps": components})
            announced[config_topic] = {"pot/x": state_topic, "pot/y": state_topic}
        else:
            announce(parser, config_topic, {"stat_t": state_topic, "uniq_id": config_topic})
            announced[config_topic] = {config_topic: state_topic}
        for topic in STATE_TOPICS:
            expected = {
                sensor_id
                for sensors in announced.values()
                for sensor_id, sensor_topic in sensors.items()
                if sensor_topic == topic
            }
            ids = [r.sensor_id for r in parser.parse(topic, b"5")]
            assert len(ids) == max(len(expected), 1) and topic in ids  # the first one names it
            assert len(set(ids)) == len(ids) and set(ids) - {topic} <= expected


def test_zigbee2mqtts_own_discovery_names_the_devices_native_series(
    parser: PayloadParser,
) -> None:
    """As Zigbee2MQTT 2.7 announces an Aqara sensor (Koenkk/zigbee2mqtt#29947)."""
    device = {
        "identifiers": ["zigbee2mqtt_0x00158d0008aa5a0d"],
        "manufacturer": "Aqara",
        "model_id": "WSDCGQ11LM",
        "name": "Temperatur Balkon",
    }
    for field, device_class, unit in (
        ("pressure", "atmospheric_pressure", "hPa"),
        ("voltage", "voltage", "mV"),
    ):
        announce(
            parser,
            f"homeassistant/sensor/0x00158d0008aa5a0d/{field}/config",
            {
                "availability": [
                    {
                        "topic": "zigbee2mqtt/bridge/state",
                        "value_template": "{{ value_json.state }}",
                    }
                ],
                "device": device,
                "device_class": device_class,
                "object_id": f"temperatur_balkon_{field}",
                "state_class": "measurement",
                "state_topic": "zigbee2mqtt/Temperatur Balkon",
                "unique_id": f"0x00158d0008aa5a0d_{field}_zigbee2mqtt",
                "unit_of_measurement": unit,
                "value_template": f"{{{{ value_json.{field} }}}}",
            },
        )
    payload = {
        "battery": 100,
        "humidity": 60.1,
        "linkquality": 120,
        "pressure": 1003,
        "temperature": 8.2,
        "voltage": 3005,
    }
    readings = state(parser, "zigbee2mqtt/Temperatur Balkon", payload)
    assert {r.sensor_id for r in readings} == {"Temperatur Balkon"}
    by_quantity = {r.type: (r.value, r.unit) for r in readings}
    assert by_quantity == {
        "pressure": (1003.0, "hPa"),
        "voltage": (3005.0, "mV"),
        "battery": (100.0, "%"),
        "humidity": (60.1, "%"),
        "linkquality": (120.0, "lqi"),
        "temperature": (8.2, "°C"),
    }
    pressure = parser.sensors.get("Temperatur Balkon", "pressure")
    assert pressure is not None
    assert (pressure.name, pressure.device, pressure.label) == (
        "Pressure",
        "Temperatur Balkon",
        "Temperatur Balkon Pressure",
    )


def test_the_directory_carries_what_a_config_says(parser: PayloadParser) -> None:
    """esphomelib's config with `expire_after` (home-assistant/core#18240)."""
    announce(
        parser,
        "homeassistant/sensor/bedroom_environment/bedroom_humidity/config",
        {
            "unit_of_measurement": "%",
            "expire_after": 180,
            "icon": "mdi:water-percent",
            "name": "Bedroom Humidity",
            "state_topic": "bedroom_environment/sensor/bedroom_humidity/state",
            "availability_topic": "bedroom_environment/status",
        },
    )
    sensor = "bedroom_environment/bedroom_humidity"
    assert parser.sensors.get(sensor, "humidity") == SensorInfo(
        sensor,
        "humidity",
        "Bedroom Humidity",
        "bedroom_environment",
        "%",
        180.0,
        "bedroom_environment/sensor/bedroom_humidity/state",
        "bedroom_environment",
    )
    assert state(parser, "bedroom_environment/sensor/bedroom_humidity/state", "nan") == []
    assert parser.problems.by_reason() == {Reason.NOT_FINITE: 1}


def test_native_sensors_get_readable_names_and_their_devices_topic(parser: PayloadParser) -> None:
    state(parser, "tele/brewery/SENSOR", {"DS18B20-1": {"Temperature": 19.8}, "TempUnit": "C"})
    state(parser, "zigbee2mqtt/Kitchen Sensor", {"temperature": 21.5})
    state(parser, "greenhouse/sensor/soil_humidity/state", "41")
    state(parser, "lab/cauldron/ph", "6.8")
    labels = {(info.sensor_id, info.quantity): (info.name, info.label) for info in parser.sensors}
    assert labels == {
        ("brewery/DS18B20-1", "temperature"): (
            "DS18B20-1 temperature",
            "brewery DS18B20-1 temperature",
        ),
        ("Kitchen Sensor", "temperature"): (
            "Kitchen Sensor temperature",
            "Kitchen Sensor temperature",
        ),
        ("greenhouse/soil_humidity", "humidity"): ("soil humidity", "greenhouse soil humidity"),
        ("lab/cauldron/ph", "ph"): ("ph", "lab/cauldron ph"),
    }
    brew = parser.sensors.get("brewery/DS18B20-1", "temperature")
    assert brew is not None
    assert (brew.unit, brew.topic, brew.device_id, brew.expire_after_s) == (
        "°C",
        "tele/brewery/SENSOR",
        "brewery",
        None,
    )


def test_a_unit_change_is_noted_in_the_directory(parser: PayloadParser) -> None:
    state(parser, "tele/porch/SENSOR", {"BME280": {"Temperature": 21.0}, "TempUnit": "C"})
    revision = parser.sensors.revision
    state(parser, "tele/porch/SENSOR", {"BME280": {"Temperature": 21.0}, "TempUnit": "C"})
    assert parser.sensors.revision == revision
    state(parser, "tele/porch/SENSOR", {"BME280": {"Temperature": 69.8}, "TempUnit": "F"})
    assert parser.sensors.get("porch/BME280", "temperature").unit == "°F"  # type: ignore[union-attr]


def test_a_state_that_arrives_before_its_config_is_read_when_the_config_comes(
    parser: PayloadParser,
) -> None:
    """A broker hands over its retained messages in any order: the last state of a topic
    no one announced yet is kept and read, with its own time, once a config announces it."""
    assert parser.parse("greenhouse/climate", b'{"t": 21.5}', True, NOW - 60) == []
    assert parser.parse("greenhouse/climate", b'{"t": 22.0}', True, NOW - 30) == []
    config = {
        "name": "Greenhouse temperature",
        "uniq_id": "greenhouse-t",
        "stat_t": "greenhouse/climate",
        "val_tpl": "{{ value_json.t }}",
        "unit_of_meas": "°C",
        "dev_cla": "temperature",
    }

    read = parser.parse(
        "homeassistant/sensor/greenhouse/t/config", json.dumps(config).encode(), True
    )

    assert read == [
        SensorReading("greenhouse-t", "temperature", 22.0, "°C", NOW - 30, "greenhouse")
    ]
    assert state(parser, "greenhouse/climate", {"t": 22.5})[0].value == 22.5
    announce(parser, "homeassistant/sensor/greenhouse/t/config", config)  # nothing left to read
