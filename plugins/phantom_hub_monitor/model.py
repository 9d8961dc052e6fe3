"""The Hub Monitor's model: a bounded ring of recent hub events, a topic filter and pause.

Recording an event is cheap (it runs once per hub event); views read the model on
their own frame clock and compare `revision` to know whether anything changed.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from typing import Any, Literal

from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.plain import plain
from phantom_gui.core.topics import topic_matches, validate_pattern

DEFAULT_CAPACITY = 5_000
PREVIEW_CHARS = 160
ALARM_PREFIXES = ("security/", "hub/disturbance", "app/error")

Severity = Literal["normal", "haunted", "alarm"]


class MonitorModel:
    """The latest `capacity` events, per-topic counts, a topic-pattern filter and pause.

    While paused, arriving events are counted as skipped and not kept, so the
    events on show stay put.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self.counts: Counter[str] = Counter()
        self.seen = 0
        self.skipped = 0
        self.revision = 0
        self._events: deque[SpectralEvent] = deque(maxlen=capacity)
        self._pattern = ""
        self._paused = False

    def record(self, event: SpectralEvent) -> None:
        """Keep `event` (the oldest falls out when full), unless paused."""
        if self._paused:
            self.skipped += 1
            return
        self._events.append(event)
        self.counts[event.topic] += 1
        self.seen += 1
        self.revision += 1

    @property
    def pattern(self) -> str:
        """The topic filter in force; empty means every topic."""
        return self._pattern

    def set_pattern(self, text: str) -> None:
        """Show only topics matching the MQTT pattern `text` (blank: all).

        Raises `ValueError` saying what is wrong with an invalid pattern; the
        previous filter then stays in force.
        """
        pattern = text.strip()
        if pattern:
            validate_pattern(pattern)
        if pattern != self._pattern:
            self._pattern = pattern
            self.revision += 1

    @property
    def paused(self) -> bool:
        """Whether arriving events are skipped."""
        return self._paused

    @paused.setter
    def paused(self, paused: bool) -> None:
        if paused != self._paused:
            self._paused = paused
            self.revision += 1

    @property
    def held(self) -> int:
        """How many events the ring holds now."""
        return len(self._events)

    def visible(self) -> list[SpectralEvent]:
        """The held events that pass the filter, newest first."""
        pattern = self._pattern
        if not pattern:
            return list(reversed(self._events))
        verdicts: dict[str, bool] = {}
        shown = []
        for event in reversed(self._events):
            verdict = verdicts.get(event.topic)
            if verdict is None:
                verdict = verdicts[event.topic] = topic_matches(pattern, event.topic)
            if verdict:
                shown.append(event)
        return shown

    def busiest(self, limit: int = 10) -> list[tuple[str, int]]:
        """The topics with the most events since the last clear, with their counts."""
        return self.counts.most_common(limit)

    def clear(self) -> None:
        """Forget every held event and count."""
        self._events.clear()
        self.counts.clear()
        self.seen = self.skipped = 0
        self.revision += 1


def preview(data: Any, limit: int = PREVIEW_CHARS) -> str:
    """`data` as compact one-line JSON (typed data as objects, repr for what JSON cannot
    hold), cut at `limit`."""
    try:
        text = json.dumps(plain(data), ensure_ascii=False, separators=(", ", ": "), default=repr)
    except ValueError:  # circular structures
        text = repr(data)
    text = text.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def severity(event: SpectralEvent) -> Severity:
    """How a view should mark `event`: security and error events, haunts, the rest."""
    if event.topic.startswith(ALARM_PREFIXES):
        return "alarm"
    if event.metadata.get("haunted"):
        return "haunted"
    return "normal"
