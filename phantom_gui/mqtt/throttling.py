"""A flooding device must not swamp the app: each topic of a connection may deliver only
so many messages a second, the rest are dropped where they enter and counted, and the
counts are reported on the hub at most once a second per topic."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypedDict

from phantom_gui.core.limits import Limiter

THROTTLED_PATTERN = "mqtt/+/throttled"
REPORT_PERIOD_S = 1.0
"""How long the drops of a topic are gathered before they are reported."""


def throttled_topic(connection: str) -> str:
    """The hub topic on which connection `connection` reports the messages it dropped."""
    return f"mqtt/{connection}/throttled"


class Throttled(TypedDict):
    """What ``mqtt/<id>/throttled`` carries: `count` messages of `topic` dropped since the
    topic's previous report, `total` since the connection started."""

    topic: str
    count: int
    total: int


Report = Callable[[Throttled], None]


class TopicGate:
    """Lets a connection's messages through while their topic's budget in `limiter` lasts.

    The drops of each topic are gathered for `period_s` seconds (from the first drop
    after a report) and then handed to `report`, one `Throttled` per topic, on a timer
    thread; `close` reports what is gathered at once. Safe to call from any thread.
    """

    def __init__(self, limiter: Limiter, report: Report, period_s: float = REPORT_PERIOD_S):
        self._limiter = limiter
        self._report = report
        self._period_s = period_s
        self._lock = threading.Lock()
        self._pending: dict[str, int] = {}
        self._totals: dict[str, int] = {}
        self._timer: threading.Timer | None = None

    def admit(self, topic: str) -> bool:
        """Whether a message of `topic` may pass; a refused one is counted."""
        if self._limiter.allow(topic):
            return True
        with self._lock:
            self._pending[topic] = self._pending.get(topic, 0) + 1
            if self._timer is None:
                self._timer = threading.Timer(self._period_s, self._flush)
                self._timer.name = "phantom-mqtt-throttled"
                self._timer.daemon = True
                self._timer.start()
        return False

    def close(self) -> None:
        """Report what is gathered now, and stop the timer."""
        with self._lock:
            timer = self._timer
        if timer is not None:
            timer.cancel()
        self._flush()

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending, self._timer = self._pending, {}, None
            reports = []
            for topic, count in pending.items():
                total = self._totals[topic] = self._totals.get(topic, 0) + count
                reports.append(Throttled(topic=topic, count=count, total=total))
        for report in reports:
            self._report(report)
