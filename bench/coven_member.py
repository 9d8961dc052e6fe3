"""One coven member for `bench/coven.py`, in a process of its own: a bridge, or bare paho.

Run by `coven.py`, which talks to it on stdin and stdout, one line each way::

    python bench/coven_member.py --port P --kind bridge --coven C --instance I [--auth jwt]

It prints ``ready`` once subscribed, then obeys commands:

- ``send N RATE``: publish N readings (paced at RATE per second, 0: flat out), each
  carrying its send time (``time.time()``) and sequence number; print ``sent``;
- ``expect N``: forget what was received and print ``expecting``; then print the result
  (JSON) once N readings have arrived; ``report`` prints it at once, with what has arrived;
- ``quit``: leave.

The result: ``received``, ``latencies_ms`` (send time to arrival, on the receiving hub's
thread for a bridge, in ``on_message`` for bare paho) and ``rate`` (readings per second
from the first one's send time to the last one's arrival).

A bridge member is a member as the app makes it: its own `EventHub` on an asyncio loop,
a `ProcessConnection` (paho in a network process of its own), a `CovenBridge` sharing
``cauldron/reading/#``. `--auth` picks the bridge's token checks: ``jwt`` (the `AuthService`, which
caches verified tokens), ``every`` (a signature check on every call) or ``open`` (accepts
everything). A bare member publishes on one topic at QoS 1, its payload padded to
`--size` bytes (a sealed envelope's size).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
import reactivex.operators as ops

from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.coven.auth import AuthService
from phantom_gui.coven.bridge import CovenBridge, with_bridge
from phantom_gui.coven.claims import Claims, TokenType
from phantom_gui.coven.roles import Role
from phantom_gui.mqtt.clients import send_at_once
from phantom_gui.mqtt.config import ConnectionConfig
from phantom_gui.mqtt.embedded import LOOPBACK
from phantom_gui.mqtt.messages import MqttMessage, message_topic
from phantom_gui.mqtt.network_process import ProcessConnection
from phantom_gui.mqtt.states import subscription_topic

SECRET = "a benchmark coven secret, 32 bytes or more"
TOPIC = "cauldron/reading/bench"
MEMBER = "bench"
"""Every member's token name. Its instance is ``bench-<--instance without hyphens>``: a
member's instance is its token's name, a hyphen and a suffix."""
BARE_TOPIC = "bench/bare"
WINDOW = 200
"""At most this many of a bare member's readings are unacknowledged (as in
`mqtt_publisher.py`: paho walks its queue of outgoing messages on every acknowledgement,
so an unbounded queue slows it down)."""
CHUNK = 100
"""A flat-out sender yields to its loop after this many readings."""


def reading(sequence: int) -> dict[str, Any]:
    """What a member shares: a sensor reading with its send time."""
    return {"sent": time.time(), "seq": sequence, "sensor": "cellar", "value": 21.5}


def bare_payload(sequence: int, size: int) -> bytes:
    """A reading as JSON, padded with spaces to `size` bytes."""
    return json.dumps(reading(sequence)).encode().ljust(size)


class Everything(AuthService):
    """Accepts every token: the bridge's cost without token checks."""

    CLAIMS = Claims(MEMBER, Role.USER, 0.0, float("inf"), "bench", "coven", "phantom")

    def verify(self, token: str) -> Claims:
        return self.CLAIMS

    def authorize(self, token: str, topic: str) -> Claims:
        return self.CLAIMS


class EveryTime(AuthService):
    """Checks the signature of every token, as a service without a cache would."""

    def verify(self, token: str) -> Claims:
        return self._decode(token, TokenType.ACCESS)


AUTHS: dict[str, type[AuthService]] = {"jwt": AuthService, "open": Everything, "every": EveryTime}


class Results:
    """The readings received since the last ``expect``."""

    def __init__(self) -> None:
        self.expected = 0
        self.latencies: list[float] = []
        self.first_sent = 0.0
        self.last_arrival = 0.0
        self.lock = threading.Lock()

    def expect(self, count: int) -> None:
        with self.lock:
            self.expected, self.latencies = count, []
        say("expecting")

    def add(self, sent: float) -> None:
        now = time.time()
        with self.lock:
            if not self.latencies:
                self.first_sent = sent
            self.latencies.append((now - sent) * 1000)
            self.last_arrival = now
            done = len(self.latencies) == self.expected
        if done:
            self.report()

    def report(self) -> None:
        with self.lock:
            received = len(self.latencies)
            span = self.last_arrival - self.first_sent
            result = {
                "received": received,
                "latencies_ms": [round(value, 3) for value in self.latencies],
                "rate": received / span if received and span > 0 else 0.0,
            }
            self.expected = -1
        say(json.dumps(result))


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def pace(count: int, rate: float, publish: Callable[[int], None]) -> None:
    """Publish `count` readings at `rate` per second (0: flat out), blocking."""
    start = time.perf_counter()
    for sequence in range(count):
        if rate:
            delay = start + sequence / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        publish(sequence)


