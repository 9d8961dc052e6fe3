"""Throughput of the event hub against baselines measured in the same run.

Run from the repository root::

    .venv/bin/python bench/hub.py            # 5 repeats of ~0.4 s per figure (~1 min)
    .venv/bin/python bench/hub.py --quick    # 3 repeats of ~0.1 s per figure (~15 s)

Every figure is the median of several repeats, in events per second. The repeats of the
figures that are compared are interleaved (baseline, hub, baseline, hub, ...), so a burst of
noise on the machine hits both sides of a ratio alike. The script always exits 0: the
figures are for humans, not a test (the machine is shared and noisy).

Measured:

(a)  a reactivex `Subject` with one subscriber, fed one prebuilt `SpectralEvent`;
(a') the same, fed a `SpectralEvent` built for each call (the baseline of `publish`);
(b)  `hub.on(exact topic)` with one subscriber: routing only (`hub.on_next(prebuilt)`),
     and the whole `hub.publish(topic, data, source=...)`, which builds the event;
(c)  10 and 1000 subscriptions on distinct exact topics, and on distinct wildcard patterns
     (``sensor/<i>/+``), publishing to one of them: the hub against a `Subject` with one
     `ops.filter(...)` per subscriber;
(d)  `publish_threadsafe` from a worker thread, counted when delivered on the loop thread,
     on a plain asyncio loop and under qasync, against a raw
     `loop.call_soon_threadsafe(callback, event)` per event on the same kind of loop.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import cycle, islice, repeat
from time import perf_counter

# Qt must know there is no display before PySide6 is imported (only part (d) imports it).
os.environ["QT_QPA_PLATFORM"] = "offscreen"

from reactivex import operators as ops
from reactivex.subject import Subject
from report import format_table

from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.topics import topic_matches

Runner = Callable[[int], float]
"""Handles `n` events and returns the seconds it took."""

SOURCE = "bench"
DATA = {"value": 1.0}
THREADED_MAX_EVENTS = 900_000
"""Below the hub's default inbox capacity (1 M), so no event is dead-lettered as inbox full."""
THREADED_TIMEOUT_S = 120.0
ROUND_ROBIN_TOPICS = 20_000
"""More distinct topics than `TopicRouter.CACHE_LIMIT` (8192) wildcard-match cache entries."""


def _sink(event: SpectralEvent) -> None:
    """The trivial subscriber of every synchronous figure."""


def _event(topic: str) -> SpectralEvent:
    return SpectralEvent(topic=topic, data=DATA, source=SOURCE)


# -- measuring ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """How long each figure is measured."""

    repeats: int
    target_s: float
    """Wall time of one repeat."""
    calibrate_s: float
    """A calibration run at least this long sets the number of events of a repeat."""


@contextmanager
def _collected() -> Iterator[None]:
    """Start each run from a collected heap so one run does not pay for the previous one."""
    gc.collect()
    yield


def _calibrate(run: Runner, settings: Settings, max_events: int) -> int:
    """The number of events that makes one run of `run` last about `settings.target_s`."""
    n = 1000
    while True:
        with _collected():
            elapsed = run(n)
        if elapsed >= settings.calibrate_s or n >= max_events:
            return min(max_events, max(1000, int(n * settings.target_s / elapsed)))
        grow = 10 if elapsed <= 0 else min(10, max(2, int(settings.calibrate_s / elapsed) + 1))
        n = min(max_events, n * grow)


def measure(
    runners: dict[str, Runner], settings: Settings, max_events: int = 100_000_000
) -> dict[str, float]:
    """Median events/s of each runner, the repeats of all runners interleaved."""
    sizes = {name: _calibrate(run, settings, max_events) for name, run in runners.items()}
    rates: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(settings.repeats):
        for name, run in runners.items():
            with _collected():
                elapsed = run(sizes[name])
            rates[name].append(sizes[name] / elapsed)
    return {name: statistics.median(values) for name, values in rates.items()}


# -- synchronous runners -----------------------------------------------------------------


def _feed_prebuilt(on_next: Callable[[SpectralEvent], None], event: SpectralEvent) -> Runner:
    def run(n: int) -> float:
        start = perf_counter()
        for item in repeat(event, n):
            on_next(item)
        return perf_counter() - start

    return run


def _feed_cycle(on_next: Callable[[SpectralEvent], None], events: list[SpectralEvent]) -> Runner:
    def run(n: int) -> float:
        items = islice(cycle(events), n)
        start = perf_counter()
        for item in items:
            on_next(item)
        return perf_counter() - start

    return run


