"""One plain paho sender of sealed coven envelopes for `bench/coven_frames.py`, in a
process of its own, as another member (or an intruder with a valid token) would send them.

Run by `coven_frames.py` (``--kind``, ``--instance``, ``--coven``, ``--port``)::

    --kind calm:  sends `--topic` at `--rate` per second until ``quit`` or the end of
                  stdin, each event sealed as it goes with its send time
                  (``{"sent": time.time(), "seq": n}``)
    --kind flood: < prepare N   seals the next N events of `--topic` ahead of time
                  > prepared
                  < go RATE     publishes them at RATE per second (QoS 0)
                  > sent N SECONDS
                  < quit

Its token is minted with `SECRET` for the name before the instance's first hyphen, role
user; it says ``ready`` once connected.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import paho.mqtt.client as mqtt
from coven_member import SECRET, pace, say

from phantom_gui.coven.auth import AuthService
from phantom_gui.coven.envelope import new_envelope, seal
from phantom_gui.coven.topics import events_topic
from phantom_gui.mqtt.clients import send_at_once
from phantom_gui.mqtt.embedded import LOOPBACK


class Sender:
    """A connected paho client that publishes sealed envelopes as `instance`."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.sequence = 0
        self.prepared: list[bytes] = []
        """The flood's next events, sealed."""
        name = args.instance.split("-")[0]
        self.token = AuthService(SECRET).generate_token({"name": name, "role": "user"})
        self.topic = events_topic(args.coven, args.instance)
        connected = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=args.instance)
        self.client.max_queued_messages_set(0)
        self.client.on_socket_open = send_at_once
        self.client.on_connect = lambda *_: connected.set()
        self.client.connect(LOOPBACK, args.port)
        self.client.loop_start()
        if not connected.wait(30):
            raise RuntimeError(f"{args.instance} could not connect to port {args.port}")

    def sealed(self) -> bytes:
        """The next event, sealed now with its send time."""
        self.sequence += 1
        data = {"sent": time.time(), "seq": self.sequence}
        event = new_envelope(
            self.args.topic, data, source=self.args.instance, sequence=self.sequence,
            token=self.token,
        )  # fmt: skip
        return seal(event)

    def calm(self) -> None:
        """Send at `--rate` until a line (``quit``) or the end of stdin."""
        done = threading.Event()
        threading.Thread(target=lambda: (sys.stdin.readline(), done.set()), daemon=True).start()
        start = time.perf_counter()
        while not done.wait(max(0.0, start + self.sequence / self.args.rate - time.perf_counter())):
            self.client.publish(self.topic, self.sealed(), qos=1)

    def flood(self) -> None:
        """Seal and publish on command."""
        for line in sys.stdin:
            command = line.split()
            if command[0] == "prepare":
                self.prepared = [self.sealed() for _ in range(int(command[1]))]
                say("prepared")
            elif command[0] == "go":
                start = time.perf_counter()
                pace(len(self.prepared), float(command[1]), self._publish)
                say(f"sent {len(self.prepared)} {time.perf_counter() - start:.3f}")
            elif command[0] == "quit":
                break

    def _publish(self, index: int) -> None:
        self.client.publish(self.topic, self.prepared[index], qos=0)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--kind", choices=("calm", "flood"), required=True)
    parser.add_argument("--instance", required=True, help="<name>-<suffix>")
    parser.add_argument("--coven", required=True)
    parser.add_argument("--topic", required=True, help="the hub topic of its events")
    parser.add_argument("--rate", type=float, default=20.0, help="calm: events per second")
    args = parser.parse_args()
    sender = Sender(args)
    say("ready")
    try:
        sender.calm() if args.kind == "calm" else sender.flood()
    finally:
        sender.close()


if __name__ == "__main__":
    main()
