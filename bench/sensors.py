"""The cauldron's sensor path, broker to chart buffers, against bare paho in the same run.

Run from the repository root (needs `mosquitto`, which the setup installs on Debian)::

    .venv/bin/python bench/sensors.py              # full: 3 repeats, a 10-minute soak
    .venv/bin/python bench/sensors.py --quick      # 1 repeat, a 1-minute soak

A broker is started on a free loopback port for the run and stopped by its PID. The
messages come from `bench/mqtt_publisher.py` in its own process: Tasmota telemetry,
``tele/bench-<n>/SENSOR``, one DS18B20 temperature each, ~110 bytes. Phantom's side runs
on a qasync loop, as in the app: a `ProcessConnection` (paho in its network process)
relays each message, and its reader thread hands it to the hub with
`publish_threadsafe`; the cauldron's `Ingest` parses it, scores it
with the anomaly detector, adds it to the chart buffers and publishes the reading.

Measured:

(a) ingest: N messages wait for the subscriber in a persistent session (QoS 1, queued
    by the broker), then the subscriber connects and drains them; messages/s from the
    first message received to the last one in the chart buffers. Baseline: a bare paho
    subscriber doing the same (counting in `on_message`), repeats interleaved. Loss =
    N - received. The time from `connect()` to the first message (which includes
    starting the network process) is reported on its own;
(b) latency at 1,000 msg/s, publish (the send time in the payload) → the message event
    on the hub's thread; baseline: → a bare paho `on_message`. p50 and p99;
(c) event-loop lag while Phantom ingests as fast as it can (a backlog queued as in (a),
    sent by the broker far above 10,000 msg/s): a task sleeping 5 ms notes how late it
    wakes; baseline: the same task on the idle loop. p99, and the rate ingested;
(d) chart frame time, 8 sensors x 10k points (from `bench/charts.py`);
(e) memory: resident set size while 1,000 msg/s flow for `--soak` seconds, sampled every
    5 s; the growth over the second half, in MB per minute.

The script always exits 0: the figures are for humans, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json

import charts
import paho.mqtt.client as mqtt
import qasync
import reactivex.operators as ops
from PySide6.QtWidgets import QApplication
from report import Row, goal_table

from phantom_cauldron.ingest import Ingest
from phantom_cauldron.parsing.parser import PayloadParser
from phantom_cauldron.series import SeriesStore
from phantom_cauldron.topics import TopicTree
from phantom_gui.core.hub import EventHub
from phantom_gui.mqtt.config import ConnectionConfig, Subscription
from phantom_gui.mqtt.embedded import LOOPBACK, MosquittoProcess, find_mosquitto, free_port
from phantom_gui.mqtt.embedded import general_settings as broker_settings
from phantom_gui.mqtt.messages import MqttMessage
from phantom_gui.mqtt.network_process import ProcessConnection
from phantom_gui.mqtt.retained import RetainedMessages

PUBLISHER = Path(__file__).with_name("mqtt_publisher.py")
TOPICS = "tele/#"
LAG_PERIOD_S = 0.005
SOAK_SAMPLE_S = 5.0


@dataclass(frozen=True)
class BenchSettings:
    """How much is measured."""

    repeats: int
    drain: int
    """Messages queued for (a)."""
    latency_seconds: float
    lag_seconds: float
    soak_seconds: float


class Broker:
    """A mosquitto for the run that queues any number of messages for a persistent session."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="phantom-bench-broker-"))
        self.port = free_port()
        config = [
            f"listener {self.port} {LOOPBACK}",
            "allow_anonymous true",
            "max_queued_messages 0",
            *broker_settings(),
        ]
        self.process = MosquittoProcess.start(find_mosquitto(), config, self.folder, [self.port])

    def publish(self, count: int, rate: float = 0.0) -> subprocess.Popen[str]:
        """Start the publisher process."""
        return subprocess.Popen(
            [sys.executable, str(PUBLISHER), "--port", str(self.port), "--count", str(count)]
            + (["--rate", str(rate)] if rate else []),
            stdout=subprocess.PIPE,
            text=True,
        )

    def stop(self) -> None:
        """Stop mosquitto by its PID."""
        self.process.stop()


