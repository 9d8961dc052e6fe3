"""The desktop's responsiveness while a coven member floods it, against the same coven calm.

Run from the repository root (needs `mosquitto` and `Xvfb`, which the setup installs)::

    .venv/bin/python bench/coven_frames.py            # 3 repeats of 10 s per phase (~2.5 min)
    .venv/bin/python bench/coven_frames.py --quick    # 1 repeat of 5 s per phase

It starts its own Xvfb and mosquitto (``max_queued_messages 0``) and stops them by PID.
The app is the real one (`frames.desktop`: a `MainWindow` over fresh `Services` on a
qasync loop), joined to the coven ``bench`` on that broker with the default limits, the
Coven panel and the Cauldron panel open from their docks. Two plain paho senders
(`coven_sender.py`), each a process of its own with a valid ``user`` token, send sealed
envelopes on their own events topics:

- calm: ``chat/calm`` at 20 events/s, all run long, each carrying its send time;
- flood: ``chat/flood`` at `--flood-rate` (20,000) events/s, QoS 0, for the phase's
  length, its envelopes sealed before the phase starts.

Phases, interleaved: (a) calm alone for the phase's length, (b) the flood, from its
first event until the app has taken the last (the coven's counts of the flooder stop
moving). On the GUI thread, per interval of a 60 Hz timer the bench runs (a 16.7 ms
budget): the interval, the frame work (the Coven panel's and the live charts' refreshes
and the plots' paints), the GUI thread's CPU time (`time.thread_time`), frames missed (an
interval of k budgets misses k - 1); the lateness of a 50 ms single-shot timer scheduled
over and over; the calm events' latency from their send time to the app's hub. Each
figure is the median over the repeats; the ratio is (b) / (a). At the end, what the Coven
panel shows of the refusals, and a screenshot (`--screenshot`). The script always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from time import perf_counter
from typing import Any

from coven import Member
from coven_member import SECRET
from frames import Timeline, desktop, percentile, timed_paints, virtual_display, wait_for
from report import Row, goal_table

from phantom_gui.coven.service import CONNECTION_ID
from phantom_gui.mqtt.throttling import throttled_topic

from support.mosquitto import MosquittoBroker

SENDER = Path(__file__).with_name("coven_sender.py")
COVEN = "bench"
FRAME_MS = 1000 / 60
PROBE_MS = 50
CALM_RATE = 20.0
DRAIN_QUIET_S = 1.5
"""Longer than the MQTT gate's report period, so its last report is waited for."""
DRAIN_TIMEOUT_S = 120.0


class Probes:
    """A 60 Hz frame timer noting its ticks in a `Timeline`, and a single-shot timer of
    `PROBE_MS` scheduled again each time it fires, noting how late it fired."""

    def __init__(self, timeline: Timeline) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.late: list[tuple[float, float]] = []
        """(due, ms late) of every firing of the single-shot timer."""
        self.frame_timer = QTimer(interval=round(FRAME_MS))
        self.frame_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.frame_timer.timeout.connect(timeline.tick)
        self.frame_timer.start()
        self.probe = QTimer(interval=PROBE_MS, singleShot=True)
        self.probe.setTimerType(Qt.TimerType.PreciseTimer)
        self.probe.timeout.connect(self._fired)
        self._schedule()

    def _schedule(self) -> None:
        self._due = perf_counter() + PROBE_MS / 1000
        self.probe.start()

    def _fired(self) -> None:
        self.late.append((self._due, (perf_counter() - self._due) * 1000))
        self._schedule()

    def lateness(self, start: float, end: float) -> list[float]:
        return [late for due, late in self.late if start <= due <= end]

    def stop(self) -> None:
        self.probe.stop()
        self.frame_timer.stop()


