"""The simulated cauldron: reproducible under a seed, physics that behaves, faults where
their labels say, and MQTT messages that the cauldron's own parser reads back."""

from __future__ import annotations

import json
import math
import random
from itertools import pairwise

import numpy as np
import pytest

from phantom_cauldron.parsing.parser import PayloadParser
from phantom_cauldron.simulator import messages
from phantom_cauldron.simulator.faults import KINDS, Fault, random_faults
from phantom_cauldron.simulator.model import CauldronSimulator, record
from phantom_cauldron.simulator.physics import Cauldron, PhysicsSettings
from phantom_cauldron.simulator.sensors import SENSORS

START = 1_795_000_000.0
"""A Wednesday, 11:06:40 UTC."""
BREW = "cauldron_core_ds18b20_1_temperature"
PH = "cauldron_core_ph_ph"
ENERGY = "crystal_ball_aether_mysticalenergy"


def test_a_seed_reproduces_the_run_and_its_faults() -> None:
    def run(seed: int) -> tuple[dict[str, np.ndarray], list[Fault]]:
        faults = random_faults(seed, SENSORS, START, 3 * 3600.0)
        recording = record(CauldronSimulator(seed, START, faults), 3 * 3600.0, 5.0)
        return recording.readings, faults

    first, first_faults = run(7)
    again, again_faults = run(7)
    other, _ = run(8)
    assert first_faults == again_faults
    assert first_faults
    assert all(np.array_equal(first[key], again[key], equal_nan=True) for key in first)
    assert not np.array_equal(first[BREW], other[BREW], equal_nan=True)


def test_random_faults_are_of_every_kind_one_at_a_time_within_the_run() -> None:
    duration = 48 * 3600.0
    faults = random_faults(3, SENSORS, START, duration)
    assert {fault.kind for fault in faults} == set(KINDS)
    assert all(START + 1800 <= f.start < f.end <= START + duration for f in faults)
    assert all(later.start - earlier.end >= 600 for earlier, later in pairwise(faults))
    assert {f.sensor_id for f in faults} <= {sensor.unique_id for sensor in SENSORS}