def _feed_fresh(on_next: Callable[[SpectralEvent], None], topic: str) -> Runner:
    def run(n: int) -> float:
        start = perf_counter()
        for _ in repeat(None, n):
            on_next(SpectralEvent(topic=topic, data=DATA, source=SOURCE))
        return perf_counter() - start

    return run


def _hub_publish(hub: EventHub, topic: str) -> Runner:
    publish = hub.publish

    def run(n: int) -> float:
        start = perf_counter()
        for _ in repeat(None, n):
            publish(topic, DATA, source=SOURCE)
        return perf_counter() - start

    return run


def _hub_with(patterns: list[str], sink: Callable[[SpectralEvent], None] = _sink) -> EventHub:
    hub = EventHub()
    for pattern in patterns:
        hub.on(pattern).subscribe(sink)
    return hub


def _filtered_subject(
    patterns: list[str],
    keep: Callable[[str, SpectralEvent], bool],
    sink: Callable[[SpectralEvent], None] = _sink,
) -> Subject[SpectralEvent]:
    subject: Subject[SpectralEvent] = Subject()
    for pattern in patterns:
        subject.pipe(ops.filter(lambda event, p=pattern: keep(p, event))).subscribe(sink)
    return subject


def _same_topic(pattern: str, event: SpectralEvent) -> bool:
    return event.topic == pattern


def _matching(pattern: str, event: SpectralEvent) -> bool:
    return topic_matches(pattern, event.topic)


def _exact_patterns(count: int) -> list[str]:
    return [f"sensor/{i}/temp" for i in range(count)]


def _wildcard_patterns(count: int) -> list[str]:
    return [f"sensor/{i}/+" for i in range(count)]


def _published_topic(count: int) -> str:
    """The topic the fan-out figures publish to: one subscription, in the middle, matches."""
    return f"sensor/{count // 2}/temp"


def check_routing() -> list[str]:
    """Check that each fan-out set-up delivers one published event to exactly one subscriber."""
    problems = []
    for count in (10, 1000):
        topic = _published_topic(count)
        for patterns, keep in (
            (_exact_patterns(count), _same_topic),
            (_wildcard_patterns(count), _matching),
        ):
            got: list[SpectralEvent] = []
            _hub_with(patterns, got.append).on_next(_event(topic))
            _filtered_subject(patterns, keep, got.append).on_next(_event(topic))
            if len(got) != 2:
                problems.append(f"routing check: {patterns[0]} x{count} got {len(got)}, not 2")
    return problems


def synchronous_figures(settings: Settings) -> dict[str, float]:
    """Parts (a), (a'), (b) and (c)."""
    figures: dict[str, float] = {}
    topic = "sensor/0/temp"
    event = _event(topic)
    subject: Subject[SpectralEvent] = Subject()
    subject.subscribe(_sink)
    hub = _hub_with([topic])
    figures |= measure(
        {
            "a": _feed_prebuilt(subject.on_next, event),
            "b_route": _feed_prebuilt(hub.on_next, event),
        },
        settings,
    )
    figures |= measure(
        {"a_fresh": _feed_fresh(subject.on_next, topic), "b_publish": _hub_publish(hub, topic)},
        settings,
    )
    for kind, patterns_of, keep in (
        ("exact", _exact_patterns, _same_topic),
        ("wild", _wildcard_patterns, _matching),
    ):
        runners: dict[str, Runner] = {}
        for count in (10, 1000):
            event = _event(_published_topic(count))
            patterns = patterns_of(count)
            runners[f"hub_{kind}_{count}"] = _feed_prebuilt(_hub_with(patterns).on_next, event)
            filtered = _filtered_subject(patterns, keep)
            runners[f"filter_{kind}_{count}"] = _feed_prebuilt(filtered.on_next, event)
        figures |= measure(runners, settings)
    # Informational: many distinct topics against the wildcard-match cache of the router.
    wild_hub = _hub_with(_wildcard_patterns(1000))
    figures |= measure(
        {
            f"hub_wild_rr_{topics}": _feed_cycle(
                wild_hub.on_next,
                [_event(f"sensor/{i % 1000}/t{i // 1000}") for i in range(topics)],
            )
            for topics in (1000, ROUND_ROBIN_TOPICS)
        },
        settings,
    )
    return figures


# -- cross-thread runners ----------------------------------------------------------------


