"""The coven's wire: envelope sealing and opening, de-duplication and rate limiting.

Run from the repository root::

    .venv/bin/python bench/coven_wire.py            # 5 repeats of ~0.4 s per figure
    .venv/bin/python bench/coven_wire.py --quick    # 3 repeats of ~0.1 s per figure

Every figure is calls per second, the median of the repeats, each figure calibrated so a
repeat lasts the target time; the repeats of all figures are interleaved. The script
always exits 0: the figures are for humans, not a test.

(a) `seal` + `open_envelope` of a typical event (a sensor reading of a few fields, with a
    token and metadata) against a bare `json.dumps` + `json.loads` of the same document
    in the same run; (b) `SeenEvents.first_time` of fresh ids in a full 100k window;
(c) `RateLimiter.allow` over 1,000 sources round robin, and one source over its limit.
Goal for each: at least 20k calls/s, the flood rate a coven member must withstand.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict
from time import perf_counter

from report import Row, goal_table, interleaved

from phantom_gui.coven.dedup import SeenEvents
from phantom_gui.coven.envelope import Envelope, new_envelope, open_envelope, seal
from phantom_gui.coven.ratelimit import RateLimiter

FLOOD_PER_S = 20_000.0
TOKEN = "eyJhbGciOiJIUzI1NiJ9." + "x" * 120 + "." + "y" * 43


def typical_event() -> Envelope:
    """The envelope of one cauldron reading."""
    return new_envelope(
        "cauldron/reading/probe-1",
        {"sensor": "probe-1", "temperature": 21.53, "unit": "C", "anomaly": 0.12, "ok": True},
        source="desk-1a2b3c",
        sequence=42,
        token=TOKEN,
        metadata={"origin_realm": "desk-1a2b3c"},
    )


def timed(body: Callable[[int], None], n: int) -> float:
    start = perf_counter()
    body(n)
    return n / (perf_counter() - start)


def calibrated(body: Callable[[int], None], target_s: float) -> Callable[[], float]:
    n = 100
    while True:
        start = perf_counter()
        body(n)
        elapsed = perf_counter() - start
        if elapsed >= target_s / 4:
            break
        n *= 10
    size = max(1, int(n * target_s / elapsed))
    return lambda: timed(body, size)


def runners() -> dict[str, Callable[[int], None]]:
    envelope = typical_event()
    document = asdict(envelope)

    def bare_json(n: int) -> None:
        for _ in range(n):
            json.loads(json.dumps(document))

    def wire(n: int) -> None:
        for _ in range(n):
            open_envelope(seal(envelope))

    seen = SeenEvents(100_000)
    for index in range(100_000):
        seen.first_time(f"warm-{index}")
    fresh = [f"event-{index:012d}" for index in range(1_000_000)]

    def first_time(n: int) -> None:
        ids = fresh * (n // len(fresh) + 1)
        for event_id in ids[:n]:
            seen.first_time(event_id)

    limiter = RateLimiter(1e9, 1e9)
    sources = [f"member-{index}" for index in range(1000)]

    def allow_many(n: int) -> None:
        for index in range(n):
            limiter.allow(sources[index % 1000])

    flooded = RateLimiter(1.0, 1.0)

    def allow_flood(n: int) -> None:
        for _ in range(n):
            flooded.allow("flood")

    return {
        "json": bare_json,
        "wire": wire,
        "first_time": first_time,
        "allow": allow_many,
        "flood": allow_flood,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 shorter repeats")
    arguments = parser.parse_args()
    repeats, target_s = (3, 0.1) if arguments.quick else (5, 0.4)
    figures = interleaved(
        {name: calibrated(body, target_s) for name, body in runners().items()}, repeats
    )
    rows = [
        Row("(a) bare json.dumps+loads", "json", "calls/s"),
        Row(
            "(a) seal+open_envelope",
            "wire",
            "calls/s",
            baseline="json",
            baseline_label="bare json",
            min_value=FLOOD_PER_S,
        ),
        Row("(b) SeenEvents.first_time", "first_time", "calls/s", min_value=FLOOD_PER_S),
        Row("(c) RateLimiter.allow, 1k sources", "allow", "calls/s", min_value=FLOOD_PER_S),
        Row("(c) RateLimiter.allow, refused", "flood", "calls/s", min_value=FLOOD_PER_S),
    ]
    table, passed, missed = goal_table(rows, figures)
    print(table)
    print(f"\n{passed} goals passed, {missed} missed")


if __name__ == "__main__":
    main()