# -- bare paho --------------------------------------------------------------------------------


def send_bare(client: mqtt.Client, size: int, count: int, rate: float) -> None:
    """Publish `count` readings of `size` bytes at `rate` (0: flat out), `WINDOW` at most
    unacknowledged."""
    pending: deque[mqtt.MQTTMessageInfo] = deque()

    def publish(sequence: int) -> None:
        pending.append(client.publish(BARE_TOPIC, bare_payload(sequence, size), 1))
        while len(pending) > WINDOW:
            pending.popleft().wait_for_publish(timeout=30)

    pace(count, rate, publish)


def run_bare(args: argparse.Namespace) -> None:
    results = Results()
    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=args.instance)
    client.max_inflight_messages_set(WINDOW)
    client.on_socket_open = send_at_once
    client.on_connect = lambda c, *_: c.subscribe(BARE_TOPIC, qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda _c, _u, message: results.add(json.loads(message.payload)["sent"])
    client.connect(LOOPBACK, args.port)
    client.loop_start()
    subscribed.wait(30)
    say("ready")
    for line in sys.stdin:
        command = line.split()
        if command[0] == "send":
            send_bare(client, args.size, int(command[1]), float(command[2]))
            say("sent")
        elif command[0] == "expect":
            results.expect(int(command[1]))
        elif command[0] == "report":
            results.report()
        elif command[0] == "quit":
            break
    client.disconnect()
    client.loop_stop()


# -- a bridge ---------------------------------------------------------------------------------


class BridgeMember:
    """A hub, a connection in its network process and a bridge, on `loop`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, args: argparse.Namespace) -> None:
        self.loop = loop
        self.hub = EventHub(loop)
        name = args.instance
        config = ConnectionConfig(
            id=name,
            name=name,
            host=LOOPBACK,
            port=args.port,
            client_id=f"phantom-{name}",
            subscriptions=(),
        )
        self.connection = ProcessConnection(with_bridge(config, args.coven), self.hub)
        auth = AUTHS[args.auth](SECRET)
        token = AuthService(SECRET).generate_token({"name": MEMBER, "role": "user"})
        messages = self.hub.on(message_topic(name)).pipe(ops.map(_message))
        self.bridge = CovenBridge(
            self.hub,
            self.connection,
            messages,
            coven=args.coven,
            instance=f"{MEMBER}-{name.replace('-', '')}",
            auth=auth,
            token=token,
            shares=("cauldron/reading/#",),
        )
        self.results = Results()
        self.hub.on(TOPIC).subscribe(self._arrived)
        self.subscribed = asyncio.Event()
        self.hub.on(subscription_topic(name)).subscribe(lambda _: self.subscribed.set())

    def _arrived(self, event: SpectralEvent) -> None:
        if "origin_realm" in event.metadata:
            self.results.add(event.data["sent"])

    async def send(self, count: int, rate: float) -> None:
        start = time.perf_counter()
        for sequence in range(count):
            if rate:
                delay = start + sequence / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            elif sequence % CHUNK == 0:
                await asyncio.sleep(0)
            self.hub.publish(TOPIC, reading(sequence), source="bench")
        say("sent")

    async def run(self) -> None:
        self.bridge.start()
        self.connection.connect()
        await asyncio.wait_for(self.subscribed.wait(), 60)
        say("ready")
        commands: asyncio.Queue[list[str]] = asyncio.Queue()
        threading.Thread(target=_read_stdin, args=(self.loop, commands), daemon=True).start()
        while (command := await commands.get())[0] != "quit":
            if command[0] == "send":
                await self.send(int(command[1]), float(command[2]))
            elif command[0] == "expect":
                self.results.expect(int(command[1]))
            elif command[0] == "report":
                self.results.report()
        self.bridge.stop()
        self.connection.disconnect()


def _message(event: SpectralEvent) -> MqttMessage:
    message: MqttMessage = event.data
    return message


def _read_stdin(loop: asyncio.AbstractEventLoop, commands: asyncio.Queue[list[str]]) -> None:
    for line in sys.stdin:
        loop.call_soon_threadsafe(commands.put_nowait, line.split())
    loop.call_soon_threadsafe(commands.put_nowait, ["quit"])


def run_bridge(args: argparse.Namespace) -> None:
    loop = asyncio.new_event_loop()
    member = BridgeMember(loop, args)
    loop.run_until_complete(member.run())
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--kind", choices=("bridge", "bare"), required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--coven", default="bench")
    parser.add_argument("--auth", choices=sorted(AUTHS), default="jwt")
    parser.add_argument("--size", type=int, default=0, help="a bare payload's size in bytes")
    parser.add_argument("--profile", help="write a cProfile of the run to this file")
    args = parser.parse_args()
    run = run_bridge if args.kind == "bridge" else run_bare
    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(run, args)
        profiler.dump_stats(args.profile)
    else:
        run(args)


if __name__ == "__main__":
    main()