def twin_readings(
    fault: Fault, seconds: float = 900.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times and one sensor's readings with and without `fault`, same seed, same noise."""
    faulty = record(CauldronSimulator(5, START, [fault]), seconds, 1.0)
    clean = record(CauldronSimulator(5, START, []), seconds, 1.0)
    return faulty.times, faulty.readings[fault.sensor_id], clean.readings[fault.sensor_id]


def test_a_spike_and_a_shift_add_their_size_inside_their_window_only() -> None:
    for kind in ("spike", "shift"):
        fault = Fault(ENERGY, kind, START + 300, START + 310, 25.0)
        times, faulty, clean = twin_readings(fault)
        inside = (times >= fault.start) & (times < fault.end)
        assert np.allclose(faulty[inside] - clean[inside], 25.0)
        assert np.array_equal(faulty[~inside], clean[~inside])


def test_a_drift_grows_to_its_size_by_the_end_of_its_window() -> None:
    fault = Fault(ENERGY, "drift", START + 300, START + 600, -20.0)
    times, faulty, clean = twin_readings(fault)
    offset = faulty - clean
    inside = (times >= fault.start) & (times < fault.end)
    assert np.all(np.diff(offset[inside]) < 0)
    assert offset[inside][-1] == pytest.approx(-20.0, abs=0.2)
    assert np.array_equal(faulty[~inside], clean[~inside])


def test_a_stuck_sensor_repeats_one_value_and_a_dropout_reads_nothing() -> None:
    stuck = Fault(BREW, "stuck", START + 300, START + 500)
    times, faulty, _ = twin_readings(stuck)
    inside = (times >= stuck.start) & (times < stuck.end)
    assert len(set(faulty[inside])) == 1
    assert len(set(faulty[~inside])) > 5

    dropout = Fault(BREW, "dropout", START + 300, START + 500)
    times, faulty, _ = twin_readings(dropout)
    inside = (times >= dropout.start) & (times < dropout.end)
    assert np.all(np.isnan(faulty[inside]))
    assert not np.any(np.isnan(faulty[~inside]))


def test_the_heater_warms_the_brew_and_without_it_the_brew_cools() -> None:
    cauldron = Cauldron(random.Random(1), START)
    cauldron.heater_enabled = False
    cauldron.step(1800)
    cooled = cauldron.temperature
    assert cooled < cauldron.setpoint - 10
    assert cauldron.heater_on is False
    cauldron.heater_enabled = True
    cauldron.step(600)
    assert cauldron.temperature > cooled + 10


def test_the_thermostat_holds_the_brew_near_its_setpoint() -> None:
    recording = record(CauldronSimulator(2, START), 3600.0, 1.0)
    brew = recording.readings[BREW]
    assert abs(np.mean(brew) - 65.0) < 1.0
    assert np.max(brew) - np.min(brew) < 5.0


def test_an_ingredient_moves_the_ph_once_dissolved_and_it_recovers() -> None:
    simulator = CauldronSimulator(4, START, physics=PhysicsSettings(ingredients_per_hour=1e-9))
    cauldron = simulator.cauldron
    before = cauldron.ph()
    cauldron.add_ingredient(acidity=1.0)
    assert cauldron.ph() == before
    simulator.step(300)
    assert cauldron.ph() == pytest.approx(before - 1.0, abs=0.3)
    simulator.step(3 * 3600)
    assert cauldron.ph() == pytest.approx(before, abs=0.1)


def test_the_room_is_warmest_in_the_afternoon_and_humidity_stays_a_percentage() -> None:
    cauldron = Cauldron(random.Random(1), START - START % 86_400)
    temperatures = []
    for _ in range(24):
        temperatures.append(cauldron.room_temperature())
        assert 0.0 <= cauldron.rim_humidity() <= 100.0
        cauldron.step(3600)
    assert int(np.argmax(temperatures)) == 15


def test_discovery_announces_every_sensor_as_home_assistant_expects() -> None:
    publications = messages.discovery(SENSORS)
    configs = [json.loads(p.payload) for p in publications]
    assert all(p.retain and p.qos == 1 for p in publications)
    assert len({c["unique_id"] for c in configs}) == len(SENSORS)
    brew = configs[0]
    assert (
        publications[0].topic == "homeassistant/sensor/cauldron-core/ds18b20_1_temperature/config"
    )
    assert brew["state_topic"] == "tele/cauldron-core/SENSOR"
    assert brew["value_template"] == "{{ value_json['DS18B20-1'].Temperature }}"
    assert (brew["device_class"], brew["unit_of_measurement"]) == ("temperature", "°C")
    assert brew["device"]["identifiers"] == ["cauldron-core"]
    energy = configs[-1]
    assert energy["value_template"] == "{{ value_json.AETHER.MysticalEnergy }}"
    assert "device_class" not in energy


def test_telemetry_is_tasmota_json_per_device_and_leaves_out_what_was_not_read() -> None:
    sample: dict[str, float | None] = {sensor.unique_id: 1.5 for sensor in SENSORS}
    sample[BREW] = None
    sample["crystal_ball_bme280_temperature"] = None
    sample["crystal_ball_bme280_pressure"] = None
    sample[ENERGY] = None
    publications = messages.telemetry(SENSORS, sample, START)
    assert [p.topic for p in publications] == [
        "tele/cauldron-core/SENSOR",
        "tele/cauldron-rim/SENSOR",
    ]
    core = json.loads(publications[0].payload)
    assert core == {
        "Time": "2026-11-18T11:06:40",
        "DS18B20-2": {"Temperature": 1.5},
        "PH": {"pH": 1.5},
        "TempUnit": "C",
    }
    assert not any(p.retain for p in publications)


def test_availability_is_retained_online_or_offline() -> None:
    online = messages.availability("crystal-ball", online=True)
    offline = messages.availability("crystal-ball", online=False)
    assert (online.topic, online.payload, online.retain, online.qos) == (
        "tele/crystal-ball/LWT",
        b"Online",
        True,
        1,
    )
    assert offline.payload == b"Offline"


def test_the_cauldrons_parser_reads_the_simulated_devices_back() -> None:
    """Discovery then telemetry through the very parser the app uses: every sensor, under
    its Tasmota identity and its discovered name, its quantity, unit and value."""
    simulator = CauldronSimulator(9, START)
    simulator.step(30)
    sample = simulator.sample()
    parser = PayloadParser()
    for publication in messages.discovery(SENSORS):
        parser.parse(publication.topic, publication.payload, retained=True)
    readings = [
        reading
        for publication in messages.telemetry(SENSORS, sample, simulator.time)
        for reading in parser.parse(publication.topic, publication.payload)
    ]
    named = {info.name: info for info in parser.sensors}
    by_key = {(reading.sensor_id, reading.type): reading for reading in readings}
    by_id = {
        sensor.unique_id: by_key[named[sensor.name].sensor_id, named[sensor.name].quantity]
        for sensor in SENSORS
    }
    assert len(readings) == len(SENSORS)
    assert {key: reading.value for key, reading in by_id.items()} == sample
    assert (by_id[BREW].sensor_id, by_id[BREW].type) == ("cauldron-core/DS18B20-1", "temperature")
    assert by_id[PH].type == "ph"
    assert by_id[ENERGY].type == "mystical_energy"
    assert by_id[ENERGY].unit == "thaum"
    assert by_id[BREW].location == "cauldron-core"
    assert all(math.isfinite(reading.value) for reading in readings)
