"""Plugin engine costs against baselines measured in the same run.

Run from the repository root::

    .venv/bin/python bench/plugins.py            # 5 repeats (~15 s)
    .venv/bin/python bench/plugins.py --quick    # 3 shorter repeats (~5 s)

Every figure is the median of several repeats; the repeats of a figure and of its
baseline are interleaved, so a burst of noise on the machine hits both alike. The script
always exits 0: the figures are for humans, not a test.

Measured:

(1) discovery of 200 manifests in a temporary folder (no plugin code imported), against
    reading and parsing the same 200 TOML files without validating them;
(2) activation (and deactivation) of a trivial inline plugin through the `PluginManager`,
    against making the plugin and calling its init() with a `PluginContext` by hand; and
    how long activating a plugin whose module does not import takes to fail (real sleeps:
    it used to be retried with backoff for 3.5 s);
(3) process isolation, with two trivial plugins that answer each event with one output:
    "direct" publishes it through its context (the sandbox's own cost), "Rx" returns
    `reactivex.of((topic, data))` as the contract suggests (and pays reactivex's ~30 µs
    per subscription, in the child). Round-trip latency (one event in flight: published on
    the parent hub → output published back on it) and throughput (a burst of events,
    until every output is back), against a bare `multiprocessing.Pipe` to a child of the
    same "spawn" context that echoes each message (ping-pong latency, and a stream of one
    message per send), and against the Rx plugin loaded inline.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import os
import statistics
import sys
import tempfile
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
from time import perf_counter
from typing import Any

from report import Row, goal_table, interleaved

from phantom_gui.core.errors import ManifestationError
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.settings import Settings
from phantom_gui.plugins.context import PluginContext
from phantom_gui.plugins.discovery import discover
from phantom_gui.plugins.manager import PluginManager
from phantom_gui.plugins.sandbox import ProcessPluginHost

NO_ENTRY_POINTS = "phantom_bench.none"
MANIFESTS = 200
SPAWN = get_context("spawn")
DATA = {"value": 1.0, "unit": "C"}

Runners = dict[str, Callable[[], float]]
"""Named measurements, each returning its figure."""

MANIFEST = """\
schema_version = 1

[plugin]
id = "{id}"
name = "Bench plugin {index}"
version = "1.{index}.0"
author = "bench"
description = "A plugin that exists to be discovered."
entry = "{package}:{cls}"
isolation = "{isolation}"
consumes = ["bench/in"]
permissions = ["hub:subscribe:bench/#", "hub:publish:bench/out", "storage"]
haunt_probability = 0.1
"""

PLUGIN_CODE = """\
import reactivex


class RxPlugin:
    def init(self, context):
        self.context = context

    def process(self, event):
        return reactivex.of(("bench/out", event.data))

    def teardown(self):
        pass


class DirectPlugin(RxPlugin):
    def process(self, event):
        self.context.hub.publish("bench/out", event.data)
