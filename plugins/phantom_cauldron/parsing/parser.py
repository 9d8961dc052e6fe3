"""`PayloadParser`: MQTT messages in, sensor readings out, whatever the device family.

Each topic is routed once to a handler, and the decision is cached, so a message costs
a dict lookup plus its family's decoding. In order of precedence a topic is: a
discovery config; a topic the user chose a field path for; a state topic a discovery
config announced; an availability topic; a Zigbee2MQTT, Tasmota, Shelly or ESPHome
topic; or else a plain number named after the topic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

from phantom_cauldron.directory import SensorDirectory
from phantom_cauldron.parsing import esphome, fieldpaths, plain, shelly, tasmota, zigbee2mqtt
from phantom_cauldron.parsing.fieldpaths import FieldPath
from phantom_cauldron.parsing.handling import (
    AVAILABILITY_LEVELS,
    Handler,
    Reason,
    Refused,
    availability,
)
from phantom_cauldron.parsing.homeassistant import (
    DISCOVERY_PREFIX,
    DiscoveredSensor,
    Discovery,
    read_state,
)
from phantom_cauldron.parsing.problems import Problems
from phantom_cauldron.readings import SensorReading
from phantom_gui.core.topics import topic_matches

ROUTE_CACHE_LIMIT = 65_536
"""Topics whose handler is remembered; a full cache starts over."""
FAMILIES = (zigbee2mqtt.route, tasmota.route, shelly.route, esphome.route)


class PayloadParser:
    """Turns MQTT messages into readings, learning from discovery configs as they arrive.

    Never raises for a payload: what gives no reading is counted in `problems`. Not
    thread-safe; one thread parses.
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        *,
        discovery_prefix: str = DISCOVERY_PREFIX,
    ) -> None:
        self.problems = Problems()
        self.sensors = SensorDirectory()
        """What is known of each sensor: friendly names, units, how often it reports."""
        self.discovery = Discovery(discovery_prefix)
        self._clock = clock
        self._field_paths: list[FieldPath] = []
        self._routes: dict[str, Handler] = {}

    def parse(self, topic: str, payload: bytes, retained: bool = False) -> list[SensorReading]:
        """The readings in one message, timestamped by the clock.

        An empty retained payload is the broker clearing a stored message, so it is not
        counted as a problem (on a discovery topic it still forgets the config).
        """
        handler = self._routes.get(topic)
        if handler is None:
            handler = self._route(topic)
        try:
            return handler(payload, self._clock())
        except Refused as refused:
            if not (retained and refused.reason is Reason.EMPTY):
                self.problems.record(topic, refused.reason, payload)
            return []

    @property
    def discovered(self) -> list[DiscoveredSensor]:
        """The sensors discovery configs have announced so far."""
        return self.discovery.sensors()

    @property
    def field_paths(self) -> tuple[FieldPath, ...]:
        """The user's field paths, oldest first."""
        return tuple(self._field_paths)

    def set_field_path(
        self, pattern: str, path: str, quantity: str | None = None, unit: str | None = None
    ) -> FieldPath:
        """Read `path` from JSON payloads on topics matching `pattern` (replacing an earlier
        choice of the same pattern and path); `ValueError` for a bad pattern or path."""
        chosen = FieldPath.create(pattern, path, quantity, unit)
        self._field_paths = [
            other for other in self._field_paths if (other.pattern, other.path) != (pattern, path)
        ]
        self._field_paths.append(chosen)
        self._routes.clear()
        return chosen

    def remove_field_path(self, pattern: str, path: str | None = None) -> None:
        """Forget the field paths chosen for `pattern` (only `path`, if given)."""
        self._field_paths = [
            other
            for other in self._field_paths
            if other.pattern != pattern or (path is not None and other.path != path)
        ]
        self._routes.clear()

    def _route(self, topic: str) -> Handler:
        if len(self._routes) >= ROUTE_CACHE_LIMIT:
            self._routes.clear()
        handler = self._routes[topic] = self._choose(topic)
        return handler

    def _choose(self, topic: str) -> Handler:
        levels = topic.split("/")
        if self.discovery.is_config_topic(levels):
            return partial(self._receive_config, topic, levels)
        chosen = [choice for choice in self._field_paths if topic_matches(choice.pattern, topic)]
        if chosen:
            return fieldpaths.route(chosen, topic)
        discovered = self.discovery.for_state_topic(topic)
        if discovered:
            return partial(read_state, discovered)
        if levels[-1] in AVAILABILITY_LEVELS:
            return availability
        for family in FAMILIES:
            handler = family(levels)
            if handler is not None:
                return handler
        return plain.route(topic, levels)

    def _receive_config(
        self, topic: str, levels: list[str], payload: bytes, now: float
    ) -> list[SensorReading]:
        for state_topic in self.discovery.receive(topic, levels, payload):
            self._routes.pop(state_topic, None)
        return []
