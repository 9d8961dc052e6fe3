"""Home Assistant MQTT discovery: configs that announce sensors and how to read their states.

A config arrives (usually retained) on `homeassistant/<component>/[<node_id>/]<object_id>/config`::

    {"name": "Temperature", "stat_t": "~/SENSOR", "~": "tele/cauldron",
     "val_tpl": "{{ value_json.BME280.Temperature }}", "unit_of_meas": "°C",
     "dev_cla": "temperature", "uniq_id": "cauldron_bme280_temperature",
     "dev": {"name": "Cauldron", "ids": ["cauldron"]}}

Abbreviated keys are expanded and `~` at either end of a topic is the base topic.
Device configs (`homeassistant/device/<id>/config`) announce several components
under `cmps`, sharing the top-level options. Only sensors are learned. A sensor is
identified by its unique id (else its object id), measures its device class (else the
quantity its ids name, else "value") and is located at its device's name (else the
node id), until the parser finds that a device family reads the same field natively:
then it is that family's sensor, which the config names (see `announced`). An empty
config forgets what its topic announced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from phantom_cauldron.parsing.handling import Reason, Refused
from phantom_cauldron.parsing.quantities import canonical, guess
from phantom_cauldron.parsing.state import StatePayload
from phantom_cauldron.parsing.templates import ValueTemplate, compile_template
from phantom_cauldron.parsing.values import json_from_payload, measure_listed
from phantom_cauldron.readings import SensorReading

DISCOVERY_PREFIX = "homeassistant"
ABBREVIATIONS = {
    "stat_t": "state_topic",
    "unit_of_meas": "unit_of_measurement",
    "dev_cla": "device_class",
    "val_tpl": "value_template",
    "uniq_id": "unique_id",
    "obj_id": "object_id",
    "dev": "device",
    "p": "platform",
    "cmps": "components",
    "exp_aft": "expire_after",
    "stat_cla": "state_class",
    "avty_t": "availability_topic",
}
BASE_TOPIC = "~"


@dataclass(frozen=True, slots=True)
class DiscoveredSensor:
    """A sensor announced by a discovery config, and how its state payloads are read."""

    config_topic: str
    state_topic: str
    sensor_id: str
    quantity: str
    unit: str | None
    location: str | None
    name: str | None
    template: ValueTemplate
    device_name: str | None = None
    expire_after_s: float | None = None

    def read(self, state: StatePayload, now: float) -> SensorReading:
        """The reading in one state payload."""
        value = self.template.evaluate(state)
        return SensorReading(self.sensor_id, self.quantity, value, self.unit, now, self.location)


class Discovery:
    """The sensors that discovery configs have announced, by config topic and by state topic."""

    def __init__(self, prefix: str = DISCOVERY_PREFIX) -> None:
        self.prefix = prefix
        self._by_config: dict[str, tuple[DiscoveredSensor, ...]] = {}
        self._by_state: dict[str, tuple[DiscoveredSensor, ...]] = {}
        self.revision = 0
        """Changes whenever a sensor is learned, changed or forgotten."""

    def is_config_topic(self, levels: Sequence[str]) -> bool:
        """Whether a topic (split into levels) is where discovery configs are published."""
        return len(levels) in (4, 5) and levels[-1] == "config" and levels[0] == self.prefix

    def sensors(self) -> list[DiscoveredSensor]:
        """Every known sensor, in the order their configs arrived."""
        return [sensor for sensors in self._by_config.values() for sensor in sensors]

    def for_state_topic(self, topic: str) -> tuple[DiscoveredSensor, ...]:
        """The sensors whose states are published on `topic`."""
        return self._by_state.get(topic, ())

    def receive(self, config_topic: str, levels: Sequence[str], payload: bytes) -> set[str]:
        """Learn what a config announces (an empty one: forget); the state topics that changed.

        A config that can't be read is refused and changes nothing.
        """
        sensors = parse_config(config_topic, levels, payload) if payload.strip() else ()
        old = self._by_config.get(config_topic, ())
        if sensors == old:
            return set()
        for state_topic in {sensor.state_topic for sensor in old}:
            remaining = tuple(
                other for other in self._by_state[state_topic] if other.config_topic != config_topic
            )
            if remaining:
                self._by_state[state_topic] = remaining
            else:
                del self._by_state[state_topic]
        for sensor in sensors:
            self._by_state[sensor.state_topic] = (
                *self._by_state.get(sensor.state_topic, ()),
                sensor,
            )
        if sensors:
            self._by_config[config_topic] = sensors
        else:
            del self._by_config[config_topic]
        self.revision += 1
        return {sensor.state_topic for sensor in (*old, *sensors)}


def parse_config(
    config_topic: str, levels: Sequence[str], payload: bytes
) -> tuple[DiscoveredSensor, ...]:
    """The sensors a (non-empty) config announces; none for other components."""
    document = json_from_payload(payload)
    if not isinstance(document, dict):
        raise Refused(Reason.INVALID_DISCOVERY)
    config = _expanded(document)
    component, object_id = levels[1], levels[-2]
    node_id = levels[2] if len(levels) == 5 else None
    if component == "sensor":
        return (_sensor(config_topic, _with_base(config), node_id, object_id),)
    if component != "device":
        return ()
    components = config.pop("components", None)
    if not isinstance(components, dict):
        raise Refused(Reason.INVALID_DISCOVERY)
    sensors = []
    for key, options in components.items():
        if isinstance(options, dict):
            merged = config | _expanded(options)
            if merged.get("platform") == "sensor":
                sensors.append(_sensor(config_topic, _with_base(merged), object_id, key))
    return tuple(sensors)


def _sensor(
    config_topic: str, config: dict[str, object], node_id: str | None, object_id: str
) -> DiscoveredSensor:
    state_topic = _text(config, "state_topic")
    if state_topic is None or "+" in state_topic or "#" in state_topic:
        raise Refused(Reason.INVALID_DISCOVERY)
    unique_id = _text(config, "unique_id")
    chosen_object_id = _text(config, "object_id")
    device_class = _text(config, "device_class")
    name = _text(config, "name")
    device = config.get("device")
    device_name = _text(device, "name") if isinstance(device, dict) else None
    ids = (chosen_object_id or object_id, name or "", unique_id or "")
    quantity = canonical(device_class) if device_class else _guess_any(ids)
    expire_after = measure_listed(config.get("expire_after"))
    expires = isinstance(expire_after, float) and expire_after > 0
    return DiscoveredSensor(
        config_topic=config_topic,
        state_topic=state_topic,
        sensor_id=unique_id or chosen_object_id or "/".join(filter(None, (node_id, object_id))),
        quantity=quantity,
        unit=_text(config, "unit_of_measurement"),
        location=device_name or node_id,
        name=name,
        template=compile_template(_text(config, "value_template")),
        device_name=device_name,
        expire_after_s=expire_after if expires and isinstance(expire_after, float) else None,
    )


def _guess_any(names: Sequence[str]) -> str:
    for name in names:
        quantity = guess(name)
        if quantity is not None:
            return quantity
    return "value"


def _expanded(options: dict[str, object]) -> dict[str, object]:
    return {ABBREVIATIONS.get(key, key): value for key, value in options.items()}


def _with_base(config: dict[str, object]) -> dict[str, object]:
    """`config` with `~` at either end of its topics replaced by the base topic."""
    base = config.get(BASE_TOPIC)
    if not isinstance(base, str):
        return config
    expanded = dict(config)
    for key, value in config.items():
        if key.endswith("topic") and isinstance(value, str) and value:
            if value.startswith(BASE_TOPIC):
                value = base + value[1:]
            elif value.endswith(BASE_TOPIC):
                value = value[:-1] + base
            expanded[key] = value
    return expanded


def _text(options: dict[str, object], key: str) -> str | None:
    value = options.get(key)
    return value if isinstance(value, str) and value else None