"""
STYLES = {"rx": "RxPlugin", "direct": "DirectPlugin"}
"""The two trivial plugins: one returns its output as `reactivex.of(...)`, as the contract
suggests; the other publishes it through its context (no Rx: the sandbox's own cost)."""


@dataclass(frozen=True)
class BenchSettings:
    """How long each figure is measured."""

    repeats: int
    activations: int
    round_trips: int
    burst: int


# -- measuring ----------------------------------------------------------------------------


def write_plugin(folder: Path, index: int, isolation: str = "inline", style: str = "rx") -> str:
    """Write one plugin package with its manifest; return its id."""
    plugin_id = f"bench_{isolation}_{style}_{index}"
    package = folder / plugin_id
    package.mkdir(parents=True)
    manifest = MANIFEST.format(
        id=plugin_id, index=index, package=plugin_id, cls=STYLES[style], isolation=isolation
    )
    (package / "phantom-plugin.toml").write_text(manifest)
    (package / "__init__.py").write_text(PLUGIN_CODE)
    return plugin_id


# -- (1) discovery -------------------------------------------------------------------------


def discovery_figures(settings: BenchSettings, root: Path) -> dict[str, float]:
    """Milliseconds to discover 200 manifests, and to merely parse them."""
    folder = root / "discovery"
    for index in range(MANIFESTS):
        write_plugin(folder, index)

    def discovery() -> float:
        start = perf_counter()
        found = discover([folder], entry_points_group=NO_ENTRY_POINTS)
        elapsed = perf_counter() - start
        assert len(found.plugins) == MANIFESTS, found.problems
        return elapsed * 1000

    def parse_only() -> float:
        start = perf_counter()
        for path in sorted(folder.glob("*/phantom-plugin.toml")):
            tomllib.loads(path.read_text(encoding="utf-8"))
        return (perf_counter() - start) * 1000

    return interleaved({"discover": discovery, "parse": parse_only}, settings.repeats)


# -- (2) activation ------------------------------------------------------------------------


def activation_figures(settings: BenchSettings, root: Path) -> dict[str, float]:
    """Milliseconds to activate a trivial inline plugin, and to make and init it by hand."""
    folder = root / "inline"
    plugin_id = write_plugin(folder, 0)
    loop = asyncio.new_event_loop()
    hub = EventHub(loop)
    app_settings = Settings(root / "inline-settings.json")
    manager = PluginManager(
        hub, app_settings, root / "data", [folder], entry_points_group=NO_ENTRY_POINTS
    )
    manager.discover()
    figures: dict[str, float] = {}
    start = perf_counter()
    loop.run_until_complete(manager.activate(plugin_id))
    figures["activate_first"] = (perf_counter() - start) * 1000
    loop.run_until_complete(manager.deactivate(plugin_id))
    plugin_class = sys.modules[plugin_id].RxPlugin

    def activate() -> float:
        total = 0.0
        for _ in range(settings.activations):
            start = perf_counter()
            loop.run_until_complete(manager.activate(plugin_id))
            total += perf_counter() - start
            loop.run_until_complete(manager.deactivate(plugin_id))
        return total / settings.activations * 1000

    def by_hand() -> float:
        start = perf_counter()
        for _ in range(settings.activations):
            context = PluginContext(
                plugin_id, hub, manager.records[plugin_id].manifest.granted, app_settings, root
            )
            plugin_class().init(context)
        return (perf_counter() - start) / settings.activations * 1000

    figures |= interleaved({"activate": activate, "by_hand": by_hand}, settings.repeats)
    loop.close()
    figures["broken_import"] = broken_import_ms(root)
    return figures


def broken_import_ms(root: Path) -> float:
    """Milliseconds from activating a plugin whose module does not import to its failure
    (the failure's log record, with its traceback, is not printed)."""
    logging.getLogger("phantom.plugins").addHandler(logging.NullHandler())
    folder = root / "broken"
    plugin_id = write_plugin(folder, MANIFESTS)
    (folder / plugin_id / "__init__.py").write_text("import phantom_bench_nowhere\n")
    loop = asyncio.new_event_loop()
    hub = EventHub(loop)
    manager = PluginManager(
        hub, Settings(root / "broken-settings.json"), root / "data", [folder],
        entry_points_group=NO_ENTRY_POINTS,
    )  # fmt: skip
    manager.discover()
    start = perf_counter()
    try:
        loop.run_until_complete(manager.activate(plugin_id))
    except ManifestationError:
        elapsed = perf_counter() - start
    else:
        raise AssertionError("a plugin whose module does not import was activated")
    finally:
        loop.close()
    return elapsed * 1000


# -- (3) process isolation -----------------------------------------------------------------


def echo_child(conn: Connection) -> None:
    """The bare pipe's child: echo every message until None."""
    while (message := conn.recv()) is not None:
        conn.send(message)


def _message() -> tuple[str, tuple[Any, ...]]:
    """A message the size of a forwarded event."""
    event = SpectralEvent("bench/in", DATA, "bench")
    return ("event", (event.topic, event.data, event.source, event.metadata, event.timestamp))


def bare_pipe_runners(settings: BenchSettings, root: Path) -> tuple[Runners, Callable[[], None]]:
    """Ping-pong latency (µs) and streamed throughput (messages/s) over a bare pipe."""
    conn, child_conn = SPAWN.Pipe()
    process = SPAWN.Process(target=echo_child, args=(child_conn,))
    process.start()
    child_conn.close()

    def ping_pong() -> float:
        times = []
        for _ in range(settings.round_trips):
            start = perf_counter()
            conn.send(_message())
            conn.recv()
            times.append(perf_counter() - start)
        return statistics.median(times) * 1e6

    def stream() -> float:
        count = settings.burst

        def send_all() -> None:
            for _ in range(count):
                conn.send(_message())

        sender = threading.Thread(target=send_all)
        start = perf_counter()
        sender.start()
        for _ in range(count):
            conn.recv()
        elapsed = perf_counter() - start
        sender.join()
        return count / elapsed

    def close() -> None:
        conn.send(None)
        process.join(5)
        process.kill()
        conn.close()

    return {"pipe_rtt": ping_pong, "pipe_rate": stream}, close


class _Outputs:
    """Counts the plugin's outputs on the parent hub; resolves `done` at the expected count."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.expected = 0
        self.done: asyncio.Future[None] = loop.create_future()

    def expect(self, count: int) -> asyncio.Future[None]:
        self.expected = count
        self.done = self._loop.create_future()
        return self.done

    def __call__(self, event: SpectralEvent) -> None:
        self.expected -= 1
        if self.expected == 0:
            self.done.set_result(None)


def plugin_runners(
    settings: BenchSettings, root: Path, isolation: str, style: str
) -> tuple[Runners, Callable[[], None]]:
    """Round-trip latency (µs) and throughput (events/s) of a trivial plugin on the hub."""
    folder = root / f"{isolation}-{style}"
    plugin_id = write_plugin(folder, 0, isolation, style)
    loop = asyncio.new_event_loop()
    hub = EventHub(loop)
    outputs = _Outputs(loop)
    hub.on("bench/out").subscribe(outputs)
    manager = PluginManager(
        hub,
        Settings(folder / "settings.json"),
        folder / "data",
        [folder],
        process_host_factory=ProcessPluginHost,
        entry_points_group=NO_ENTRY_POINTS,
    )
    manager.discover()
    loop.run_until_complete(manager.activate(plugin_id))

    async def round_trips() -> float:
        times = []
        for _ in range(settings.round_trips):
            done = outputs.expect(1)
            start = perf_counter()
            hub.publish("bench/in", DATA, source="bench")
            await done
            times.append(perf_counter() - start)
        return statistics.median(times) * 1e6

    async def burst() -> float:
        done = outputs.expect(settings.burst)
        start = perf_counter()
        for _ in range(settings.burst):
            hub.publish("bench/in", DATA, source="bench")
        await asyncio.wait_for(done, 60)
        return settings.burst / (perf_counter() - start)

    def close() -> None:
        loop.run_until_complete(manager.shutdown())
        loop.close()

    prefix = f"{isolation}_{style}"
    return {
        f"{prefix}_rtt": lambda: loop.run_until_complete(round_trips()),
        f"{prefix}_rate": lambda: loop.run_until_complete(burst()),
    }, close


def process_figures(settings: BenchSettings, root: Path) -> dict[str, float]:
    """Part (3): the sandbox, the bare pipe and an inline plugin, their repeats interleaved."""
    runners: Runners = {}
    closers = []
    try:
        for make in (
            bare_pipe_runners,
            functools.partial(plugin_runners, isolation="process", style="direct"),
            functools.partial(plugin_runners, isolation="process", style="rx"),
            functools.partial(plugin_runners, isolation="inline", style="rx"),
        ):
            more, close = make(settings, root)
            runners |= more
            closers.append(close)
        latencies = {name: run for name, run in runners.items() if name.endswith("_rtt")}
        rates = {name: run for name, run in runners.items() if name.endswith("_rate")}
        return interleaved(latencies, settings.repeats) | interleaved(rates, settings.repeats)
    finally:
        for close in closers:
            close()


# -- report --------------------------------------------------------------------------------


ROWS = [
    Row("(1) parse 200 manifests (tomllib only)", "parse", "ms"),
    Row("(1) discover 200 manifests", "discover", "ms", "parse", "parse only", max_value=200),
    Row("(2) make + init a plugin by hand", "by_hand", "ms"),
    Row("(2) activate inline plugin, first (import)", "activate_first", "ms"),
    Row("(2) activate inline plugin", "activate", "ms", "by_hand", "by hand"),
    Row(
        "(2) activate a plugin that does not import, until failed",
        "broken_import",
        "ms",
        "activate",
        "working plugin",
        max_value=100,
    ),
    Row("(3) bare pipe ping-pong round trip", "pipe_rtt", "µs"),
    Row(
        "(3) sandbox round trip, direct plugin", "process_direct_rtt", "µs", "pipe_rtt", "ping-pong"
    ),
    Row("(3) sandbox round trip, Rx plugin", "process_rx_rtt", "µs", "pipe_rtt", "ping-pong"),
    Row("(3) inline round trip, Rx plugin", "inline_rx_rtt", "µs"),
    Row("(3) bare pipe stream, 1 message/send", "pipe_rate", "msg/s"),
    Row(
        "(3) sandbox throughput, direct plugin",
        "process_direct_rate",
        "events/s",
        "pipe_rate",
        "bare stream",
        min_ratio=0.5,
    ),
    Row(
        "(3) sandbox throughput, Rx plugin",
        "process_rx_rate",
        "events/s",
        "pipe_rate",
        "bare stream",
    ),
    Row("(3) inline throughput, Rx plugin", "inline_rx_rate", "events/s"),
    Row(
        "(3) sandbox throughput, Rx plugin",
        "process_rx_rate",
        "events/s",
        "inline_rx_rate",
        "inline Rx",
    ),
]


def table(figures: dict[str, float]) -> tuple[str, int, int]:
    """The report, and how many goals passed and missed."""
    return goal_table(ROWS, figures)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, and return 0 whatever the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 shorter repeats (~5 s)")
    args = parser.parse_args(argv)
    settings = (
        BenchSettings(repeats=3, activations=20, round_trips=200, burst=5_000)
        if args.quick
        else BenchSettings(repeats=5, activations=50, round_trips=500, burst=20_000)
    )
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; median of "
        f"{settings.repeats} repeats; ratio = figure / baseline",
        flush=True,
    )
    start = perf_counter()
    figures: dict[str, float] = {}
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="phantom-bench-") as tmp:
        root = Path(tmp)
        for part in (discovery_figures, activation_figures, process_figures):
            try:
                figures |= part(settings, root)
            except Exception as exc:
                problems.append(f"{part.__name__}: {type(exc).__name__}: {exc}")
    report, passed, missed = table(figures)
    print(report)
    print(f"\n{passed} goals met, {missed} missed; {perf_counter() - start:.0f} s of measuring")
    for problem in problems:
        print(f"problem: {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