class Pipeline:
    """Phantom's side: a connection, the hub and the cauldron's ingest."""

    def __init__(self, port: int, client_id: str, clean: bool) -> None:
        self.hub = EventHub()
        self.hub.bind_loop(asyncio.get_running_loop())
        self.store = SeriesStore()
        self.ingest = Ingest(
            functools.partial(self.hub.publish, source="cauldron"),
            self.hub.is_heard,
            PayloadParser(),
            self.store,
            TopicTree(),
            record_interval=10.0,
        )
        RetainedMessages(self.hub).messages().subscribe(self.ingest.on_message)
        config = ConnectionConfig(
            id="bench",
            name="bench",
            host=LOOPBACK,
            port=port,
            client_id=client_id,
            clean_session=clean,
            subscriptions=(Subscription(pattern=TOPICS),),
        )
        self.connection = ProcessConnection(config, self.hub)

    def stored(self) -> int:
        """Readings in the chart buffers."""
        return sum(series.held for series in self.store)


def bare_subscriber(
    port: int, client_id: str, clean: bool, on_message: Callable[[mqtt.MQTTMessage], None]
) -> mqtt.Client:
    """A paho client that subscribes to `TOPICS` at QoS 1 on connecting."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
    client.on_connect = lambda c, *_: c.subscribe(TOPICS, qos=1)
    client.on_message = lambda _c, _u, message: on_message(message)
    client.connect(LOOPBACK, port)
    return client


async def _until(done: Callable[[], bool], timeout: float) -> bool:
    deadline = perf_counter() + timeout
    while not done():
        if perf_counter() > deadline:
            return False
        await asyncio.sleep(0.002)
    return True


# -- (a) ingest -----------------------------------------------------------------------------


def _queue_for(broker: Broker, client_id: str, count: int) -> None:
    """Make `client_id`'s persistent session and have `count` messages wait in it."""
    client = bare_subscriber(broker.port, client_id, False, lambda _: None)
    client.loop_start()
    time.sleep(0.3)
    client.disconnect()
    client.loop_stop()
    publisher = broker.publish(count)
    publisher.communicate(timeout=600)


async def drain_bare(broker: Broker, count: int, run: int) -> dict[str, float]:
    """Baseline of (a): a bare paho subscriber drains `count` queued messages."""
    client_id = f"bare-{run}"
    _queue_for(broker, client_id, count)
    received = 0
    first = last = 0.0
    done = threading.Event()

    def counted(_: mqtt.MQTTMessage) -> None:
        nonlocal received, first, last
        received += 1
        if received == 1:
            first = time.time()
        if received == count:
            last = time.time()
            done.set()

    client = bare_subscriber(broker.port, client_id, False, counted)
    client.loop_start()
    await asyncio.get_running_loop().run_in_executor(None, done.wait, 600)
    client.disconnect()
    client.loop_stop()
    return {"bare_drain": _rate(received, first, last), "bare_lost": float(count - received)}


async def drain_phantom(broker: Broker, count: int, run: int) -> dict[str, float]:
    """(a): Phantom drains `count` queued messages into the chart buffers."""
    client_id = f"phantom-{run}"
    _queue_for(broker, client_id, count)
    pipeline = Pipeline(broker.port, client_id, clean=False)
    arrivals: list[float] = []
    first_arrival = pipeline.hub.on("mqtt/+/message").pipe(ops.take(1))
    first_arrival.subscribe(lambda event: arrivals.append(event.data.received_at))
    start = time.time()
    pipeline.connection.connect()
    await _until(lambda: pipeline.ingest.readings >= count, 600)
    last = time.time()
    await asyncio.sleep(0.5)  # anything more (a duplicate) would arrive now
    pipeline.connection.disconnect()
    first = arrivals[0] if arrivals else last
    return {
        "phantom_drain": _rate(pipeline.ingest.readings, first, last),
        "phantom_first": (first - start) * 1000,
        "phantom_lost": float(count - min(count, pipeline.stored())),
        "phantom_extra": float(max(0, pipeline.ingest.readings - count)),
    }


def _rate(received: int, first: float, last: float) -> float:
    """Messages per second from the first message received to the last one handled."""
    return (received - 1) / max(last - first, 1e-9)


# -- (b) latency ----------------------------------------------------------------------------


def _sent_ns(payload: bytes) -> int:
    return int(json.loads(payload)["Sent"])


async def latency_bare(broker: Broker, seconds: float) -> dict[str, float]:
    """Baseline of (b): send → a bare paho `on_message`, at 1,000 msg/s."""
    delays: list[float] = []

    def measured(message: mqtt.MQTTMessage) -> None:
        delays.append((time.time_ns() - _sent_ns(message.payload)) / 1e6)

    client = bare_subscriber(broker.port, "latency-bare", True, measured)
    client.loop_start()
    await asyncio.sleep(0.3)
    count = int(seconds * 1000)
    publisher = broker.publish(count, rate=1000)
    await asyncio.get_running_loop().run_in_executor(None, publisher.communicate)
    await asyncio.sleep(0.3)
    client.disconnect()
    client.loop_stop()
    return _percentiles("bare_latency", delays)


