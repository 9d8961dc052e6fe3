"""The cauldron's payload parser: real payloads of each device family become readings, and
malformed ones become counted problems, never readings and never exceptions."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phantom_cauldron.parsing import PayloadParser, Reason, handling
from phantom_cauldron.parsing import problems as problems_module
from phantom_cauldron.parsing.values import MAX_MAGNITUDE
from phantom_cauldron.readings import SensorReading

NOW = 1_700_000_000.0
Payload = bytes | str | dict[str, object]


@pytest.fixture
def parser() -> PayloadParser:
    return PayloadParser(clock=lambda: NOW)


def publish(parser: PayloadParser, topic: str, payload: Payload) -> list[SensorReading]:
    """Parse `payload` (bytes as they are, text as UTF-8, a dict as JSON)."""
    if isinstance(payload, dict):
        payload = json.dumps(payload)
    if isinstance(payload, str):
        payload = payload.encode()
    return parser.parse(topic, payload)


def table(readings: list[SensorReading]) -> dict[tuple[str, str], tuple[float, str | None]]:
    """(sensor id, quantity) → (value, unit)."""
    return {(r.sensor_id, r.type): (r.value, r.unit) for r in readings}


# --- plain numbers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "payload", "quantity", "value"),
    [
        ("lab/cauldron/temperature", "21.5", "temperature", 21.5),
        ("lab/cauldron/temp", "-3", "temperature", -3.0),
        ("lab/cauldron/humidity", "1e3", "humidity", 1000.0),
        ("lab/cauldron/pH", " 6.8\n", "ph", 6.8),
        ("lab/cauldron/battery", "97", "battery", 97.0),
        ("garden/soil_moisture_2", "41", "moisture", 41.0),
        ("lab/cauldron/mystical_energy", "0.25", "mystical_energy", 0.25),
        ("lab/cauldron/probe", "12", "value", 12.0),
    ],
)
def test_a_plain_number_is_a_reading_of_the_topic(
    parser: PayloadParser, topic: str, payload: str, quantity: str, value: float
) -> None:
    assert publish(parser, topic, payload) == [
        SensorReading(topic, quantity, value, None, NOW, location=topic.rpartition("/")[0])
    ]


def test_readings_are_stamped_by_the_parsers_clock() -> None:
    ticks = iter([10.0, 20.0])
    parser = PayloadParser(clock=lambda: next(ticks))
    first = parser.parse("a/temperature", b"1")
    second = parser.parse("a/temperature", b"2")
    assert [first[0].timestamp, second[0].timestamp] == [10.0, 20.0]


# --- field paths -------------------------------------------------------------------------


def test_a_chosen_field_path_reads_json_on_matching_topics(parser: PayloadParser) -> None:
    parser.set_field_path("lab/+/json", "sensors.0.temp", quantity="temperature", unit="°C")
    readings = publish(parser, "lab/north/json", {"sensors": [{"temp": 19.5}, {"temp": 30}]})
    assert readings == [
        SensorReading("lab/north/json", "temperature", 19.5, "°C", NOW, location="lab/north")
    ]
    assert publish(parser, "lab/north/other", {"sensors": [{"temp": 19.5}]}) == []
    assert parser.problems.for_topic("lab/north/other") == {Reason.NEEDS_FIELD_PATH: 1}


def test_several_field_paths_read_several_quantities_of_one_sensor(parser: PayloadParser) -> None:
    parser.set_field_path("plug/#", "ENERGY.Power", unit="W")
    parser.set_field_path("plug/#", "ENERGY.Voltage", unit="V")
    readings = publish(parser, "plug/desk", {"ENERGY": {"Power": 12.5, "Voltage": 231}})
    assert table(readings) == {
        ("plug/desk", "power"): (12.5, "W"),
        ("plug/desk", "voltage"): (231.0, "V"),
    }


def test_choosing_a_field_path_applies_to_a_topic_already_seen(parser: PayloadParser) -> None:
    assert publish(parser, "lab/json", {"t": 20.5}) == []
    parser.set_field_path("lab/json", "t", quantity="temperature")
    assert [r.value for r in publish(parser, "lab/json", {"t": 20.5})] == [20.5]
    parser.remove_field_path("lab/json")
    assert publish(parser, "lab/json", {"t": 20.5}) == []
    assert parser.field_paths == ()


def test_a_field_path_that_leads_nowhere_is_counted(parser: PayloadParser) -> None:
    parser.set_field_path("lab/json", "sensors.3.temp")
    assert publish(parser, "lab/json", {"sensors": [{"temp": 1}]}) == []
    assert publish(parser, "lab/json", {"sensors": [{"temp": "warm"}]}) == []
    assert parser.problems.for_topic("lab/json") == {Reason.FIELD_MISSING: 2}


@pytest.mark.parametrize(("pattern", "path"), [("lab/#/x", "a"), ("lab/x", ""), ("lab/x", "a..b")])
def test_a_bad_field_path_choice_is_rejected(
    parser: PayloadParser, pattern: str, path: str
) -> None:
    with pytest.raises(ValueError):
        parser.set_field_path(pattern, path)


# --- Tasmota -----------------------------------------------------------------------------

TASMOTA_SENSOR = {
    "Time": "2024-01-05T10:00:00",
    "DS18B20-1": {"Id": "01144A0CB5AA", "Temperature": 19.8},
    "DS18B20-2": {"Id": "0316A2792CFF", "Temperature": 4.3},
    "BME280": {"Temperature": 21.4, "Humidity": 45.2, "DewPoint": 9.1, "Pressure": 1013.2},
    "AM2301": {"Temperature": 22.0, "Humidity": 39.9, "DewPoint": 7.6},
    "TempUnit": "C",
    "PressureUnit": "hPa",
}


def test_tasmota_sensor_objects_become_readings_of_the_device(parser: PayloadParser) -> None:
    readings = publish(parser, "tele/brewery/SENSOR", TASMOTA_SENSOR)
    assert table(readings) == {
        ("brewery/DS18B20-1", "temperature"): (19.8, "°C"),
        ("brewery/DS18B20-2", "temperature"): (4.3, "°C"),
        ("brewery/BME280", "temperature"): (21.4, "°C"),
        ("brewery/BME280", "humidity"): (45.2, "%"),
        ("brewery/BME280", "dew_point"): (9.1, "°C"),
        ("brewery/BME280", "pressure"): (1013.2, "hPa"),
        ("brewery/AM2301", "temperature"): (22.0, "°C"),
        ("brewery/AM2301", "humidity"): (39.9, "%"),
        ("brewery/AM2301", "dew_point"): (7.6, "°C"),
    }
    assert {r.location for r in readings} == {"brewery"}
    assert {r.timestamp for r in readings} == {NOW}


def test_tasmota_units_follow_temp_unit_and_pressure_unit(parser: PayloadParser) -> None:
    payload = {
        "BME280": {"Temperature": 70.5, "Pressure": 29.9},
        "TempUnit": "F",
        "PressureUnit": "inHg",
    }
    assert table(publish(parser, "tele/porch/SENSOR", payload)) == {
        ("porch/BME280", "temperature"): (70.5, "°F"),
        ("porch/BME280", "pressure"): (29.9, "inHg"),
    }


def test_tasmota_energy_monitor(parser: PayloadParser) -> None:
    payload = {
        "Time": "2024-01-05T10:00:00",
        "ENERGY": {
            "TotalStartTime": "2023-11-02T18:43:32",
            "Total": 12.345,
            "Yesterday": 0.512,
            "Today": 0.104,
            "Period": 0,
            "Power": 7,
            "ApparentPower": 13,
            "ReactivePower": 11,
            "Factor": 0.53,
            "Voltage": 229,
            "Current": 0.057,
        },
    }
    readings = table(publish(parser, "tele/plug/SENSOR", payload))
    assert readings[("plug/ENERGY", "power")] == (7.0, "W")
    assert readings[("plug/ENERGY", "voltage")] == (229.0, "V")
    assert readings[("plug/ENERGY", "current")] == (0.057, "A")
    assert readings[("plug/ENERGY", "energy_total")] == (12.345, "kWh")
    assert readings[("plug/ENERGY", "power_factor")] == (0.53, None)


@pytest.mark.parametrize(
    ("topic", "device"),
    [("brewery/tele/SENSOR", "brewery"), ("tasmota/tele/brewery/SENSOR", "tasmota/brewery")],
)
def test_tasmota_full_topic_variants(parser: PayloadParser, topic: str, device: str) -> None:
    readings = publish(parser, topic, {"SHT3X": {"Temperature": 20.1}, "TempUnit": "C"})
    assert table(readings) == {(f"{device}/SHT3X", "temperature"): (20.1, "°C")}
    assert readings[0].location == device


def test_tasmota_keeps_the_good_values_of_a_payload_with_a_bad_one(parser: PayloadParser) -> None:
    payload = {"BME280": {"Temperature": None, "Humidity": 45.2}, "TempUnit": "C"}
    assert table(publish(parser, "tele/brewery/SENSOR", payload)) == {
        ("brewery/BME280", "humidity"): (45.2, "%")
    }
    assert parser.problems.total == 0


# --- Zigbee2MQTT -------------------------------------------------------------------------


def test_zigbee2mqtt_device_numbers_become_readings(parser: PayloadParser) -> None:
    payload = {
        "battery": 97,
        "humidity": 48.6,
        "linkquality": 134,
        "power_outage_count": 3,
        "pressure": 1008.3,
        "temperature": 22.71,
        "voltage": 2995,
        "update": {"installed_version": -1, "state": "idle"},
        "update_available": False,
    }
    readings = publish(parser, "zigbee2mqtt/Living Room Sensor", payload)
    assert table(readings) == {
        ("Living Room Sensor", "battery"): (97.0, "%"),
        ("Living Room Sensor", "humidity"): (48.6, "%"),
        ("Living Room Sensor", "linkquality"): (134.0, "lqi"),
        ("Living Room Sensor", "power_outage_count"): (3.0, None),
        ("Living Room Sensor", "pressure"): (1008.3, "hPa"),
        ("Living Room Sensor", "temperature"): (22.71, "°C"),
        ("Living Room Sensor", "voltage"): (2995.0, "mV"),
    }
    assert parser.problems.total == 0


def test_zigbee2mqtt_voltage_is_in_volts_on_a_metering_plug(parser: PayloadParser) -> None:
    payload = {"current": 0.07, "energy": 1.54, "linkquality": 63, "power": 0, "voltage": 239}
    readings = table(publish(parser, "zigbee2mqtt/Stopcontact", payload))
    assert readings[("Stopcontact", "voltage")] == (239.0, "V")
    assert readings[("Stopcontact", "energy")] == (1.54, "kWh")


def test_zigbee2mqtt_numbers_sent_as_text_are_read_and_placeholders_refused(
    parser: PayloadParser,
) -> None:
    payload = {"temperature": 29.24, "battery": "100.00", "voltage": 3025, "humidity": "unknown"}
    assert table(publish(parser, "zigbee2mqtt/0x00158d0001b8f335", payload)) == {
        ("0x00158d0001b8f335", "temperature"): (29.24, "°C"),
        ("0x00158d0001b8f335", "battery"): (100.0, "%"),
        ("0x00158d0001b8f335", "voltage"): (3025.0, "mV"),
    }
    assert publish(parser, "zigbee2mqtt/0x00158d0001b8f335", {"battery": "nan"}) == []
    assert parser.problems.for_topic("zigbee2mqtt/0x00158d0001b8f335") == {Reason.NOT_FINITE: 1}


def test_zigbee2mqtt_attribute_topics_are_read_only_until_the_json_state_is_heard(
    parser: PayloadParser,
) -> None:
    assert table(publish(parser, "zigbee2mqtt/z1/power", "12")) == {("z1", "power"): (12.0, "W")}
    assert publish(parser, "zigbee2mqtt/z1/state", "OFF") == []
    publish(parser, "zigbee2mqtt/z1", {"power": 12, "state": "OFF"})
    assert publish(parser, "zigbee2mqtt/z1/power", "12") == []
    assert parser.problems.total == 0


def test_zigbee2mqtt_friendly_names_may_contain_slashes(parser: PayloadParser) -> None:
    readings = publish(parser, "zigbee2mqtt/cellar/shelf/probe", {"temperature": 12.5})
    assert [(r.sensor_id, r.location) for r in readings] == [("cellar/shelf/probe",) * 2]


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("zigbee2mqtt/bridge/state", '{"state":"online"}'),
        ("zigbee2mqtt/bridge/info", '{"version":"1.35.1","coordinator":{"type":"zStack3x0"}}'),
        ("zigbee2mqtt/bridge/logging", '{"level":"info","message":"temperature 21"}'),
        ("zigbee2mqtt/Desk Lamp/set", '{"brightness": 120}'),
        ("zigbee2mqtt/Desk Lamp/get", '{"state": ""}'),
        ("zigbee2mqtt/Desk Lamp", '{"state":"ON","color_mode":"xy"}'),
    ],
)
def test_zigbee2mqtt_topics_without_measurements_are_skipped_silently(
    parser: PayloadParser, topic: str, payload: str
) -> None:
    assert publish(parser, topic, payload) == []
    assert parser.problems.total == 0


# --- ESPHome -----------------------------------------------------------------------------


def test_esphome_sensor_states_before_any_discovery(parser: PayloadParser) -> None:
    readings = publish(parser, "greenhouse/sensor/greenhouse_humidity/state", "63.2")
    assert readings == [
        SensorReading(
            "greenhouse/greenhouse_humidity", "humidity", 63.2, None, NOW, location="greenhouse"
        )
    ]


def test_esphome_reports_a_sensor_without_state_as_nan(parser: PayloadParser) -> None:
    assert publish(parser, "greenhouse/sensor/outside_temperature/state", "nan") == []
    assert parser.problems.for_topic("greenhouse/sensor/outside_temperature/state") == {
        Reason.NOT_FINITE: 1
    }


@pytest.mark.parametrize(
    "topic", ["greenhouse/binary_sensor/door/state", "greenhouse/switch/pump/state"]
)
def test_esphome_non_measuring_components_are_skipped(parser: PayloadParser, topic: str) -> None:
    assert publish(parser, topic, "ON") == []
    assert parser.problems.total == 0


# --- Shelly ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "payload", "sensor_id", "quantity", "unit"),
    [
        (
            "shellies/shellyht-C45A7B/sensor/temperature",
            "21.38",
            "shellyht-C45A7B",
            "temperature",
            None,
        ),
        ("shellies/shellyht-C45A7B/sensor/humidity", "52.5", "shellyht-C45A7B", "humidity", "%"),
        ("shellies/shellyht-C45A7B/sensor/battery", "88", "shellyht-C45A7B", "battery", "%"),
        ("shellies/shelly1pm-A1B2/relay/0/power", "12.5", "shelly1pm-A1B2/relay/0", "power", "W"),
        (
            "shellies/shelly1pm-A1B2/relay/0/energy",
            "4120",
            "shelly1pm-A1B2/relay/0",
            "energy",
            "Wmin",
        ),
        ("shellies/shelly1pm-A1B2/temperature", "41.9", "shelly1pm-A1B2", "temperature", "°C"),
        (
            "shellies/shellyem-B3C4/emeter/1/voltage",
            "231.4",
            "shellyem-B3C4/emeter/1",
            "voltage",
            "V",
        ),
        (
            "shellies/shellyem-B3C4/emeter/0/pf",
            "0.93",
            "shellyem-B3C4/emeter/0",
            "power_factor",
            None,
        ),
        (
            "shellies/shelly1-D5/ext_temperature/0",
            "18.25",
            "shelly1-D5/ext_temperature/0",
            "temperature",
            "°C",
        ),
    ],
)
def test_shelly_gen1_measurement_topics(
    parser: PayloadParser, topic: str, payload: str, sensor_id: str, quantity: str, unit: str | None
) -> None:
    device = topic.split("/")[1]
    assert publish(parser, topic, payload) == [
        SensorReading(sensor_id, quantity, float(payload), unit, NOW, location=device)
    ]


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        ("shellies/shelly1pm-A1B2/relay/0", "on"),
        ("shellies/shelly1pm-A1B2/input/0", "1"),
        ("shellies/shellydw2-E6/sensor/state", "open"),
        ("shellies/announce", '{"id":"shelly1pm-A1B2","model":"SHSW-PM"}'),
        ("shellies/shelly1pm-A1B2/info", '{"wifi_sta":{"connected":true}}'),
    ],
)
def test_shelly_gen1_states_and_announcements_are_skipped(
    parser: PayloadParser, topic: str, payload: str
) -> None:
    assert publish(parser, topic, payload) == []
    assert parser.problems.total == 0


def test_shelly_gen2_full_status_notification(parser: PayloadParser) -> None:
    payload = {
        "src": "shellyplusht-b8d61a8b17cc",
        "dst": "shellyplusht-b8d61a8b17cc/events",
        "method": "NotifyFullStatus",
        "params": {
            "ts": 1680962879.62,
            "ble": {},
            "cloud": {"connected": False},
            "devicepower:0": {
                "id": 0,
                "battery": {"V": 4.43, "percent": 80},
                "external": {"present": False},
            },
            "humidity:0": {"id": 0, "rh": 42.2},
            "sys": {"mac": "B8D61A8B17CC", "uptime": 3, "ram_free": 164244},
            "temperature:0": {"id": 0, "tC": 19.8, "tF": 67.6},
            "wifi": {"sta_ip": "192.168.3.183", "status": "got ip", "rssi": -58},
        },
    }
    readings = publish(parser, "shellyplusht-b8d61a8b17cc/events/rpc", payload)
    device = "shellyplusht-b8d61a8b17cc"
    assert table(readings) == {
        (f"{device}/devicepower:0", "battery"): (80.0, "%"),
        (f"{device}/devicepower:0", "battery_voltage"): (4.43, "V"),
        (f"{device}/humidity:0", "humidity"): (42.2, "%"),
        (f"{device}/temperature:0", "temperature"): (19.8, "°C"),
    }
    assert {r.location for r in readings} == {device}


def test_shelly_gen2_partial_status_notification(parser: PayloadParser) -> None:
    payload = {
        "src": "shellyplus1pm-441793d69718",
        "method": "NotifyStatus",
        "params": {
            "ts": 1700000000.1,
            "switch:0": {
                "id": 0,
                "apower": 12.5,
                "voltage": 230.1,
                "temperature": {"tC": 40.1, "tF": 104.2},
            },
        },
    }
    readings = publish(parser, "shellyplus1pm-441793d69718/events/rpc", payload)
    assert table(readings) == {
        ("shellyplus1pm-441793d69718/switch:0", "power"): (12.5, "W"),
        ("shellyplus1pm-441793d69718/switch:0", "voltage"): (230.1, "V"),
        ("shellyplus1pm-441793d69718/switch:0", "temperature"): (40.1, "°C"),
    }


def test_shelly_gen2_component_status_topic(parser: PayloadParser) -> None:
    status = {
        "id": 0,
        "source": "init",
        "output": True,
        "apower": 8.9,
        "voltage": 229.4,
        "current": 0.062,
        "aenergy": {"total": 1520.337, "by_minute": [0, 0, 0], "minute_ts": 1700000000},
        "temperature": {"tC": 38.2, "tF": 100.8},
    }
    readings = table(publish(parser, "office-plug/status/switch:0", status))
    assert readings[("office-plug/switch:0", "energy")] == (1520.337, "Wh")
    assert readings[("office-plug/switch:0", "current")] == (0.062, "A")
    assert len(readings) == 5


def test_shelly_gen2_events_other_than_status_are_skipped(parser: PayloadParser) -> None:
    event = {
        "src": "x",
        "method": "NotifyEvent",
        "params": {"events": [{"component": "input:0", "event": "single_push"}]},
    }
    assert publish(parser, "plus-i4/events/rpc", event) == []
    assert parser.problems.total == 0


@pytest.mark.parametrize(
    "payload",
    [
        {"method": ["NotifyStatus"], "params": {"temperature:0": {"tC": 20}}},
        {"method": "NotifyStatus", "params": [{"tC": 20}]},
        b'["NotifyStatus"]',
    ],
)
def test_a_malformed_shelly_gen2_notification_is_counted(
    parser: PayloadParser, payload: Payload
) -> None:
    assert publish(parser, "plus-ht/events/rpc", payload) == []
    assert parser.problems.for_topic("plus-ht/events/rpc") == {Reason.UNEXPECTED_JSON: 1}


def test_what_the_parser_remembers_of_heard_sensors_stays_bounded(
    parser: PayloadParser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handling, "HEARD_LIMIT", 2)
    for name in ("a", "b", "c"):
        publish(parser, f"zigbee2mqtt/{name}", {"power": 5})
    assert publish(parser, "zigbee2mqtt/b/power", "5") == []  # a copy of b's JSON
    assert len(publish(parser, "zigbee2mqtt/c/power", "5")) == 1  # c was not remembered


def test_shelly_gen1_fahrenheit_twins_are_the_same_sensor_read_once(parser: PayloadParser) -> None:
    """A Shelly 1 add-on publishes each probe twice (pastebin.com/vjJubCm9)."""
    probe = "shelly1-XXXXXX/ext_temperature/0"
    first = publish(parser, "shellies/shelly1-XXXXXX/ext_temperature_f/0", "117.84")
    assert table(first) == {(probe, "temperature"): (47.69, "°C")}
    assert table(publish(parser, "shellies/shelly1-XXXXXX/ext_temperature/0", "47.50")) == {
        (probe, "temperature"): (47.5, "°C")
    }
    assert publish(parser, "shellies/shelly1-XXXXXX/ext_temperature_f/0", "117.50") == []
    assert [info.sensor_id for info in parser.sensors] == [probe]
    assert parser.problems.total == 0


def test_shelly_gen1_device_temperature_has_a_fahrenheit_twin_too(parser: PayloadParser) -> None:
    assert table(publish(parser, "shellies/shelly1pm-A1B2/temperature_f", "107.42")) == {
        ("shelly1pm-A1B2", "temperature"): (41.9, "°C")
    }
    assert publish(parser, "shellies/shelly1pm-A1B2/overtemperature", "0") == []
    assert publish(parser, "shellies/shelly1pm-A1B2/temperature_status", "Normal") == []


def test_shelly_gen2_reads_tf_only_where_tc_is_missing(parser: PayloadParser) -> None:
    both = publish(parser, "plus/status/temperature:100", {"id": 100, "tC": 20.5, "tF": 68.9})
    only = publish(parser, "plus/status/temperature:100", {"id": 100, "tF": 68.9})
    assert table(both) == table(only) == {("plus/temperature:100", "temperature"): (20.5, "°C")}
    assert publish(parser, "plus/status/temperature:100", {"id": 100, "tC": None, "tF": None}) == []
    assert parser.problems.for_topic("plus/status/temperature:100") == {Reason.NO_VALUE: 1}


def test_tasmota_ble_sensors_bridges_and_status_answers(parser: PayloadParser) -> None:
    ble = {
        "Time": "2024-02-18T04:36:52",
        "ATC226754": {
            "mac": "a4c138226754",
            "Temperature": 23.3,
            "Humidity": 28.8,
            "DewPoint": 4.1,
            "Btn": 0,
            "Battery": 78,
            "RSSI": -52,
        },
        "TempUnit": "C",
    }
    assert table(publish(parser, "tele/tasmota_1285B8/SENSOR", ble)) == {
        ("tasmota_1285B8/ATC226754", "temperature"): (23.3, "°C"),
        ("tasmota_1285B8/ATC226754", "humidity"): (28.8, "%"),
        ("tasmota_1285B8/ATC226754", "dew_point"): (4.1, "°C"),
        ("tasmota_1285B8/ATC226754", "battery"): (78.0, "%"),
        ("tasmota_1285B8/ATC226754", "signal_strength"): (-52.0, "dBm"),
    }
    assert len(publish(parser, "tele/tasmota_ble/ATC226754", ble)) == 5
    zigbee = {
        "ZbReceived": {
            "0x2916": {
                "Device": "0x2916",
                "Name": "SNZB-02",
                "Temperature": 26.27,
                "Endpoint": 1,
                "LinkQuality": 105,
            }
        }
    }
    assert table(publish(parser, "tele/zbbridge/SENSOR", zigbee)) == {
        ("zbbridge/0x2916", "temperature"): (26.27, "°C"),
        ("zbbridge/0x2916", "linkquality"): (105.0, "lqi"),
    }
    answer = {"StatusSNS": {"Time": "2019-11-03T20:45:37", "BH1750": {"Illuminance": 79}}}
    assert table(publish(parser, "stat/lamp/STATUS8", answer)) == {
        ("lamp/BH1750", "illuminance"): (79.0, "lx")
    }
    assert publish(parser, "stat/lamp/RESULT", {"POWER": "ON"}) == []
    assert publish(parser, "tele/lamp/STATE", {"Uptime": "0T18:36:12", "Vcc": 3.423}) == []
    assert publish(parser, "cmnd/lamp/Power", "1") == []
    assert parser.problems.total == 0


def test_tasmota_time_of_flight_distances_are_in_millimetres(parser: PayloadParser) -> None:
    readings = publish(parser, "tele/tof/SENSOR", {"VL53L0X": {"Distance": 263}})
    assert table(readings) == {("tof/VL53L0X", "distance"): (263.0, "mm")}
    readings = publish(parser, "tele/sonar/SENSOR", {"SR04": {"Distance": 16.754}})
    assert table(readings) == {("sonar/SR04", "distance"): (16.754, "cm")}


# --- malformed payloads ------------------------------------------------------------------

PLAIN = "lab/cauldron/temperature"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"nan", Reason.NOT_FINITE),
        (b"NaN", Reason.NOT_FINITE),
        (b"Infinity", Reason.NOT_FINITE),
        (b"-inf", Reason.NOT_FINITE),
        (b"unavailable", Reason.NO_VALUE),
        (b"unknown", Reason.NO_VALUE),
        (b"None", Reason.NO_VALUE),
        (b"null", Reason.NO_VALUE),
        (b"", Reason.EMPTY),
        (b" \r\n", Reason.EMPTY),
        (b"\xff\xfe2\x001\x00", Reason.NOT_UTF8),
        (b"21.5\xc3", Reason.NOT_UTF8),
        (b'{"temp": 21.', Reason.INVALID_JSON),
        (b'{"temp": 21.5}', Reason.NEEDS_FIELD_PATH),
        (b"warm", Reason.NOT_A_NUMBER),
        (b'"21.5"', Reason.NOT_A_NUMBER),
        (b"true", Reason.NOT_A_NUMBER),
        (b"0x1F", Reason.NOT_A_NUMBER),
        (b"1_000", Reason.NOT_A_NUMBER),
        ("٢١".encode(), Reason.NOT_A_NUMBER),
        (b"1e400", Reason.OUT_OF_RANGE),
        (b"-2e300", Reason.OUT_OF_RANGE),
    ],
)
def test_a_malformed_plain_payload_is_counted_not_read(
    parser: PayloadParser, payload: bytes, reason: Reason
) -> None:
    assert parser.parse(PLAIN, payload) == []
    assert parser.problems.for_topic(PLAIN) == {reason: 1}
    assert parser.problems.total == 1


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"temperature": NaN, "humidity": 40}', Reason.NOT_FINITE),
        (b'{"temperature": -Infinity}', Reason.NOT_FINITE),
        (b'{"temperature": "nan"}', Reason.NOT_FINITE),
        (b'{"temperature": "unavailable"}', Reason.NO_VALUE),
        (b'{"temperature": null}', Reason.NO_VALUE),
        (b'{"temperature": "warm"}', Reason.NOT_A_NUMBER),
        (b'{"temperature": ""}', Reason.EMPTY),
        (b'{"temperature": "None"}', Reason.NO_VALUE),
        (b'{"temperature": true}', Reason.NOT_A_NUMBER),
        (b'{"temperature": 1e999}', Reason.OUT_OF_RANGE),
        (b'{"temperature": 1' + b"0" * 400 + b"}", Reason.OUT_OF_RANGE),
        (b'{"battery": 9', Reason.INVALID_JSON),
        (b"[21.5]", Reason.UNEXPECTED_JSON),
        (b"21.5", Reason.UNEXPECTED_JSON),
        (b"\x80\x81", Reason.NOT_UTF8),
        (b"", Reason.EMPTY),
    ],
)
def test_a_malformed_device_payload_is_counted_not_read(
    parser: PayloadParser, payload: bytes, reason: Reason
) -> None:
    topic = "zigbee2mqtt/Kitchen Sensor"
    assert parser.parse(topic, payload) == []
    assert parser.problems.for_topic(topic) == {reason: 1}


def test_bare_nan_in_tasmota_json_refuses_the_whole_payload(parser: PayloadParser) -> None:
    payload = b'{"BME280":{"Temperature":NaN,"Humidity":45.2},"TempUnit":"C"}'
    assert parser.parse("tele/brewery/SENSOR", payload) == []
    assert parser.problems.for_topic("tele/brewery/SENSOR") == {Reason.NOT_FINITE: 1}


def test_deeply_nested_json_is_refused_not_raised(parser: PayloadParser) -> None:
    payload = b"[" * 100_000 + b"]" * 100_000
    assert parser.parse("zigbee2mqtt/deep", payload) == []
    assert parser.problems.for_topic("zigbee2mqtt/deep") == {Reason.INVALID_JSON: 1}


@pytest.mark.parametrize(
    ("topic", "payload", "device", "online"),
    [
        ("tele/brewery/LWT", "Online", "brewery", True),
        ("tele/brewery/LWT", "Offline", "brewery", False),
        ("zigbee2mqtt/Kitchen Sensor/availability", '{"state":"offline"}', "Kitchen Sensor", False),
        ("zigbee2mqtt/Kitchen Sensor/availability", "online", "Kitchen Sensor", True),
        ("zigbee2mqtt/bridge/state", '{"state":"online"}', "bridge", True),
        ("greenhouse/status", "online", "greenhouse", True),
        ("shellies/shellyht-C45A7B/online", "false", "shellyht-C45A7B", False),
        ("shellyplus1pm-441793d69718/online", "true", "shellyplus1pm-441793d69718", True),
    ],
)
def test_availability_messages_set_the_devices_state_and_are_no_problem(
    parser: PayloadParser, topic: str, payload: str, device: str, online: bool
) -> None:
    revision = parser.sensors.revision
    assert publish(parser, topic, payload) == []
    state = parser.sensors.device(device)
    assert state is not None and (state.online, state.topic) == (online, topic)
    assert state.node == topic.rpartition("/")[0]
    assert parser.sensors.revision > revision
    assert parser.problems.total == 0


def test_a_device_going_offline_keeps_its_place_and_its_readings_their_location(
    parser: PayloadParser,
) -> None:
    publish(parser, "tele/brewery/LWT", "Online")
    [reading] = publish(parser, "tele/brewery/SENSOR", {"DS18B20": {"Temperature": 61.5}})
    publish(parser, "tele/brewery/LWT", "Offline")
    assert [(d.device_id, d.online) for d in parser.sensors.devices()] == [("brewery", False)]
    assert reading.location == "brewery"


def test_an_availability_topic_that_says_neither_is_counted(parser: PayloadParser) -> None:
    assert publish(parser, "tele/brewery/LWT", "Rebooting") == []
    assert parser.problems.for_topic("tele/brewery/LWT") == {Reason.UNKNOWN_AVAILABILITY: 1}
    assert parser.sensors.device("brewery") is None


def test_a_generic_status_topic_that_is_no_availability_is_read_as_a_number(
    parser: PayloadParser,
) -> None:
    assert [r.value for r in publish(parser, "boiler/status", "3")] == [3.0]
    assert parser.sensors.device("boiler") is None


def test_an_empty_retained_payload_clears_the_broker_and_is_no_problem(
    parser: PayloadParser,
) -> None:
    assert parser.parse(PLAIN, b"", retained=True) == []
    assert parser.problems.total == 0


# --- problems ----------------------------------------------------------------------------


def test_problems_count_per_topic_and_reason_and_keep_the_last_payload(
    parser: PayloadParser,
) -> None:
    for payload in (b"nan", b"nan", b"unavailable", b"21.5", b"x" * 500):
        parser.parse(PLAIN, payload)
    parser.parse("tele/brewery/LWT", b"Offline")
    parser.parse("tele/brewery/SENSOR", b"[]")
    problems = parser.problems
    assert problems.for_topic(PLAIN) == {
        Reason.NOT_FINITE: 2,
        Reason.NO_VALUE: 1,
        Reason.NOT_A_NUMBER: 1,
    }
    assert problems.topics() == [PLAIN, "tele/brewery/SENSOR"]
    assert problems.by_reason()[Reason.NOT_FINITE] == 2
    assert problems.total == 5
    last = problems.last(PLAIN)
    assert last is not None
    assert last.reason is Reason.NOT_A_NUMBER
    assert last.excerpt == "x" * problems_module.EXCERPT_BYTES
    assert problems.last("never/refused") is None


def test_problems_show_undecodable_payloads_readably(parser: PayloadParser) -> None:
    parser.parse(PLAIN, b"\xff21")
    last = parser.problems.last(PLAIN)
    assert last is not None
    assert last.excerpt == "\\xff21"


def test_problems_on_too_many_topics_are_counted_together(
    parser: PayloadParser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(problems_module, "TOPIC_LIMIT", 3)
    for index in range(5):
        parser.parse(f"flood/{index}", b"nan")
    assert parser.problems.topics() == [
        "flood/0",
        "flood/1",
        "flood/2",
        problems_module.OTHER_TOPICS,
    ]
    assert parser.problems.for_topic(problems_module.OTHER_TOPICS) == {Reason.NOT_FINITE: 2}
    assert parser.problems.total == 5


def test_clearing_problems_starts_the_counts_over(parser: PayloadParser) -> None:
    parser.parse(PLAIN, b"nan")
    revision = parser.problems.revision
    parser.problems.clear()
    assert (parser.problems.total, parser.problems.topics()) == (0, [])
    assert parser.problems.revision > revision


# --- never raises ------------------------------------------------------------------------

TOPIC_SHAPES = [
    "lab/cauldron/temperature",
    "tele/brewery/SENSOR",
    "brewery/tele/SENSOR",
    "tele/tasmota_ble/ATC226754",
    "stat/brewery/STATUS8",
    "tele/brewery/LWT",
    "zigbee2mqtt/Kitchen Sensor",
    "zigbee2mqtt/Kitchen Sensor/availability",
    "zigbee2mqtt/z1/power",
    "zigbee2mqtt/bridge/state",
    "greenhouse/sensor/outside_temperature/state",
    "greenhouse/climate/hall/current_temperature/state",
    "greenhouse/status",
    "shellies/shellyht-C45A7B/sensor/temperature",
    "shellies/shelly1pm-A1B2/emeter/0/power",
    "shellies/shelly1-D5/ext_temperature/0",
    "shellies/shelly1-D5/ext_temperature_f/0",
    "shellies/shellymotion-1/status",
    "shellies/shelly1-D5/online",
    "shellyplusht-b8d61a8b17cc/events/rpc",
    "office-plug/status/switch:0",
    "pro3em/status/em:0",
    "homeassistant/sensor/cauldron/temperature/config",
    "homeassistant/device/cauldron/config",
    "tele/cauldron/SENSOR",
    "lab/json",
]
KEYS = [
    "BME280",
    "Temperature",
    "temperature",
    "TempUnit",
    "ZbReceived",
    "StatusSNS",
    "ATC226754",
    "Battery",
    "battery",
    "voltage",
    "power",
    "illuminance_lux",
    "state",
    "stat_t",
    "val_tpl",
    "uniq_id",
    "~",
    "cmps",
    "p",
    "method",
    "params",
    "switch:0",
    "temperature:0",
    "tC",
    "tF",
    "apower",
    "aenergy",
    "total",
    "a_voltage",
    "lux",
    "t",
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "{{ value_json.BME280.Temperature }}",
            "tele/cauldron/SENSOR",
            "~/SENSOR",
            "NotifyStatus",
            "37.00",
            "-1e300",
            "1e999",
            "nan",
            "NaN",
            "Infinity",
            "unknown",
            "unavailable",
            "None",
            "",
            "online",
            "offline",
            "C",
            "F",
        ]
    ),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=20,
)
payloads = (
    st.binary(max_size=200)
    | json_values.map(lambda value: json.dumps(value).encode())
    | st.sampled_from(
        [
            b"nan",
            b"NaN",
            b"[NaN]",
            b'{"a": Infinity}',
            b"1e999",
            b"-0",
            b"{{",
            b"Online",
            b"true",
            b'{"state":"online"}',
            b"117.84",
            b'{"tF": 1e308}',
        ]
    )
)
templates = st.text(max_size=60) | st.sampled_from(
    [
        "{{ value_json.BME280.Temperature }}",
        "{{ (value | float) * 0.1 }}",
        "{{ value_json.t / 0 }}",
        "{{ value_json.t * 1e300 * 1e300 }}",
        "{{ value | int | round(2) }}",
        "{{ " + "(" * 50 + "value" + ")" * 50 + " }}",
        "{{ -value_json['t'] | abs }}",
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    messages=st.lists(
        st.tuples(st.sampled_from(TOPIC_SHAPES) | st.text(max_size=40), payloads, st.booleans()),
        max_size=8,
    ),
    template=templates,
)
def test_parse_never_raises_and_every_reading_is_finite(
    messages: list[tuple[str, bytes, bool]], template: str
) -> None:
    parser = PayloadParser(clock=lambda: NOW)
    parser.set_field_path("lab/json", "t")
    config = {"stat_t": "tele/cauldron/SENSOR", "val_tpl": template, "uniq_id": "cauldron_t"}
    parser.parse("homeassistant/sensor/cauldron/t/config", json.dumps(config).encode())
    for topic, payload, retained in messages:
        for reading in parser.parse(topic, payload, retained):
            assert math.isfinite(reading.value)
            assert abs(reading.value) <= MAX_MAGNITUDE
            assert reading.timestamp == NOW
            info = parser.sensors.get(reading.sensor_id, reading.type)
            assert info is not None and info.unit == reading.unit