class Calm:
    """The calm events as they reach the hub: (send time, latency ms)."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, float]] = []

    def arrived(self, event: Any) -> None:
        sent = event.data["sent"]
        self.arrivals.append((sent, (time.time() - sent) * 1000))

    def between(self, start: float, end: float) -> list[float]:
        """Latencies of the events sent between the wall-clock times `start` and `end`."""
        return [latency for sent, latency in self.arrivals if start <= sent <= end]


class Flood:
    """What became of the flood: counted by the coven (received, refused) and dropped by
    the coven connection's MQTT gate in its network process (per broker topic)."""

    def __init__(self, services: Any) -> None:
        self.services = services
        self.gate_drops: dict[str, int] = {}
        services.hub.on(throttled_topic(CONNECTION_ID)).subscribe(self._dropped)

    def _dropped(self, event: Any) -> None:
        self.gate_drops[event.data["topic"]] = event.data["total"]

    def coven_counts(self) -> tuple[int, int]:
        """The flooder's events the coven received, and those it refused."""
        traffic = self.services.coven.traffic
        if traffic is None:
            return 0, 0
        snapshot = traffic.snapshot()
        received = sum(f.received for f in snapshot.flows if f.member.startswith("flood-"))
        refused = sum(n for m, n in snapshot.refused_by_member.items() if m.startswith("flood-"))
        return received, refused

    def seen(self) -> int:
        return sum(self.coven_counts()) + sum(self.gate_drops.values())

    async def drained(self) -> float:
        """Wait until the counts have not moved for `DRAIN_QUIET_S`; when they last did."""
        seen, moved = self.seen(), perf_counter()
        deadline = moved + DRAIN_TIMEOUT_S
        while perf_counter() - moved < DRAIN_QUIET_S and perf_counter() < deadline:
            await asyncio.sleep(0.1)
            if (now := self.seen()) != seen:
                seen, moved = now, perf_counter()
        return moved


async def hear(member: Member) -> str:
    return await asyncio.get_running_loop().run_in_executor(None, member.hear)


