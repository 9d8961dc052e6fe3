"""A broker connection whose network loop runs in a child process.

paho spends some 50 µs of Python per message (reads, acknowledgements, bookkeeping). On a
thread of the app that time is taken under the GIL from the thread that parses, scores
and draws, and the two threads hand the GIL to each other several times per message; in
a child process it runs beside the app instead, on another core.

`ProcessConnection` has `Connection`'s interface. Its child (``python -m
phantom_gui.mqtt.network_process``, which imports only what a connection needs) runs a
`Connection` whose hub is a `RelayHub`: what the connection publishes (messages, states,
answers to subscriptions) reaches the app in order, in batches that paho's own thread
sends to the app (`RelayingClient`), and a reader thread hands each one to the real hub
with `publish_threadsafe`. Commands (publish, disconnect) go the other way. Both travel
on the child's `Channel`, whose end also ends the child when the app goes away (see
`phantom_gui.core.children`). A child that dies is reported as a failed connection, with
its exit code; `connect()` starts a new one.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import queue
import select
import signal
import threading
from collections.abc import Callable
from typing import Any

from paho.mqtt.client import Client, MQTTMessageInfo
from paho.mqtt.enums import MQTTErrorCode

from phantom_gui.core.channel import Channel
from phantom_gui.core.children import ChildProcess, orphaned, parent_channel
from phantom_gui.core.events import EventMetadata, SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.limits import Limiter
from phantom_gui.mqtt.check import ConnectionCheck, check_connection
from phantom_gui.mqtt.config import ConnectionConfig
from phantom_gui.mqtt.connection import Connection, Payload
from phantom_gui.mqtt.messages import MqttMessage
from phantom_gui.mqtt.states import ConnectionState, Status, connection_state, state_topic
from phantom_gui.mqtt.throttling import Throttled, TopicGate, throttled_topic

log = logging.getLogger("phantom.mqtt")

EVENT, PUBLISHED, DONE = "event", "published", "done"
"""What the child relays: a hub event, the outcome of a publish, the end."""
PUBLISH, DISCONNECT = "publish", "disconnect"
"""What the app asks of the child."""
MAX_BATCH = 256
"""The most messages the relay gathers before it sends them, however busy the stream."""
READ_CHUNK = 65_536
"""The bytes the network process asks its socket for at once."""
STOP_TIMEOUT_S = 5.0
"""How long `disconnect` waits for the child to close its connection before killing it."""

Item = tuple[Any, ...]


# -- in the child ---------------------------------------------------------------------------


class RelayHub:
    """Stands in for the hub in the network process: what is published goes to the app.

    Messages gather while paho reads a burst, and `flush` sends them as one batch:
    `RelayingClient` calls it on paho's own thread once nothing more waits to be read, or
    `MAX_BATCH` messages have gathered. A busy stream travels in large batches, a lone
    message at once, and no other thread takes part.
    Anything else (states, answers to subscriptions, publish outcomes) is sent at once,
    after the messages gathered before it. A full pipe blocks the sender: an app that
    falls behind slows paho's reading rather than growing a queue here.
    With a `gate`, a message its gate refuses is dropped here and never reaches the app.
    """

    def __init__(self, out: Channel, gate: TopicGate | None = None) -> None:
        self._out = out
        self._gate = gate
        self._lock = threading.Lock()
        self._gathered: list[Item] = []
        self._app_gone = False

    @property
    def gathered(self) -> int:
        """Messages waiting for `flush`."""
        return len(self._gathered)

    def publish_threadsafe(
        self,
        topic: str,
        data: Any = None,
        *,
        source: str,
        metadata: EventMetadata | None = None,
    ) -> None:
        """Relay an event for the app's hub (`metadata` is not carried)."""
        item = (EVENT, topic, data, source)
        if type(data) is MqttMessage:
            gate = self._gate
            if gate is not None and not gate.admit(data.topic):
                return
            with self._lock:
                self._gathered.append(item)
        else:
            self._send(item)

    def published(self, token: int, error: str | None) -> None:
        """Relay the outcome of the app's publish `token`: None once the broker has it."""
        self._send((PUBLISHED, token, error))

    def flush(self) -> None:
        """Send the messages gathered so far."""
        with self._lock:
            self._write()

    def close(self) -> None:
        """Send what is gathered, then the end."""
        self._send((DONE,))

    def _send(self, item: Item) -> None:
        with self._lock:
            self._gathered.append(item)
            self._write()

    def _write(self) -> None:
        batch, self._gathered = self._gathered, []
        if not batch or self._app_gone:
            return
        try:
            self._out.send(batch)
        except OSError:  # the app is gone; its end of the channel tells the main thread too
            self._app_gone = True


