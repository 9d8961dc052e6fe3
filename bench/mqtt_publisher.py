"""A device fleet for the benchmarks: publishes Tasmota-style telemetry to a broker.

Runs in its own process (so it does not share the measured process's GIL)::

    python bench/mqtt_publisher.py --port 1883 --count 100000 [--rate 1000] [--qos 1]

Each message is ``tele/bench-<n>/SENSOR`` with one DS18B20 temperature, its sequence
number and the send time in nanoseconds since the epoch (``Sent``), which the receiver
uses for latency. At most `--window` QoS 1 messages are unacknowledged at a time: paho
walks its queue of outgoing messages on every acknowledgement, so a small window
publishes fastest (200: ~6k msg/s here, 2,000: ~2.4k msg/s). Prints one line,
``published N in S s``, when done.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import deque

import paho.mqtt.client as mqtt

DEVICES = 8


def payload(sequence: int) -> bytes:
    """One telemetry message; its size is close to the baseline's ~87-byte JSON."""
    return json.dumps(
        {
            "Time": "2026-11-22T10:00:00",
            "Seq": sequence,
            "Sent": time.time_ns(),
            "DS18B20": {"Temperature": round(20 + (sequence % 100) / 10, 1)},
            "TempUnit": "C",
        },
        separators=(",", ":"),
    ).encode()


def main() -> None:
    """Connect, publish `--count` messages (paced at `--rate` per second if given), leave."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--rate", type=float, default=0.0, help="messages/s; 0: flat out")
    parser.add_argument("--qos", type=int, default=1)
    parser.add_argument("--window", type=int, default=200)
    args = parser.parse_args()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="phantom-bench-publisher")
    client.max_inflight_messages_set(args.window)
    client.connect(args.host, args.port)
    client.loop_start()
    pending: deque[mqtt.MQTTMessageInfo] = deque()
    start = time.perf_counter()
    for sequence in range(args.count):
        if args.rate:
            delay = start + sequence / args.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        topic = f"tele/bench-{sequence % DEVICES}/SENSOR"
        pending.append(client.publish(topic, payload(sequence), qos=args.qos))
        while len(pending) > args.window:
            pending.popleft().wait_for_publish(timeout=30)
    for info in pending:
        info.wait_for_publish(timeout=30)
    elapsed = time.perf_counter() - start
    client.disconnect()
    client.loop_stop()
    print(f"published {args.count} in {elapsed:.3f} s", flush=True)


if __name__ == "__main__":
    main()
