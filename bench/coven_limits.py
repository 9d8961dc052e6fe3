"""What the rate limits cost: a plugin's hub publish with and without its limiter, and the
MQTT topic gate's check, in the same run.

Run from the repository root::

    .venv/bin/python bench/coven_limits.py            # 7 repeats (~10 s)
    .venv/bin/python bench/coven_limits.py --quick    # 3 shorter repeats

Every figure is the median of the repeats, interleaved so noise hits a figure and its
baseline alike; the script always exits 0.

(a) a plugin's `ScopedHub.publish` (permission check, one no-op subscriber) with no
    limiter: the baseline;
(b) the same with the app's plugin limiter (its budget so large that nothing is refused,
    so every publish pays the check and none is cut short). Goal: at least 0.95 x (a),
    the check costs under 5 %;
(c) `TopicGate.admit` on one topic, as the network process calls it per message (a bare
    `RateLimiter.allow` beside it), for scale against paho's ~50 us a message.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from time import perf_counter

from reactivex.disposable import CompositeDisposable
from report import Row, goal_table, interleaved

from phantom_gui.core.hub import EventHub
from phantom_gui.coven.ratelimit import RateLimiter
from phantom_gui.mqtt.throttling import TopicGate
from phantom_gui.plugins.context import Banisher, ScopedHub
from phantom_gui.plugins.permissions import PermissionSet

TOPIC = "cauldron/reading/cellar"
UNBOUNDED = 1e15
"""A budget no run of this bench spends."""
CHECK_RATIO_GOAL = 0.95


def rate(call: Callable[[], object], count: int) -> float:
    """Calls per second of `call()` made `count` times."""
    started = perf_counter()
    for _ in range(count):
        call()
    return count / (perf_counter() - started)


def scoped_hub(limiter: RateLimiter | None) -> ScopedHub:
    """A plugin's view of a hub with one no-op subscriber on `TOPIC`."""
    hub = EventHub()
    hub.on(TOPIC).subscribe(lambda _: None)
    permissions = PermissionSet.parse(["hub:publish:cauldron/#"])
    banisher = Banisher(hub, "bench")
    return ScopedHub(hub, "bench", permissions, banisher, CompositeDisposable(), limiter)


def runners(count: int) -> dict[str, Callable[[], float]]:
    """Each figure as a function returning calls per second."""
    bare = scoped_hub(None)
    limited = scoped_hub(RateLimiter(UNBOUNDED, UNBOUNDED))
    gate = TopicGate(RateLimiter(UNBOUNDED, UNBOUNDED), lambda _: None)
    limiter = RateLimiter(UNBOUNDED, UNBOUNDED)
    return {
        "bare": lambda: rate(lambda: bare.publish(TOPIC, 1), count),
        "limited": lambda: rate(lambda: limited.publish(TOPIC, 1), count),
        "gate": lambda: rate(lambda: gate.admit(TOPIC), count * 5),
        "allow": lambda: rate(lambda: limiter.allow(TOPIC), count * 5),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 shorter repeats")
    options = parser.parse_args()
    repeats, count = (3, 50_000) if options.quick else (7, 200_000)
    figures = interleaved(runners(count), repeats)
    label = "ScopedHub.publish, no limiter"
    table = [
        Row(label, "bare", "events/s"),
        Row(
            "ScopedHub.publish, limiter",
            "limited",
            "events/s",
            "bare",
            label,
            min_ratio=CHECK_RATIO_GOAL,
        ),
        Row("RateLimiter.allow, one topic", "allow", "checks/s"),
        Row("TopicGate.admit, one topic", "gate", "checks/s", "allow", "RateLimiter.allow"),
    ]
    text, passed, missed = goal_table(table, figures)
    print(text)
    print(f"\n{passed} goals passed, {missed} missed ({repeats} repeats, {count:,} publishes each)")


if __name__ == "__main__":
    main()