class Run:
    """The app, its panels and the senders, measured phase by phase."""

    def __init__(self, window: Any, args: argparse.Namespace, port: int) -> None:
        self.window = window
        self.services = window._services
        self.args = args
        self.port = port
        self.timeline = Timeline()
        self.calm = Calm()
        self.phases: dict[str, list[dict[str, float]]] = {"a": [], "b": []}
        self.flood_sent: list[float] = []
        """The flood's send rate in each repeat."""
        self.flood = Flood(self.services)
        self.panel: Any = None

    async def open_panels(self) -> None:
        from PySide6.QtWidgets import QWidget

        docks = self.window.plugin_docks
        for plugin in ("phantom_cauldron", "phantom_coven"):
            docks.toggle(plugin)
            await wait_for(lambda p=plugin: p in docks.docks, 20, f"the {plugin} panel")
        cauldron = docks.docks["phantom_cauldron"].findChild(QWidget, "cauldronPanel")
        self.panel = docks.docks["phantom_coven"].findChild(QWidget, "covenPanel")
        self.timeline.clock(cauldron.charts.frame_clock, cauldron.charts.refresh, "charts", False)
        self.timeline.clock(self.panel.frame_clock, self.panel.refresh, "Coven panel", False)
        await wait_for(
            lambda: self.services.coven.state.status == "joined", 30, "joining the coven"
        )

    async def measure(self) -> None:
        await self.open_panels()
        self.services.hub.on("chat/calm").subscribe(self.calm.arrived)
        calm = Member(self.port, "calm", "calm-1", *self.options("chat/calm"), script=SENDER)
        flood = Member(self.port, "flood", "flood-1", *self.options("chat/flood"), script=SENDER)
        probes = None
        try:
            for member in (calm, flood):
                if await hear(member) != "ready":
                    raise RuntimeError(f"{member.instance} did not start")
            await wait_for(lambda: len(self.calm.arrivals) > 0, 30, "the calm member's events")
            probes = Probes(self.timeline)
            count = int(self.args.flood_rate * self.args.phase)
            for _ in range(self.args.repeats):
                flood.tell(f"prepare {count}")
                if await hear(flood) != "prepared":
                    raise RuntimeError("the flooder did not prepare")
                await asyncio.sleep(1.0)
                start, wall = perf_counter(), time.time()
                await asyncio.sleep(self.args.phase)
                self.phases["a"].append(self.figures(probes, start, wall, perf_counter()))
                start, wall = perf_counter(), time.time()
                flood.tell(f"go {self.args.flood_rate:g}")
                sent = (await hear(flood)).split()
                self.flood_sent.append(int(sent[1]) / float(sent[2]))
                end = await self.flood.drained()
                self.phases["b"].append(self.figures(probes, start, wall, end))
                self.phases["b"][-1]["drain_s"] = end - start - float(sent[2])
        finally:
            if probes is not None:
                probes.stop()
            calm.quit()
            flood.quit()

    def options(self, topic: str) -> tuple[str, ...]:
        return ("--coven", COVEN, "--topic", topic, "--rate", f"{CALM_RATE:g}")

    def figures(self, probes: Probes, start: float, wall: float, end: float) -> dict[str, float]:
        """The figures of the window from `start` (`wall` in wall-clock time) to `end`."""
        figures = self.timeline.frames(start, end, FRAME_MS)
        late = probes.lateness(start, end)
        latencies = self.calm.between(wall, wall + end - start)
        return figures | {
            "late_p50": percentile(late, 50),
            "late_p99": percentile(late, 99),
            "calm_p50": percentile(latencies, 50),
            "calm_p99": percentile(latencies, 99),
            "calm_heard": len(latencies) / max(1e-9, (end - start) * CALM_RATE) * 100,
        }

    async def screenshot(self, path: Path) -> dict[str, Any]:
        """What the Coven panel shows of the refusals, once redrawn; its dock raised and the
        window saved to `path`."""
        self.window.plugin_docks.docks["phantom_coven"].raise_()
        await asyncio.sleep(0.5)
        self.panel.refresh()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.window.grab().save(str(path))
        received, refused = self.flood.coven_counts()
        return {
            "counts": self.panel.refused_counts.text(),
            "flood_rows": [f for f in self.panel.model.flows if f.member.startswith("flood-")],
            "received": received,
            "refused": refused,
        }


ROWS = [
    Row("(a) calm: frame interval p50", "a_interval_p50", "ms"),
    Row("(a) frame interval p99", "a_interval_p99", "ms"),
    Row("(a) frame work p50", "a_work_p50", "ms"),
    Row("(a) frame work p99", "a_work_p99", "ms"),
    Row("(a) GUI thread CPU per frame p99", "a_cpu_p99", "ms"),
    Row("(a) frames missed", "a_missed_share", "%"),
    Row("(a) timer lateness p99", "a_late_p99", "ms"),
    Row("(a) calm latency p50", "a_calm_p50", "ms"),
    Row("(a) calm latency p99", "a_calm_p99", "ms"),
    Row("(b) flood: frame interval p50", "b_interval_p50", "ms", "a_interval_p50", "(a) p50"),
    Row("(b) frame interval p99", "b_interval_p99", "ms", "a_interval_p99", "(a) p99"),
    Row("(b) frame work p50", "b_work_p50", "ms", "a_work_p50", "(a) p50"),
    Row("(b) frame work p99", "b_work_p99", "ms", "a_work_p99", "(a) p99"),
    Row("(b) GUI thread CPU per frame p50", "b_cpu_p50", "ms", "a_cpu_p50", "(a) p50"),
    Row("(b) GUI thread CPU per frame p99", "b_cpu_p99", "ms", "a_cpu_p99", "(a) p99"),
    Row("(b) frames missed", "b_missed_share", "%", "a_missed_share", "(a)"),
    Row("(b) timer lateness p50", "b_late_p50", "ms", "a_late_p50", "(a) p50"),
    Row("(b) timer lateness p99", "b_late_p99", "ms", "a_late_p99", "(a) p99"),
    Row("(b) calm latency p50", "b_calm_p50", "ms", "a_calm_p50", "(a) p50"),
    Row("(b) calm latency p99", "b_calm_p99", "ms", "a_calm_p99", "(a) p99"),
    Row("(b) calm events heard", "b_calm_heard", "%", "a_calm_heard", "(a)"),
    Row("(b) drain after the flood's last send", "b_drain_s", "s"),
]


