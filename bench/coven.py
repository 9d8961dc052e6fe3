"""The coven through a real broker: bridge members against a bare paho pair, in one run.

Run from the repository root (needs `mosquitto`)::

    .venv/bin/python bench/coven.py            # 3 repeats (~2.5 min)
    .venv/bin/python bench/coven.py --quick    # 1 shorter repeat (~1 min)
    .venv/bin/python bench/coven.py --profile /tmp/coven-prof   # cProfile both bridge sides

A mosquitto is started on a free loopback port for the run and stopped by its PID. Each
member is `bench/coven_member.py` in a process of its own: a bridge as the app makes it
(a hub, a `ProcessConnection` with its own network process, a `CovenBridge`), or bare
paho. Readings carry their send time (``time.time()``); a receiver notes when each
reached its hub (or bare ``on_message``). Every member receives what its coven shares,
its own readings too, so a sender also acknowledges; bare members turn Nagle's algorithm
off as the app's clients do (`send_at_once`), or each reading would wait tens of
milliseconds for the broker's delayed TCP acknowledgement. Receivers confirm that they
expect a round before its sender starts. A bridge member's connection subscribes to its
coven alone (not the default ``#``): otherwise every member would receive, relay and drop
the traffic of every other pair on the broker, and idle pairs would slow the measured one.

(1) one sender, one receiver: latency p50/p99 at 1,000 readings/s and readings/s flat
    out (from the first reading's send time to the last one's arrival); baseline: a bare
    paho pair publishing at QoS 1 payloads of a sealed envelope's size. Goals: p99 < 10 ms,
    throughput >= 0.7x bare;
(2) token checks: throughput flat out with the bridge's `AuthService` (a verified token
    is cached), with a service checking the signature of every call, and with one that
    accepts everything (the baseline). Goal: cached checks cost < 10 % (ratio >= 0.9);
(3) members per broker: one sender at 1,000 readings/s and 1, 7, then 31 receivers (2, 8,
    32 members); p99 over all receivers, and the first member count whose p99 is twice
    the 2 members' (reported, no goal).

Pairs live through the whole run and take turns, the repeats interleaved, so noise hits
a figure and its baseline alike. The load average is printed. The script always exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coven_member import SECRET, TOPIC, reading
from report import Row, format_table, goal_table

from phantom_gui.coven.auth import AuthService
from phantom_gui.coven.envelope import ENVELOPE_VERSION, Envelope, seal
from phantom_gui.mqtt.embedded import LOOPBACK, MosquittoProcess, find_mosquitto, free_port
from phantom_gui.mqtt.embedded import general_settings as broker_settings

MEMBER = Path(__file__).with_name("coven_member.py")
LATENCY_RATE = 1000.0
CROWDS = (2, 8, 32)
P99_GOAL_MS = 10.0
THROUGHPUT_GOAL = 0.7
AUTH_GOAL = 0.9
ROUND_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class BenchSettings:
    """How much is measured."""

    repeats: int
    latency_count: int
    """Readings per latency round (at 1,000/s)."""
    flood_count: int
    """Readings per flat-out round."""
    crowd_count: int


class Member:
    """A member process (`script`, `coven_member.py` by default) and the lines it prints."""

    def __init__(
        self, port: int, kind: str, instance: str, *options: str, script: Path = MEMBER
    ) -> None:
        self.instance = instance
        arguments = ["--port", str(port), "--kind", kind, "--instance", instance, *options]
        self.process = subprocess.Popen(
            [sys.executable, str(script), *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.strip())
        self.lines.put("")

    def tell(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def hear(self, timeout: float = ROUND_TIMEOUT_S) -> str:
        """The next line it prints; `RuntimeError` if none comes in `timeout` s."""
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"member {self.instance} said nothing for {timeout:g} s") from None
        if not line:
            raise RuntimeError(f"member {self.instance} exited ({self.process.wait()})")
        return line

    def quit(self) -> None:
        if self.process.poll() is None:
            self.tell("quit")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def started(members: list[Member]) -> list[Member]:
    """`members`, once each has said it is ready."""
    for member in members:
        if member.hear() != "ready":
            raise RuntimeError(f"member {member.instance} did not start")
    return members


@dataclass(frozen=True)
class Round:
    """What the receivers of one round measured."""

    latencies_ms: list[float]
    rate: float
    lost: int


def run_round(sender: Member, receivers: list[Member], count: int, rate: float) -> Round:
    """`sender` publishes `count` readings at `rate` (0: flat out); the receivers' results."""
    for receiver in receivers:
        receiver.tell(f"expect {count}")
    for receiver in receivers:
        if receiver.hear() != "expecting":
            raise RuntimeError(f"member {receiver.instance} did not take `expect`")
    sender.tell(f"send {count} {rate:g}")
    sender.hear()
    deadline = time.monotonic() + ROUND_TIMEOUT_S
    results: list[dict[str, Any]] = []
    for receiver in receivers:
        try:
            line = receiver.hear(max(deadline - time.monotonic(), 0.1))
        except RuntimeError:
            receiver.tell("report")
            line = receiver.hear()
        results.append(json.loads(line))
    latencies = [value for result in results for value in result["latencies_ms"]]
    return Round(
        latencies_ms=latencies,
        rate=statistics.median(result["rate"] for result in results),
        lost=sum(count - result["received"] for result in results),
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def envelope_size() -> int:
    """The bytes of a reading sealed as the bridge sends it."""
    token = AuthService(SECRET).generate_token({"name": "bench-a", "role": "user"})
    envelope = Envelope(
        version=ENVELOPE_VERSION,
        id="0" * 32,
        topic=TOPIC,
        source="bench-a",
        sequence=1,
        timestamp=time.time(),
        correlation_id=None,
        token=token,
        payload=reading(1),
    )
    return len(seal(envelope))


class Broker:
    """A mosquitto for the run that queues any number of messages."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="phantom-bench-coven-"))
        self.port = free_port()
        config = [
            f"listener {self.port} {LOOPBACK}",
            "allow_anonymous true",
            "max_queued_messages 0",
            "max_connections -1",
            *broker_settings(),
        ]
        self.process = MosquittoProcess.start(find_mosquitto(), config, self.folder, [self.port])

    def stop(self) -> None:
        """Stop mosquitto by its PID."""
        self.process.stop()


class Bench:
    """The members of the run, started on `broker`."""

    def __init__(self, broker: Broker, settings: BenchSettings, profile: Path | None) -> None:
        self.broker = broker
        self.settings = settings
        self.profile = profile
        self.members: list[Member] = []
        self.size = envelope_size()

    def member(self, kind: str, instance: str, *options: str) -> Member:
        if self.profile is not None and kind == "bridge" and "jwt" in options:
            options = (*options, "--profile", str(self.profile / f"{instance}.prof"))
        member = Member(self.broker.port, kind, instance, *options)
        self.members.append(member)
        return member

    def pair(self, kind: str, name: str, *options: str) -> tuple[Member, list[Member]]:
        sender = self.member(kind, f"{name}-a", *options)
        receiver = self.member(kind, f"{name}-b", *options)
        return sender, started([sender, receiver])[1:]

    def close(self) -> None:
        for member in self.members:
            member.quit()

    def pairs(self) -> dict[str, float]:
        """Parts (1) and (2)."""
        settings = self.settings
        pairs = {
            "bare": self.pair("bare", "bare", "--size", str(self.size)),
            **{
                auth: self.pair("bridge", f"bridge-{auth}", "--coven", auth, "--auth", auth)
                for auth in ("jwt", "open", "every")
            },
        }
        for sender, receivers in pairs.values():
            run_round(sender, receivers, 200, 0)
        latency: dict[str, list[float]] = {"bare": [], "jwt": []}
        rates: dict[str, list[float]] = {name: [] for name in pairs}
        lost = 0
        for _ in range(settings.repeats):
            for name in latency:
                measured = run_round(*pairs[name], settings.latency_count, LATENCY_RATE)
                latency[name] += measured.latencies_ms
                lost += measured.lost
            for name, pair in pairs.items():
                measured = run_round(*pair, settings.flood_count, 0)
                rates[name].append(measured.rate)
                lost += measured.lost
        figures = {f"rate {name}": statistics.median(values) for name, values in rates.items()}
        for name, values in latency.items():
            figures[f"p50 {name}"] = percentile(values, 0.5)
            figures[f"p99 {name}"] = percentile(values, 0.99)
        figures["lost"] = lost
        return figures

    def crowds(self) -> list[tuple[int, Round]]:
        """Part (3): one sender, more and more receivers."""
        sender = started([self.member("bridge", "crowd-0", "--coven", "crowd")])[0]
        receivers: list[Member] = []
        rounds = []
        for size in CROWDS:
            joining = [
                self.member("bridge", f"crowd-{i}", "--coven", "crowd")
                for i in range(len(receivers) + 1, size)
            ]
            receivers += started(joining)
            run_round(sender, receivers, 200, 0)
            rounds.append((size, run_round(sender, receivers, self.settings.crowd_count, 1000)))
        return rounds


def pair_table(figures: dict[str, float]) -> str:
    bare_rate = "bare paho, flat out"
    open_rate = "bridge, accepts all"
    rows = [
        Row("bare paho, p50 at 1k/s", "p50 bare", "ms"),
        Row("bare paho, p99 at 1k/s", "p99 bare", "ms"),
        Row("bridge, p50 at 1k/s", "p50 jwt", "ms"),
        Row("bridge, p99 at 1k/s", "p99 jwt", "ms", max_value=P99_GOAL_MS),
        Row(bare_rate, "rate bare", "events/s"),
        Row(
            "bridge, flat out",
            "rate jwt",
            "events/s",
            "rate bare",
            bare_rate,
            min_ratio=THROUGHPUT_GOAL,
        ),
        Row(open_rate, "rate open", "events/s", "rate bare", bare_rate),
        Row(
            "bridge, tokens cached",
            "rate jwt",
            "events/s",
            "rate open",
            open_rate,
            min_ratio=AUTH_GOAL,
        ),
        Row("bridge, every token checked", "rate every", "events/s", "rate open", open_rate),
    ]
    text, passed, missed = goal_table(rows, figures)
    return f"{text}\n\n{passed} goals passed, {missed} missed; {figures['lost']:g} readings lost"


def crowd_table(rounds: list[tuple[int, Round]]) -> str:
    base = percentile(rounds[0][1].latencies_ms, 0.99)
    lines: list[tuple[str, ...]] = [("members", "p50 ms", "p99 ms", "p99 / 2 members", "lost")]
    doubled = None
    for size, measured in rounds:
        p99 = percentile(measured.latencies_ms, 0.99)
        if doubled is None and p99 >= 2 * base:
            doubled = size
        lines.append(
            (
                str(size),
                f"{percentile(measured.latencies_ms, 0.5):.2f}",
                f"{p99:.2f}",
                f"{p99 / base:.2f}",
                str(measured.lost),
            )
        )
    verdict = f"p99 doubles at {doubled} members" if doubled else "p99 does not double up to 32"
    return f"{format_table(lines, right={0, 1, 2, 3, 4})}\n\n{verdict}"


def print_profiles(folder: Path, names: Iterable[str]) -> None:
    for name in names:
        path = folder / f"{name}.prof"
        if path.exists():
            print(f"\n-- cProfile of {name} (by own time) --")
            pstats.Stats(str(path)).sort_stats("tottime").print_stats(15)


def load() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 shorter repeat")
    parser.add_argument("--profile", type=Path, help="cProfile the jwt bridge pair into here")
    options = parser.parse_args()
    settings = (
        BenchSettings(repeats=1, latency_count=2000, flood_count=5000, crowd_count=2000)
        if options.quick
        else BenchSettings(repeats=3, latency_count=4000, flood_count=10000, crowd_count=4000)
    )
    if options.profile is not None:
        options.profile.mkdir(parents=True, exist_ok=True)
    print(f"{load()} at the start, {os.cpu_count()} CPUs")
    started_at = time.perf_counter()
    broker = Broker()
    bench = Bench(broker, settings, options.profile)
    try:
        figures = bench.pairs()
        print(f"\n(1), (2): payload {bench.size} bytes, {settings.repeats} repeats\n")
        print(pair_table(figures))
        print("\n(3) members per broker, 1,000 readings/s from one sender\n")
        print(crowd_table(bench.crowds()))
    except RuntimeError as error:
        print(f"\nthe run stopped: {error}")
    finally:
        bench.close()
        broker.stop()
    print(f"\n{load()} at the end; {time.perf_counter() - started_at:.0f} s in all")
    if options.profile is not None:
        print_profiles(options.profile, ("bridge-jwt-a", "bridge-jwt-b"))


if __name__ == "__main__":
    main()