class _Countdown:
    """Counts deliveries on the loop thread and resolves `done` at the last one."""

    __slots__ = ("done", "end", "remaining")

    def __init__(self) -> None:
        self.remaining = 0
        self.end = 0.0
        self.done: asyncio.Future[None] | None = None

    def __call__(self, event: SpectralEvent) -> None:
        self.remaining -= 1
        if not self.remaining:
            self.end = perf_counter()
            if self.done is not None and not self.done.done():
                self.done.set_result(None)


def _threaded(
    loop: asyncio.AbstractEventLoop, countdown: _Countdown, work: Callable[[int], None]
) -> Runner:
    """A runner: `work(n)` runs on a worker thread; the loop runs until `countdown` hits 0."""

    def run(n: int) -> float:
        countdown.remaining = n
        done: asyncio.Future[None] = loop.create_future()
        countdown.done = done
        worker = threading.Thread(target=work, args=(n,), name="bench-publisher")
        started: list[float] = []

        def start() -> None:
            started.append(perf_counter())
            worker.start()

        def give_up() -> None:
            if not done.done():
                done.set_exception(TimeoutError(f"{countdown.remaining} of {n} not delivered"))

        loop.call_soon(start)
        guard = loop.call_later(THREADED_TIMEOUT_S, give_up)
        try:
            loop.run_until_complete(done)
        finally:
            guard.cancel()
            if started:
                worker.join()
        return countdown.end - started[0]

    return run


def threaded_runners(loop: asyncio.AbstractEventLoop, prefix: str) -> dict[str, Runner]:
    """The hub's thread-safe door and the raw `call_soon_threadsafe`, on `loop`."""
    topic = "sensor/0/temp"
    hub_countdown = _Countdown()
    hub = EventHub(loop)
    hub.on(topic).subscribe(hub_countdown)

    def publish_through_hub(n: int) -> None:
        publish = hub.publish_threadsafe
        for _ in repeat(None, n):
            publish(topic, DATA, source=SOURCE)

    raw_countdown = _Countdown()

    def call_soon_raw(n: int) -> None:
        call = loop.call_soon_threadsafe
        for _ in repeat(None, n):
            call(raw_countdown, SpectralEvent(topic=topic, data=DATA, source=SOURCE))

    return {
        f"{prefix}_raw": _threaded(loop, raw_countdown, call_soon_raw),
        f"{prefix}_hub": _threaded(loop, hub_countdown, publish_through_hub),
    }


def threaded_figures(settings: Settings) -> tuple[dict[str, float], list[str]]:
    """Part (d) on a plain asyncio loop and under qasync; also returns what went wrong."""
    figures: dict[str, float] = {}
    problems: list[str] = []
    loop = asyncio.new_event_loop()
    try:
        figures |= measure(threaded_runners(loop, "asyncio"), settings, THREADED_MAX_EVENTS)
    except Exception as exc:
        problems.append(f"asyncio threaded figures: {type(exc).__name__}: {exc}")
    finally:
        loop.close()
    try:
        import qasync
        from PySide6.QtWidgets import QApplication
    except ImportError as exc:
        problems.append(f"qasync figures skipped: {exc}")
        return figures, problems
    app = QApplication.instance() or QApplication(sys.argv[:1])
    qloop = qasync.QEventLoop(app)
    try:
        figures |= measure(threaded_runners(qloop, "qasync"), settings, THREADED_MAX_EVENTS)
    except Exception as exc:
        problems.append(f"qasync threaded figures: {type(exc).__name__}: {exc}")
    finally:
        qloop.close()  # while the QApplication is alive, or exit prints a warning
    del app
    return figures, problems


# -- report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure, what it is compared with, and its goal."""

    label: str
    key: str
    baseline: str | None = None
    """Key of the baseline figure, or None for a baseline row."""
    baseline_label: str = ""
    min_ratio: float | None = None
    min_rate: float | None = None


