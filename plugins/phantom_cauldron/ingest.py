"""From MQTT messages to scored readings: parse, score, keep for the charts, announce.

Runs on the hub's thread, once per message; the charts repaint on their own clock.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from phantom_cauldron.alarms import AlarmTracker
from phantom_cauldron.anomaly import AnomalyDetector
from phantom_cauldron.parsing.parser import PayloadParser
from phantom_cauldron.readings import SensorReading
from phantom_cauldron.sampling import ReadingSampler
from phantom_cauldron.series import SeriesStore
from phantom_cauldron.topics import TopicTree
from phantom_gui.mqtt.messages import MqttMessage

READING_TOPIC = "cauldron/reading/{series}"
"""Every scored reading (live, not recorded)."""
SENSOR_TOPIC = "cauldron/sensor/{series}"
"""Sampled readings, recorded in the audit log."""
ANOMALY_TOPIC = "cauldron/anomaly/{series}"
"""Alarms raised and cleared, recorded in the audit log."""
PROBLEM_TOPIC = "cauldron/parser/problem"
"""Refused payloads, at most one event per topic and reason every `PROBLEM_REPORT_S`."""
PROBLEM_REPORT_S = 10.0
PROBLEM_KEYS_KEPT = 10_000
_NOT_IN_TOPICS = re.compile(r"[+#\x00]")


Publish = Callable[[str, Any], Any]
"""Publishes `data` on a hub topic as the cauldron (a plugin context's `hub.publish`)."""
IsHeard = Callable[[str], bool]
"""Whether anyone would receive an event on a topic (`hub.is_heard`)."""


def series_topic(reading: SensorReading) -> str:
    """`<sensor_id>/<quantity>` made safe to publish on (no wildcards, no empty levels)."""
    levels = f"{reading.sensor_id}/{reading.type}".split("/")
    return "/".join(_NOT_IN_TOPICS.sub("_", level) or "_" for level in levels)


class Ingest:
    """Feeds every message through the parser into the topic tree, the charts and the hub.

    Alarms follow the store's `AlarmPolicy`, the very one that marks the charts.
    """

    def __init__(
        self,
        publish: Publish,
        is_heard: IsHeard,
        parser: PayloadParser,
        store: SeriesStore,
        topics: TopicTree,
        *,
        record_interval: float,
        detector_factory: Callable[[], AnomalyDetector] = AnomalyDetector,
    ) -> None:
        self._publish = publish
        self._is_heard = is_heard
        self.parser = parser
        self.store = store
        self.topics = topics
        self.alarms = AlarmTracker(store.alarm_policy)
        self.sampler = ReadingSampler(record_interval)
        self._detector_factory = detector_factory
        self._detectors: dict[tuple[str, str], AnomalyDetector] = {}
        self._series_topics: dict[tuple[str, str], str] = {}
        self.readings = 0
        self._problems_reported: dict[tuple[str, str], float] = {}

    def on_message(self, message: MqttMessage) -> None:
        """Take one message a broker sent."""
        self.topics.record(message)
        problems = self.parser.problems
        refused = problems.total
        readings = self.parser.parse(
            message.topic, message.payload, message.retained, message.received_at
        )
        if problems.total != refused:
            self._report_problem(message)
        if not readings:
            return
        for reading in readings:
            self._take(reading, message.topic)

    def _take(self, reading: SensorReading, topic: str) -> None:
        key = (reading.sensor_id, reading.type)
        detector = self._detectors.get(key)
        if detector is None:
            detector = self._detectors[key] = self._detector_factory()
            self._series_topics[key] = series_topic(reading)
        scored = reading.scored(detector.update(reading.timestamp, reading.value))
        self.readings += 1
        self.store.add(scored, topic)
        series = self._series_topics[key]
        live = READING_TOPIC.format(series=series)
        if self._is_heard(live):
            self._publish(live, scored)
        if self.sampler.take(scored):
            self._publish(SENSOR_TOPIC.format(series=series), scored.to_dict())
        change = self.alarms.update(scored)
        if change is not None:
            self._publish(ANOMALY_TOPIC.format(series=series), change.to_dict())

    def _report_problem(self, message: MqttMessage) -> None:
        problems = self.parser.problems
        last = problems.last(message.topic)
        if last is None:
            return
        key = (message.topic, str(last.reason))
        reported = self._problems_reported.get(key)
        if reported is not None and message.received_at - reported < PROBLEM_REPORT_S:
            return
        if len(self._problems_reported) >= PROBLEM_KEYS_KEPT:
            self._problems_reported.clear()
        self._problems_reported[key] = message.received_at
        self._publish(
            PROBLEM_TOPIC,
            {
                "topic": message.topic,
                "reason": str(last.reason),
                "count": problems.for_topic(message.topic).get(last.reason, 0),
                "excerpt": last.excerpt,
                "connection": message.connection,
            },
        )