async def latency_phantom(broker: Broker, seconds: float) -> dict[str, float]:
    """(b): send → the message event on the hub's thread, the ingest attached."""
    pipeline = Pipeline(broker.port, "latency-phantom", clean=True)
    delays: list[float] = []

    def measured(event: object) -> None:
        message: MqttMessage = event.data  # type: ignore[attr-defined]
        delays.append((time.time_ns() - _sent_ns(message.payload)) / 1e6)

    pipeline.hub.on("mqtt/+/message").subscribe(measured)
    pipeline.connection.connect()
    await asyncio.sleep(0.3)
    count = int(seconds * 1000)
    publisher = broker.publish(count, rate=1000)
    await asyncio.get_running_loop().run_in_executor(None, publisher.communicate)
    await asyncio.sleep(0.3)
    pipeline.connection.disconnect()
    return _percentiles("phantom_latency", delays)


def _percentiles(name: str, delays: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(delays, n=100)
    return {f"{name}_p50": cuts[49], f"{name}_p99": cuts[98]}


# -- (c) event-loop lag ---------------------------------------------------------------------


async def _lags(seconds: float, busy: Callable[[], bool] = lambda: True) -> list[float]:
    """How late a task sleeping `LAG_PERIOD_S` wakes, for `seconds` or while `busy()`."""
    lags = []
    end = perf_counter() + seconds
    while perf_counter() < end and busy():
        before = perf_counter()
        await asyncio.sleep(LAG_PERIOD_S)
        lags.append((perf_counter() - before - LAG_PERIOD_S) * 1000)
    return lags


async def lag_figures(broker: Broker, seconds: float) -> dict[str, float]:
    """(c): the loop's lag while Phantom ingests flat out, and on the idle loop.

    A paced publisher cannot offer 10,000 msg/s at QoS 1 on a small machine (it needs a
    core of its own), so the messages wait in a persistent session, as in (a), and reach
    Phantom as fast as the broker can send them: the loop is as busy as ingest can make it.
    The lag is sampled from the first message to the last.
    """
    idle = await _lags(seconds)
    count = int(seconds * 10_000)
    _queue_for(broker, "lag-phantom", count)
    pipeline = Pipeline(broker.port, "lag-phantom", clean=False)
    pipeline.connection.connect()
    await _until(lambda: pipeline.ingest.readings > 0, 60)
    first = time.time()
    busy = await _lags(600, lambda: pipeline.ingest.readings < count)
    await _until(lambda: pipeline.ingest.readings >= count, 600)
    last = time.time()
    pipeline.connection.disconnect()
    return {
        "idle_lag_p99": statistics.quantiles(idle, n=100)[98],
        "busy_lag_p99": statistics.quantiles(busy, n=100)[98],
        "lag_rate": _rate(pipeline.ingest.readings, first, last),
    }


# -- (e) memory -----------------------------------------------------------------------------


def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 1e6


async def soak_figures(broker: Broker, seconds: float) -> dict[str, float]:
    """(e): RSS while 1,000 msg/s flow for `seconds`; growth over the second half."""
    pipeline = Pipeline(broker.port, "soak-phantom", clean=True)
    pipeline.connection.connect()
    await asyncio.sleep(0.3)
    publisher = broker.publish(int(seconds * 1000), rate=1000)
    samples: list[tuple[float, float]] = []
    start = perf_counter()
    while publisher.poll() is None:
        samples.append((perf_counter() - start, _rss_mb()))
        await asyncio.sleep(SOAK_SAMPLE_S)
    samples.append((perf_counter() - start, _rss_mb()))
    pipeline.connection.disconnect()
    half = [sample for sample in samples if sample[0] >= samples[-1][0] / 2]
    (t0, first), (t1, last) = half[0], half[-1]
    return {
        "soak_rss_start": samples[0][1],
        "soak_rss_end": samples[-1][1],
        "soak_growth": (last - first) / max(t1 - t0, 1e-9) * 60,
        "soak_readings": float(pipeline.ingest.readings),
    }


# -- the report -----------------------------------------------------------------------------


ROWS = [
    Row("(a) bare paho subscriber drains the queue", "bare_drain", "msg/s"),
    Row(
        "(a) Phantom: broker → parser → hub → chart buffers",
        "phantom_drain",
        "msg/s",
        "bare_drain",
        "bare paho",
        min_ratio=0.8,
    ),
    Row("(a) Phantom: connect() → first message received", "phantom_first", "ms"),
    Row("(a) messages lost, bare", "bare_lost", "messages"),
    Row("(a) messages lost, Phantom (QoS 1)", "phantom_lost", "messages"),
    Row("(a) readings beyond the messages sent", "phantom_extra", "readings"),
    Row("(b) latency p50 at 1k msg/s, bare on_message", "bare_latency_p50", "ms"),
    Row(
        "(b) latency p50 at 1k msg/s, Phantom hub",
        "phantom_latency_p50",
        "ms",
        "bare_latency_p50",
        "bare",
    ),
    Row("(b) latency p99 at 1k msg/s, bare on_message", "bare_latency_p99", "ms"),
    Row(
        "(b) latency p99 at 1k msg/s, Phantom hub",
        "phantom_latency_p99",
        "ms",
        "bare_latency_p99",
        "bare",
        max_value=5,
    ),
    Row("(c) loop lag p99, idle loop", "idle_lag_p99", "ms"),
    Row(
        "(c) loop lag p99 while ingesting flat out",
        "busy_lag_p99",
        "ms",
        "idle_lag_p99",
        "idle",
        max_value=50,
    ),
    Row("(c) rate ingested while measuring lag", "lag_rate", "msg/s", min_value=10_000),
    *[row for row in charts.ROWS if row.key in ("bare_scrolling", "charts_following")],
    Row("(e) RSS at the start of the soak", "soak_rss_start", "MB"),
    Row("(e) RSS at the end of the soak", "soak_rss_end", "MB"),
    Row("(e) RSS growth over the soak's second half", "soak_growth", "MB/min", max_value=1),
    Row("(e) readings ingested during the soak", "soak_readings", "readings"),
]


async def measure(settings: BenchSettings, app: QApplication) -> tuple[dict[str, float], list[str]]:
    """Every part, each in its own try so that one failure does not hide the others."""
    broker = Broker()
    results: dict[str, list[float]] = {}
    problems: list[str] = []

    async def part(name: str, run: Coroutine[object, object, dict[str, float]]) -> None:
        try:
            figures = await run
        except Exception as exc:
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
            return
        for key, value in figures.items():
            results.setdefault(key, []).append(value)

    try:
        for run in range(settings.repeats):
            await part("drain, bare", drain_bare(broker, settings.drain, run))
            await part("drain, Phantom", drain_phantom(broker, settings.drain, run))
            await part("latency, bare", latency_bare(broker, settings.latency_seconds))
            await part("latency, Phantom", latency_phantom(broker, settings.latency_seconds))
        await part("lag", lag_figures(broker, settings.lag_seconds))
        await part("soak", soak_figures(broker, settings.soak_seconds))
    finally:
        broker.stop()
    figures = {key: statistics.median(values) for key, values in results.items()}
    try:
        chart_settings = charts.BenchSettings(repeats=3, frames=10, readings=0)
        figures |= charts.frame_figures(chart_settings, app)
    except Exception as exc:
        problems.append(f"charts: {type(exc).__name__}: {exc}")
    return figures, problems


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, and return 0 whatever the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat, a 1-minute soak")
    parser.add_argument("--soak", type=float, help="soak seconds (default 600, quick 60)")
    args = parser.parse_args(argv)
    settings = (
        BenchSettings(repeats=1, drain=20_000, latency_seconds=3, lag_seconds=3, soak_seconds=60)
        if args.quick
        else BenchSettings(
            repeats=3, drain=50_000, latency_seconds=5, lag_seconds=5, soak_seconds=600
        )
    )
    if args.soak is not None:
        settings = BenchSettings(**{**settings.__dict__, "soak_seconds": args.soak})
    print(
        f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, paho-mqtt {mqtt.__version__}"
        if hasattr(mqtt, "__version__")
        else f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs",
        f"; median of {settings.repeats} repeats; (a) {settings.drain:,} messages; "
        f"soak {settings.soak_seconds:g} s; ratio = figure / baseline",
        sep="",
        flush=True,
    )
    app = QApplication.instance() or QApplication(sys.argv[:1])
    start = perf_counter()
    figures, problems = qasync.run(measure(settings, app))
    report, passed, missed = goal_table(ROWS, figures)
    print(report)
    print(f"\n{passed} goals met, {missed} missed; {perf_counter() - start:.0f} s of measuring")
    for problem in problems:
        print(f"problem: {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