def run(args: argparse.Namespace, folder: Path) -> tuple[Run, dict[str, Any]]:
    """Start the broker, build the app joined to the coven, measure, take it all down."""
    broker = MosquittoBroker(folder / "broker", settings=["max_queued_messages 0"]).start()
    os.environ["PHANTOM_COVEN_SECRET"] = SECRET
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    try:
        options = {"coven": COVEN, "coven_broker": broker.config(id="coven-broker", name="Coven")}
        with desktop(folder / "data", **options) as (loop, window):
            measured = Run(window, args, broker.port)
            with timed_paints(measured.timeline):
                loop.run_until_complete(measured.measure())
                shown = loop.run_until_complete(measured.screenshot(args.screenshot))
        return measured, shown
    finally:
        broker.stop()


def report(measured: Run, shown: dict[str, Any]) -> None:
    figures = {
        f"{phase}_{name}": statistics.median(row[name] for row in rows)
        for phase, rows in measured.phases.items()
        if rows
        for name in rows[0]
    }
    table, _, _ = goal_table(ROWS, figures)
    print(table)
    for phase, rows in measured.phases.items():
        longest = ", ".join(
            f"{name} {max(row.get(name, 0.0) for row in rows):.1f} ms"
            for name in rows[0]
            if name.startswith("longest")
        )
        frames = sum(row["frames"] for row in rows)
        missed = sum(row["missed"] for row in rows)
        print(f"({phase}) {frames:.0f} frames, {missed:.0f} missed; {longest}")
    rates = ", ".join(f"{rate:,.0f}" for rate in measured.flood_sent)
    sent = int(measured.args.flood_rate * measured.args.phase) * len(measured.flood_sent)
    print(f"flood: {sent:,} events sent at {rates} events/s (each repeat)")
    print(
        f"flood: {shown['received']:,} reached the hub, {shown['refused']:,} refused by the "
        f"coven; dropped by the coven connection's MQTT gate: {measured.flood.gate_drops}"
    )
    print(f"Coven panel, refused: {shown['counts']!r}")
    for row in shown["flood_rows"]:
        print(f"Coven panel, traffic: {row.member} {row.topic} received {row.received:,}")


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, and return 0 whatever the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 repeat of 5 s per phase")
    parser.add_argument("--flood-rate", type=float, default=20_000.0, help="events/s")
    parser.add_argument(
        "--screenshot", type=Path, default=Path("/tmp/xr/coven-flood.png"), help="PNG path"
    )
    args = parser.parse_args(argv)
    args.repeats, args.phase = (1, 5.0) if args.quick else (3, 10.0)
    started = perf_counter()
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    try:
        with (
            virtual_display(),
            tempfile.TemporaryDirectory(prefix="phantom-bench-coven-frames-") as folder,
        ):
            measured, shown = run(args, Path(folder))
        end_load = " ".join(f"{value:.2f}" for value in os.getloadavg())
        print(
            f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load} at the start, "
            f"{end_load} at the end (1/5/15 min); {args.repeats} x {args.phase:g} s per phase; "
            f"flood {args.flood_rate:,.0f}/s, calm {CALM_RATE:g}/s; "
            f"frame budget {FRAME_MS:.1f} ms; ratio = (b) / (a)"
        )
        report(measured, shown)
    except Exception as exc:
        print(f"problem: {type(exc).__name__}: {exc}")
        return 0
    print(f"screenshot: {args.screenshot}; {perf_counter() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