class RelayingClient(Client):
    """A paho client that reads what the broker has sent in one go and then has its
    `RelayHub` send the messages as one batch.

    paho reads one packet per pass of its network loop, and each pass costs a `select`,
    a wake-up of its socket pair and a round of housekeeping; reading on while more waits
    (up to `MAX_BATCH` messages) makes the network process cheaper per message than a
    bare paho client. The acknowledgements of a burst go out together on the next pass.
    paho also asks the socket for each packet's header a byte at a time; the client reads
    `READ_CHUNK` bytes at once and hands paho what it asks for from them, so a busy stream
    costs one system call per many packets rather than four per packet.
    """

    def __init__(self, *args: Any, relay: RelayHub, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._relay = relay
        self._unread = memoryview(b"")
        self._unread_from: object = None

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        """Read packets while more wait to be read (the bytes read already to the end),
        then send the messages read."""
        result = super().loop_read(max_packets)
        relay = self._relay
        while result == MQTTErrorCode.MQTT_ERR_SUCCESS and (
            self._buffered() or (relay.gathered < MAX_BATCH and self._more_to_read())
        ):
            result = super().loop_read(max_packets)
        relay.flush()
        return result

    def _sock_recv(self, bufsize: int) -> bytes:
        """At most `bufsize` bytes, from those read already, else from one read of the socket."""
        if not self._buffered():
            chunk = super()._sock_recv(READ_CHUNK)
            self._unread, self._unread_from = memoryview(chunk), self._sock
        taken = self._unread[:bufsize]
        self._unread = self._unread[bufsize:]
        return taken.tobytes()

    def _buffered(self) -> bool:
        """Whether bytes read from the current socket wait to be handed to paho."""
        return bool(self._unread) and self._unread_from is self._sock

    def _more_to_read(self) -> bool:
        sock = self.socket()
        if sock is None:
            return False
        pending = getattr(sock, "pending", None)  # bytes a TLS socket has decrypted already
        if pending is not None and pending():
            return True
        return bool(select.select([sock], [], [], 0)[0])


def serve(channel: Channel) -> None:
    """The child's work: receive the `ConnectionConfig` and the `Limiter` of its topics
    (or None), run a `Connection` to its broker and relay what it publishes, until the app
    says disconnect or goes away."""
    config: ConnectionConfig
    limiter: Limiter | None
    config, limiter = channel.receive()
    gate = None
    if limiter is not None:
        topic, source = throttled_topic(config.id), f"mqtt:{config.id}"

        def report(throttled: Throttled) -> None:
            relay.publish_threadsafe(topic, throttled, source=source)

        gate = TopicGate(limiter, report)
    relay = RelayHub(channel, gate)
    client_class = functools.partial(RelayingClient, relay=relay)
    connection = Connection(config, relay, client_class=client_class)
    connection.connect()
    settler = Settler(relay)
    try:
        while True:
            command = channel.receive()
            if command[0] == DISCONNECT:
                break
            settler.publish(connection, *command[1:])
    except (EOFError, OSError):
        orphaned()
    finally:
        settler.close()
        connection.disconnect()
        if gate is not None:
            gate.close()
        relay.close()


class Settler:
    """Tells the app when the broker has each message it published, in order, from one
    thread: QoS 1 and 2 acknowledgements come back in the order the messages went out."""

    def __init__(self, relay: RelayHub) -> None:
        self._relay = relay
        self._pending: queue.SimpleQueue[tuple[int, MQTTMessageInfo] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="phantom-mqtt-settle", daemon=True)
        self._thread.start()

    def publish(
        self, connection: Connection, token: int, topic: str, payload: Payload, *how: Any
    ) -> None:
        """Publish for the app's `token`; its outcome is relayed once known."""
        try:
            info = connection.publish(topic, payload, *how)
        except (RuntimeError, ValueError, TypeError) as error:
            self._relay.published(token, str(error))
            return
        self._pending.put((token, info))

    def close(self) -> None:
        """Stop once the messages published so far are settled (or the process ends)."""
        self._pending.put(None)

    def _run(self) -> None:
        while (item := self._pending.get()) is not None:
            token, info = item
            try:
                info.wait_for_publish()
            except (RuntimeError, ValueError) as error:
                self._relay.published(token, str(error))
            else:
                self._relay.published(token, None)


# -- in the app -----------------------------------------------------------------------------


class PublishReceipt:
    """What `ProcessConnection.publish` returns: like paho's `MQTTMessageInfo`, it says
    when the broker has the message."""

    def __init__(self) -> None:
        self._settled = threading.Event()
        self._error: str | None = None

    def wait_for_publish(self, timeout: float | None = None) -> None:
        """Wait until the message is sent (QoS 0) or acknowledged (QoS 1 and 2), at most
        `timeout` seconds; `RuntimeError` if it never will be."""
        if self._settled.wait(timeout) and self._error is not None:
            raise RuntimeError(self._error)

    def is_published(self) -> bool:
        """Whether the broker has the message."""
        return self._settled.is_set() and self._error is None

    def settle(self, error: str | None) -> None:
        """Record the outcome: None for published, else why not."""
        self._error = error
        self._settled.set()


class _NetworkChild:
    """One network process, its channel, and the thread that reads what it relays."""

    def __init__(
        self,
        config: ConnectionConfig,
        limiter: Limiter | None,
        relayed: Callable[[Item], None],
        exited: Callable[[_NetworkChild, dict[str, Any]], None],
    ) -> None:
        self._relayed = relayed
        self._exited = exited
        self.process = ChildProcess(__name__)
        self.finished = False
        """Whether the child relayed everything and said it was done."""
        self.send((config, limiter))
        self._reader = threading.Thread(
            target=self._read, name=f"phantom-mqtt-reader-{config.id}", daemon=True
        )
        self._reader.start()

    @property
    def running(self) -> bool:
        """True until the child has been reaped."""
        return self._reader.is_alive()

    def send(self, command: object) -> None:
        """Send `command` to the child (nothing if it has gone: the reader will tell)."""
        with contextlib.suppress(OSError):
            self.process.channel.send(command)

    def stop(self) -> None:
        """Ask the child to disconnect, wait for it, kill it if it does not end in time."""
        self.send((DISCONNECT,))
        self._reader.join(STOP_TIMEOUT_S)
        if self._reader.is_alive():
            self.process.kill()
            self._reader.join()

    def _read(self) -> None:
        relayed, channel = self._relayed, self.process.channel
        try:
            while True:
                for item in channel.receive():
                    if item[0] == DONE:
                        self.finished = True
                    else:
                        relayed(item)
        except (EOFError, OSError):
            pass
        except Exception:
            log.exception("the MQTT network process sent what the app could not read")
            self.process.kill()
        self._exited(self, self.process.reap())


class ProcessConnection:
    """A connection to one broker, run by a network process of its own (see the module).

    The interface and the hub events are `Connection`'s: each message received is an
    `MqttMessage` on ``mqtt/<id>/message``, state changes are `ConnectionState`s on
    ``mqtt/<id>/state`` and the broker's answers to subscriptions `SubscriptionOutcome`s.
    With a `limiter` (picklable: each network process gets its own copy), each topic's
    messages spend from its budget in the network process; those over it are dropped
    there and reported on ``mqtt/<id>/throttled`` (see `phantom_gui.mqtt.throttling`).
    """

    def __init__(
        self, config: ConnectionConfig, hub: EventHub, limiter: Limiter | None = None
    ) -> None:
        self.config = config
        self._limiter = limiter
        self._hub = hub
        self._state_topic = state_topic(config.id)
        self._source = f"mqtt:{config.id}"
        self._lock = threading.Lock()
        self._child: _NetworkChild | None = None
        self._stopping = False
        self._last_state: SpectralEvent | None = None
        self._receipts: dict[int, PublishReceipt] = {}
        self._tokens = itertools.count()
        self.state: ConnectionState = connection_state(
            config, Status.DISCONNECTED, "not connected yet"
        )
        """The latest state (also published on the hub)."""

    @property
    def is_active(self) -> bool:
        """Connected, or connecting and retrying (not stopped, not given up)."""
        child = self._child
        return child is not None and child.running and self.state.status is not Status.FAILED

    @property
    def pid(self) -> int | None:
        """The network process's id while it runs."""
        child = self._child
        return child.process.pid if child is not None and child.running else None

    def connect(self) -> None:
        """Start the network process, which starts connecting, and return at once; nothing
        if active."""
        with self._lock:
            if self.is_active:
                return
            self._release()
            self._stopping = False
            self._child = _NetworkChild(self.config, self._limiter, self._relayed, self._exited)

    def disconnect(self) -> SpectralEvent | None:
        """Close the connection and end its process (blocks up to about a second); return
        the final state's event, None if it was not started."""
        with self._lock:
            child = self._child
            if child is None:
                return None
            self._release()
        if child.finished and self._last_state is not None:
            return self._last_state
        return self._set_state(Status.DISCONNECTED, "closed by the user")

    def test(self, timeout: float = 5.0) -> ConnectionCheck:
        """Try this connection's settings once, on a separate client (blocks; see
        `check_connection`)."""
        return check_connection(self.config, timeout)

    def publish(
        self, topic: str, payload: Payload = None, qos: int = 1, retain: bool = False
    ) -> PublishReceipt:
        """Send a message (queued while reconnecting); `wait_for_publish()` on the result."""
        child = self._child
        if child is None or not child.running:
            raise RuntimeError(f"the MQTT connection {self.config.name!r} is not started")
        receipt = PublishReceipt()
        token = next(self._tokens)
        self._receipts[token] = receipt
        child.send((PUBLISH, token, topic, payload, qos, retain))
        return receipt

    def _release(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            self._stopping = True
            child.stop()

    # -- on the reader thread ---------------------------------------------------------------

    def _relayed(self, item: Item) -> None:
        if item[0] == EVENT:
            _, topic, data, source = item
            if topic != self._state_topic:
                self._hub.publish_threadsafe(topic, data, source=source)
                return
            self.state = data  # before the event: whoever it reaches may read `state`
            self._last_state = self._hub.publish_threadsafe(topic, data, source=source)
        else:
            _, token, error = item
            receipt = self._receipts.pop(token, None)
            if receipt is not None:
                receipt.settle(error)

    def _exited(self, child: _NetworkChild, info: dict[str, Any]) -> None:
        for token in list(self._receipts):
            self._receipts.pop(token).settle("the connection closed before the broker had it")
        if self._stopping or child.finished:
            return
        how = f"signal {info['signal']}" if "signal" in info else f"exit code {info['exitcode']}"
        self._set_state(Status.FAILED, f"its network process stopped unexpectedly ({how})")

    def _set_state(self, status: Status, reason: str) -> SpectralEvent:
        self.state = connection_state(self.config, status, reason)
        event = self._hub.publish_threadsafe(self._state_topic, self.state, source=self._source)
        self._last_state = event
        return event


def main() -> None:
    """Run as the network process, on the channel from the app."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is for the app, which stops us
    serve(parent_channel())


if __name__ == "__main__":
    main()