ROWS = [
    Row("(a)  Subject.on_next, prebuilt event", "a"),
    Row("(a') Subject.on_next, event built per call", "a_fresh"),
    Row("(b)  hub.on(exact) 1 sub: hub.on_next", "b_route", "a", "(a)", min_ratio=0.8),
    Row("(b)  hub.on(exact) 1 sub: hub.publish", "b_publish", "a_fresh", "(a')", min_ratio=0.8),
    Row("(c)  Subject + 10 filter(==)", "filter_exact_10"),
    Row("(c)  Subject + 1000 filter(==)", "filter_exact_1000"),
    Row("(c)  hub, 10 exact subs", "hub_exact_10", "filter_exact_10", "10 filter(==)"),
    Row(
        "(c)  hub, 1000 exact subs",
        "hub_exact_1000",
        "hub_exact_10",
        "hub, 10 exact",
        min_ratio=0.8,
    ),
    Row(
        "(c)  hub, 1000 exact subs",
        "hub_exact_1000",
        "filter_exact_1000",
        "1000 filter(==)",
        min_ratio=100,
    ),
    Row("(c)  Subject + 10 filter(matches)", "filter_wild_10"),
    Row("(c)  Subject + 1000 filter(matches)", "filter_wild_1000"),
    Row("(c)  hub, 10 sensor/<i>/+ subs", "hub_wild_10", "filter_wild_10", "10 filter(matches)"),
    Row(
        "(c)  hub, 1000 sensor/<i>/+ subs",
        "hub_wild_1000",
        "hub_wild_10",
        "hub, 10 wildcard",
        min_ratio=0.8,
    ),
    Row(
        "(c)  hub, 1000 sensor/<i>/+ subs",
        "hub_wild_1000",
        "filter_wild_1000",
        "1000 filter(matches)",
        min_ratio=100,
    ),
    Row(
        "(c)  hub, 1000 sensor/<i>/+, 1000 topics round-robin",
        "hub_wild_rr_1000",
        "hub_wild_1000",
        "same, 1 topic",
    ),
    Row(
        f"(c)  hub, 1000 sensor/<i>/+, {ROUND_ROBIN_TOPICS // 1000}k topics round-robin",
        f"hub_wild_rr_{ROUND_ROBIN_TOPICS}",
        "hub_wild_rr_1000",
        "same, 1000 topics",
    ),
    Row("(d)  asyncio: call_soon_threadsafe/event", "asyncio_raw"),
    Row(
        "(d)  asyncio: hub.publish_threadsafe",
        "asyncio_hub",
        "asyncio_raw",
        "call_soon_threadsafe",
        min_rate=100_000,
    ),
    Row("(d)  qasync: call_soon_threadsafe/event", "qasync_raw"),
    Row(
        "(d)  qasync: hub.publish_threadsafe",
        "qasync_hub",
        "qasync_raw",
        "call_soon_threadsafe",
        min_rate=100_000,
    ),
]


def _rate(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f} M"
    if value >= 1e3:
        return f"{value / 1e3:.1f} k"
    return f"{value:.0f}"


def _ratio(value: float) -> str:
    return f"{value:.0f}x" if value >= 100 else f"{value:.2f}"


def table(figures: dict[str, float]) -> tuple[str, int, int]:
    """The report, and how many goals passed and missed."""
    header = ("name", "events/s", "baseline", "events/s", "ratio", "goal", "result")
    lines: list[tuple[str, ...]] = [header]
    passed = missed = 0
    for row in ROWS:
        if row.key not in figures:
            lines.append((row.label, "n/a", "", "", "", "", ""))
            continue
        value = figures[row.key]
        cells: list[str] = [row.label, _rate(value)]
        if row.baseline is None or row.baseline not in figures:
            lines.append((*cells, "", "", "", "", ""))
            continue
        base = figures[row.baseline]
        ratio = value / base
        cells += [row.baseline_label, _rate(base), _ratio(ratio)]
        goal, ok = "", None
        if row.min_ratio is not None:
            goal, ok = f"ratio >= {_ratio(row.min_ratio)}", ratio >= row.min_ratio
        elif row.min_rate is not None:
            goal, ok = f">= {_rate(row.min_rate)}/s", value >= row.min_rate
        if ok is not None:
            passed += ok
            missed += not ok
        cells += [goal, "" if ok is None else "PASS" if ok else "MISS"]
        lines.append(tuple(cells))
    return format_table(lines, right={1, 3, 4}), passed, missed


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, and return 0 whatever the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 short repeats (~15 s)")
    args = parser.parse_args(argv)
    settings = (
        Settings(repeats=3, target_s=0.1, calibrate_s=0.02)
        if args.quick
        else Settings(repeats=5, target_s=0.4, calibrate_s=0.05)
    )
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; median of "
        f"{settings.repeats} repeats of ~{settings.target_s} s each; "
        "ratio = events/s / baseline events/s",
        flush=True,
    )
    problems = check_routing()
    start = perf_counter()
    figures = synchronous_figures(settings)
    threaded, threaded_problems = threaded_figures(settings)
    figures |= threaded
    problems += threaded_problems
    report, passed, missed = table(figures)
    print(report)
    print(f"\n{passed} goals met, {missed} missed; {perf_counter() - start:.0f} s of measuring")
    for problem in problems:
        print(f"problem: {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
