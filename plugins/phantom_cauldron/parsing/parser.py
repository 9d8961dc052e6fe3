"""`PayloadParser`: MQTT messages in, sensor readings out, whatever the device family.

Each topic is routed once to a handler, and the decision is cached, so a message costs
a dict lookup plus its family's decoding. In order of precedence a topic is: a
discovery config; a topic the user chose a field path for; a state topic a discovery
config announced (read with its family's own reader, see `announced`); a Zigbee2MQTT,
Tasmota, Shelly or ESPHome topic (their availability topics included); another
availability topic (`<device>/LWT`, `/availability`, `/status`, `/online`); or else a
plain number named after the topic.

The parser keeps `sensors`, the directory of what it knows of each sensor and whether
each device is online: discovery configs name sensors as they arrive, and a sensor
first heard in telemetry gets a readable default name.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from functools import partial

from phantom_cauldron.directory import SensorDirectory
from phantom_cauldron.parsing import (
    esphome,
    fieldpaths,
    naming,
    plain,
    shelly,
    tasmota,
    zigbee2mqtt,
)
from phantom_cauldron.parsing.announced import AnnouncedState, announce
from phantom_cauldron.parsing.availability import LEVELS, Availability
from phantom_cauldron.parsing.fieldpaths import FieldPath
from phantom_cauldron.parsing.handling import Context, Handler, Reason, Refused
from phantom_cauldron.parsing.homeassistant import DISCOVERY_PREFIX, DiscoveredSensor, Discovery
from phantom_cauldron.parsing.problems import Problems
from phantom_cauldron.readings import SensorReading
from phantom_gui.core.topics import topic_matches

ROUTE_CACHE_LIMIT = 65_536
"""Topics whose handler is remembered; a full cache starts over."""
UNANNOUNCED_LIMIT = 1_024
"""Topics whose last unread JSON is kept for a discovery config that may announce them."""
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
        """What is known of each sensor (names, units, expiry) and whether its device is
        online."""
        self.discovery = Discovery(discovery_prefix)
        self._entries = self.sensors.entries
        self._clock = clock
        self._context = Context(self.sensors)
        self._field_paths: list[FieldPath] = []
        self._routes: dict[str, Handler] = {}
        self._unannounced: dict[str, tuple[bytes, bool, float]] = {}
        """The last JSON payload of topics refused for want of a field path, oldest first."""
        self._announced: dict[str, tuple[DiscoveredSensor, ...]] = {}
        """Each announced state topic's sensors, under the identities the rule gave them."""

    def parse(
        self,
        topic: str,
        payload: bytes,
        retained: bool = False,
        received_at: float | None = None,
    ) -> list[SensorReading]:
        """The readings in one message, timestamped `received_at` (else by the clock).

        An empty retained payload is the broker clearing a stored message, so it is not
        counted as a problem (on a discovery topic it still forgets the config). JSON on
        a topic no one has announced yet is kept (the last one per topic, a bounded
        number of topics) and read when a discovery config announces the topic, so a
        state that arrives before its config is not lost.
        """
        handler = self._routes.get(topic)
        if handler is None:
            handler = self._route(topic)
        now = self._clock() if received_at is None else received_at
        try:
            readings = handler(payload, now)
        except Refused as refused:
            if not (retained and refused.reason is Reason.EMPTY):
                self.problems.record(topic, refused.reason, payload)
            if refused.reason is Reason.NEEDS_FIELD_PATH:
                self._keep_unannounced(topic, payload, now)
            return []
        entries = self._entries
        for reading in readings:
            known = entries.get((reading.sensor_id, reading.type))
            if known is None or known.unit != reading.unit:
                self.sensors.learn(naming.native(reading, topic))
        return readings

    @property
    def discovered(self) -> list[DiscoveredSensor]:
        """The sensors discovery configs have announced so far, as they announced them."""
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
        if self.discovery.for_state_topic(topic):
            return self._announce(topic)
        return self._native(topic, levels)

    def _native(self, topic: str, levels: list[str]) -> Handler:
        """The handler of a topic no discovery config announces."""
        for family in FAMILIES:
            handler = family(levels, self._context)
            if handler is not None:
                return handler
        number = plain.route(topic, levels)
        if len(levels) > 1 and levels[-1] in LEVELS:
            return Availability(topic.rpartition("/")[0], topic, self.sensors, number)
        return number

    def _announce(self, topic: str) -> AnnouncedState:
        """The handler of an announced state topic; the directory names its sensors."""
        native = self._native(topic, topic.split("/"))
        handler = announce(self.discovery.for_state_topic(topic), native)
        self._rename(topic, handler.sensors)
        return handler

    def _rename(self, topic: str, sensors: Iterable[DiscoveredSensor]) -> None:
        """Put what configs now say of `topic`'s sensors in the directory, in place of what
        they said before (a sensor no config names any more is named from its telemetry
        again when it next reports)."""
        named = tuple(sensors)
        keep = {(sensor.sensor_id, sensor.quantity) for sensor in named}
        for sensor in self._announced.pop(topic, ()):
            if (sensor.sensor_id, sensor.quantity) not in keep:
                self.sensors.forget(sensor.sensor_id, sensor.quantity)
        if named:
            self._announced[topic] = named
        for sensor in named:
            self.sensors.learn(naming.announced(sensor))

    def _receive_config(
        self, topic: str, levels: list[str], payload: bytes, now: float
    ) -> list[SensorReading]:
        readings: list[SensorReading] = []
        for state_topic in self.discovery.receive(topic, levels, payload):
            self._routes.pop(state_topic, None)
            if not isinstance(self._route(state_topic), AnnouncedState):
                self._rename(state_topic, ())
            waiting = self._unannounced.pop(state_topic, None)
            if waiting is not None:
                readings += self.parse(state_topic, *waiting)
        return readings

    def _keep_unannounced(self, topic: str, payload: bytes, received_at: float) -> None:
        """Keep the last unread JSON of `topic` until a config may announce it."""
        kept = self._unannounced
        kept.pop(topic, None)
        if len(kept) >= UNANNOUNCED_LIMIT:
            del kept[next(iter(kept))]
        kept[topic] = (payload, False, received_at)
