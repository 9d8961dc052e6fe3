"""Refused payloads, counted per topic and reason, with the last one kept per topic.

`record` runs for every refused payload, at flood rates too, so it only bumps
counters in dicts; the views read `revision` on their frame clock to see what changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from phantom_cauldron.parsing.handling import Reason

EXCERPT_BYTES = 120
TOPIC_LIMIT = 10_000
"""Topics counted one by one; refusals on further topics are counted under `OTHER_TOPICS`."""
OTHER_TOPICS = "(other topics)"


@dataclass(frozen=True, slots=True)
class Problem:
    """The last payload refused on a topic: why, and how it began."""

    reason: Reason
    excerpt: str


class Problems:
    """Counts of refused payloads per topic and reason (one thread, like the parser)."""

    def __init__(self) -> None:
        self._counts: dict[str, dict[Reason, int]] = {}
        self._last: dict[str, tuple[Reason, bytes]] = {}
        self.total = 0
        """Refused payloads."""
        self.revision = 0
        """Changes with every record and clear."""

    def record(self, topic: str, reason: Reason, payload: bytes) -> None:
        """Count one refused payload."""
        counts = self._counts.get(topic)
        if counts is None:
            if len(self._counts) >= TOPIC_LIMIT:
                topic = OTHER_TOPICS
            counts = self._counts.setdefault(topic, {})
        counts[reason] = counts.get(reason, 0) + 1
        self._last[topic] = (reason, payload[:EXCERPT_BYTES])
        self.total += 1
        self.revision += 1

    def topics(self) -> list[str]:
        """Topics with refused payloads, in the order of their first refusal."""
        return list(self._counts)

    def for_topic(self, topic: str) -> dict[Reason, int]:
        """How many payloads on `topic` were refused, by reason."""
        return dict(self._counts.get(topic, {}))

    def by_reason(self) -> dict[Reason, int]:
        """How many payloads were refused, by reason, over all topics."""
        totals: dict[Reason, int] = {}
        for counts in self._counts.values():
            for reason, count in counts.items():
                totals[reason] = totals.get(reason, 0) + count
        return totals

    def last(self, topic: str) -> Problem | None:
        """The last payload refused on `topic`, its excerpt decoded leniently for display."""
        last = self._last.get(topic)
        if last is None:
            return None
        reason, excerpt = last
        return Problem(reason, excerpt.decode(errors="backslashreplace"))

    def clear(self) -> None:
        """Forget every count."""
        self._counts.clear()
        self._last.clear()
        self.total = 0
        self.revision += 1
