"""`TopicGate`: a topic over its budget is dropped and counted; the counts are reported
per topic, gathered over a period."""

from __future__ import annotations

import threading

from phantom_gui.coven.ratelimit import RateLimiter
from phantom_gui.mqtt.throttling import Throttled, TopicGate, throttled_topic

from support.clock import Clock


def test_drops_are_counted_per_topic_and_reported_on_close() -> None:
    clock = Clock()
    reports: list[Throttled] = []
    gate = TopicGate(RateLimiter(1, 2, clock=clock), reports.append, period_s=3600)
    assert [gate.admit("vat/a") for _ in range(5)] == [True, True, False, False, False]
    assert gate.admit("vat/b"), "another topic has its own budget"
    clock.advance(1)
    assert gate.admit("vat/a")
    assert reports == []
    gate.close()
    assert reports == [Throttled(topic="vat/a", count=3, total=3)]
    gate.close()
    assert len(reports) == 1, "nothing new to report"


def test_the_drops_of_a_period_are_reported_together_with_running_totals() -> None:
    reported = threading.Semaphore(0)
    reports: list[Throttled] = []

    def report(throttled: Throttled) -> None:
        reports.append(throttled)
        reported.release()

    gate = TopicGate(RateLimiter(1, 1, clock=Clock()), report, period_s=0.01)
    assert [gate.admit(topic) for topic in ("vat/a", "vat/a", "vat/b", "vat/a")] == [
        True,
        False,
        True,
        False,
    ]
    assert reported.acquire(timeout=10)
    assert reports == [Throttled(topic="vat/a", count=2, total=2)]
    assert not gate.admit("vat/a")
    assert reported.acquire(timeout=10)
    assert reports[1:] == [Throttled(topic="vat/a", count=1, total=3)]
    gate.close()
    assert len(reports) == 2


def test_the_report_topic_names_the_connection() -> None:
    assert throttled_topic("desk") == "mqtt/desk/throttled"
