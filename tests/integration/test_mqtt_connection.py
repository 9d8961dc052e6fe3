"""A connection against a real mosquitto: messages, retained messages, credentials, TLS,
both protocol versions, a broker that dies and comes back, 20k QoS 1 messages, shutdown.

Each test runs twice: on a `Connection` (paho on a thread of this process) and on a
`ProcessConnection` (the same in a network process of its own, as the app runs it)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion

from phantom_gui.core.channel import Channel
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.mqtt.config import ConnectionConfig
from phantom_gui.mqtt.connection import Connection
from phantom_gui.mqtt.messages import MqttMessage
from phantom_gui.mqtt.network_process import ProcessConnection
from phantom_gui.mqtt.states import SubscriptionOutcome

from support.mosquitto import MosquittoBroker
from support.processes import children_of, command_line
from support.waiting import until

USERS = {"alice": "correct horse"}


class HubLog:
    """A hub on the test's loop, and every ``mqtt/#`` event it carried."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.hub = EventHub(loop)
        self.events: list[SpectralEvent] = []
        self.hub.on("mqtt/#").subscribe(self.events.append)

    def of(self, kind: str, connection: str = "test") -> list[Any]:
        """The payloads of ``mqtt/<connection>/<kind>`` events, in order."""
        topic = f"mqtt/{connection}/{kind}"
        return [event.data for event in self.events if event.topic == topic]

    def states(self, connection: str = "test") -> list[str]:
        return [state.status for state in self.of("state", connection)]

    def messages(self, connection: str = "test") -> list[MqttMessage]:
        return self.of("message", connection)

    def granted(self, connection: str = "test") -> int:
        return sum(1 for answer in self.of("subscription", connection) if answer.granted)


@pytest.fixture
def hub_log(asyncio_loop: asyncio.AbstractEventLoop) -> HubLog:
    return HubLog(asyncio_loop)


AnyConnection = Connection | ProcessConnection


@pytest.fixture(params=[Connection, ProcessConnection], ids=["thread", "process"])
def kind(request: pytest.FixtureRequest) -> type[AnyConnection]:
    return request.param  # type: ignore[no-any-return]


def network_processes() -> list[int]:
    """The ids of this process's children that are network processes."""
    return [
        pid
        for pid in children_of(os.getpid())
        if "phantom_gui.mqtt.network_process" in command_line(pid)
    ]


def assert_nothing_left(threads_before: set[threading.Thread]) -> None:
    """No thread or network process that the connections started is still there."""
    assert set(threading.enumerate()) <= threads_before
    assert network_processes() == []


@pytest.fixture
def connections(
    hub_log: HubLog, kind: type[AnyConnection]
) -> Iterator[Callable[..., AnyConnection]]:
    """Make connections on the hub; after the test each is disconnected, and no thread
    or process they started may be left."""
    threads_before = set(threading.enumerate())
    made: list[AnyConnection] = []

    def make(config: ConnectionConfig) -> AnyConnection:
        connection = kind(config, hub_log.hub)
        made.append(connection)
        return connection

    yield make
    for connection in made:
        connection.disconnect()
    hub_log.loop.run_until_complete(hub_log.loop.shutdown_default_executor())
    assert_nothing_left(threads_before)


def run(hub_log: HubLog, scenario: Coroutine[Any, Any, None], timeout: float = 60.0) -> None:
    hub_log.loop.run_until_complete(asyncio.wait_for(scenario, timeout))


def publish(
    broker: MosquittoBroker,
    topic: str,
    payload: bytes,
    *,
    qos: int = 1,
    retain: bool = False,
) -> None:
    """Publish one message from a separate plain paho client and wait for the broker's ack."""
    client = Client(CallbackAPIVersion.VERSION2, client_id="test-publisher")
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


# -- messages -----------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_message_reaches_the_hub_as_an_mqtt_message(
    mosquitto: MosquittoBroker, hub_log: HubLog, connections, protocol: str
) -> None:
    connection = connections(mosquitto.config(protocol=protocol))
    loop_thread = threading.get_ident()
    threads: list[int] = []
    hub_log.hub.on("mqtt/test/message").subscribe(lambda _: threads.append(threading.get_ident()))

    async def scenario() -> None:
        connection.connect()
        await until(lambda: hub_log.granted() == 1)
        before = time.time()
        await asyncio.to_thread(publish, mosquitto, "cauldron/kitchen/temperature", b"21.5")
        await until(lambda: hub_log.messages())

        [message] = hub_log.messages()
        assert message.connection == "test"
        assert message.topic == "cauldron/kitchen/temperature"
        assert message.payload == b"21.5" and type(message.payload) is bytes
        assert (message.qos, message.retained) == (1, False)
        assert before <= message.received_at <= time.time()

    run(hub_log, scenario())
    [event] = [e for e in hub_log.events if e.topic == "mqtt/test/message"]
    assert event.source == "mqtt:test"
    assert threads == [loop_thread]
    assert hub_log.states() == ["connecting", "connected"]
    [answer] = hub_log.of("subscription")
    assert answer == SubscriptionOutcome(
        connection="test", pattern="#", qos=1, granted=True, granted_qos=1, reason=""
    )


def test_a_retained_message_reaches_a_late_subscriber_marked_retained(
    mosquitto: MosquittoBroker, hub_log: HubLog, connections
) -> None:
    publish(mosquitto, "cauldron/lid", b"closed", retain=True)
    connection = connections(mosquitto.config(subscriptions=[{"pattern": "cauldron/+"}]))

    async def scenario() -> None:
        connection.connect()
        await until(lambda: hub_log.messages())
        await asyncio.to_thread(publish, mosquitto, "cauldron/lid", b"open")
        await until(lambda: len(hub_log.messages()) == 2)

    run(hub_log, scenario())
    late, live = hub_log.messages()
    assert (late.payload, late.retained) == (b"closed", True)
    assert (live.payload, live.retained) == (b"open", False)


def test_the_brokers_answer_to_each_subscription_is_reported(
    make_mosquitto: Callable[..., MosquittoBroker], hub_log: HubLog, connections
) -> None:
    broker = make_mosquitto(settings=["max_qos 1"])
    connection = connections(
        broker.config(
            protocol="5",
            subscriptions=[{"pattern": "a/#", "qos": 0}, {"pattern": "b/+", "qos": 2}],
        )
    )

    async def scenario() -> None:
        connection.connect()
        await until(lambda: len(hub_log.of("subscription")) == 2)

    run(hub_log, scenario())
    first, downgraded = hub_log.of("subscription")
    assert (first.pattern, first.qos, first.granted, first.granted_qos) == (
        "a/#",
        0,
        True,
        0,
    )
    assert (downgraded.pattern, downgraded.qos, downgraded.granted_qos) == ("b/+", 2, 1)


def test_publish_sends_through_the_connection(
    mosquitto: MosquittoBroker, hub_log: HubLog, connections
) -> None:
    connection = connections(mosquitto.config(subscriptions=[{"pattern": "brew/#"}]))

    async def scenario() -> None:
        connection.connect()
        await until(lambda: hub_log.granted() == 1)
        info = connection.publish("brew/command", b'{"recipe": "r-1"}', qos=1, retain=True)
        await asyncio.to_thread(info.wait_for_publish, 10)
        assert info.is_published()
        await until(lambda: hub_log.messages())

    run(hub_log, scenario())
    [message] = hub_log.messages()
    assert (message.topic, message.payload) == ("brew/command", b'{"recipe": "r-1"}')


def test_publishing_on_a_connection_never_started_is_refused(
    mosquitto: MosquittoBroker, connections
) -> None:
    with pytest.raises(RuntimeError, match="'Test broker' is not started"):
        connections(mosquitto.config()).publish("brew/command", b"go")


# -- credentials and TLS --------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_the_right_password_connects_and_a_wrong_one_fails_clearly(
    make_mosquitto: Callable[..., MosquittoBroker], hub_log: HubLog, connections, protocol: str
) -> None:
    broker = make_mosquitto(users=USERS)
    right = connections(
        broker.config(id="right", username="alice", password="correct horse", protocol=protocol)
    )
    wrong = connections(
        broker.config(id="wrong", username="alice", password="battery", protocol=protocol)
    )

    async def scenario() -> None:
        right.connect()
        wrong.connect()
        await until(lambda: "connected" in hub_log.states("right"))
        await until(lambda: "failed" in hub_log.states("wrong"))

    run(hub_log, scenario())
    failed = hub_log.of("state", "wrong")[-1]
    assert "refused" in failed.reason and "password" in failed.reason
    assert failed.message.startswith("Failed: ")
    assert not wrong.is_active  # refused credentials are not retried
    assert hub_log.states("wrong") == ["connecting", "failed"]


def test_tls_with_the_brokers_ca_connects_and_carries_messages(
    make_mosquitto: Callable[..., MosquittoBroker], hub_log: HubLog, connections
) -> None:
    broker = make_mosquitto(tls=True, users=USERS)
    connection = connections(broker.tls_config(username="alice", password="correct horse"))

    async def scenario() -> None:
        connection.connect()
        await until(lambda: hub_log.granted() == 1)
        await asyncio.to_thread(publish_with_login, broker, "vault/door", b"sealed")
        await until(lambda: hub_log.messages())

    run(hub_log, scenario())
    assert hub_log.messages()[0].payload == b"sealed"


def publish_with_login(broker: MosquittoBroker, topic: str, payload: bytes) -> None:
    client = Client(CallbackAPIVersion.VERSION2)
    client.username_pw_set("alice", USERS["alice"])
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_tls_with_a_wrong_ca_fails_and_names_the_certificate(
    make_mosquitto: Callable[..., MosquittoBroker], hub_log: HubLog, connections
) -> None:
    broker = make_mosquitto(tls=True)
    stranger = make_mosquitto(tls=True)  # its CA signed nothing that `broker` shows
    assert stranger.certificates is not None
    connection = connections(broker.tls_config(tls={"ca_file": stranger.certificates.ca_file}))

    async def scenario() -> None:
        connection.connect()
        await until(lambda: "failed" in hub_log.states())

    run(hub_log, scenario())
    reason = hub_log.of("state")[-1].reason
    assert reason.startswith("TLS error: the broker's certificate was not accepted")
    assert "check the CA file" in reason
    assert not connection.is_active


def test_mutual_tls_with_a_client_certificate_connects(
    make_mosquitto: Callable[..., MosquittoBroker], hub_log: HubLog, connections
) -> None:
    broker = make_mosquitto(tls=True, client_certificates=True)
    assert broker.certificates is not None
    certificates = broker.certificates
    connection = connections(
        broker.tls_config(
            tls={
                "cert_file": certificates.client_cert_file,
                "key_file": certificates.client_key_file,
            }
        )
    )

    async def scenario() -> None:
        connection.connect()
        await until(lambda: "connected" in hub_log.states())

    run(hub_log, scenario())
    assert connection.test(5).ok


def test_an_unknown_host_fails_as_a_dns_error(hub_log: HubLog, connections) -> None:
    config = ConnectionConfig(id="test", name="Nowhere", host="no-such-broker.invalid")
    connection = connections(config)

    async def scenario() -> None:
        connection.connect()
        await until(lambda: "failed" in hub_log.states(), timeout=30)

    run(hub_log, scenario())
    assert "cannot find the host 'no-such-broker.invalid'" in hub_log.of("state")[-1].reason


# -- reconnecting -----------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_broker_that_dies_and_returns_is_reconnected_and_resubscribed(
    mosquitto: MosquittoBroker, hub_log: HubLog, connections, protocol: str
) -> None:
    connection = connections(mosquitto.config(protocol=protocol))

    async def scenario() -> None:
        connection.connect()
        await until(lambda: hub_log.granted() == 1)
        mosquitto.kill()
        await until(lambda: "reconnecting" in hub_log.states())
        await asyncio.to_thread(mosquitto.start)  # the same port
        await until(lambda: hub_log.granted() == 2, timeout=30)
        await asyncio.to_thread(publish, mosquitto, "cauldron/after", b"1")
        await asyncio.to_thread(publish, mosquitto, "cauldron/sentinel", b"2")
        await until(lambda: len(hub_log.messages()) >= 2)

    run(hub_log, scenario())
    states = hub_log.states()
    assert states[:3] == ["connecting", "connected", "disconnected"]
    assert states[3] == "reconnecting" and states[-1] == "connected"
    assert set(states[3:-1]) == {"reconnecting"}
    waits = [state.retry_in for state in hub_log.of("state")[3:-1]]
    assert waits == [float(2**n) for n in range(len(waits))]  # 1, 2, 4 ... seconds
    assert "lost" in hub_log.of("state")[2].reason
    assert [m.topic for m in hub_log.messages()] == ["cauldron/after", "cauldron/sentinel"]


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_persistent_session_gets_what_was_sent_while_away(
    mosquitto: MosquittoBroker, hub_log: HubLog, connections, protocol: str
) -> None:
    config = mosquitto.config(protocol=protocol, clean_session=False, client_id="phantom-lab")
    first = connections(config)

    async def scenario() -> None:
        first.connect()
        await until(lambda: hub_log.granted() == 1)
        await asyncio.to_thread(first.disconnect)
        await asyncio.to_thread(publish, mosquitto, "cauldron/while-away", b"boo")
        connections(config).connect()
        await until(lambda: hub_log.messages())

    run(hub_log, scenario())
    assert [m.payload for m in hub_log.messages()] == [b"boo"]


# -- the network process -------------------------------------------------------------------


@pytest.mark.parametrize("kind", [ProcessConnection], ids=["process"])
def test_a_network_process_that_dies_fails_the_connection_and_connect_starts_another(
    mosquitto: MosquittoBroker, hub_log: HubLog, connections
) -> None:
    connection = connections(mosquitto.config(subscriptions=[{"pattern": "vat/#"}]))
    assert isinstance(connection, ProcessConnection)

    async def scenario() -> None:
        connection.connect()
        await until(lambda: hub_log.granted() == 1)
        first = connection.pid
        assert first is not None and network_processes() == [first]
        os.kill(first, signal.SIGKILL)
        await until(lambda: hub_log.states()[-1] == "failed")
        assert not connection.is_active and connection.pid is None
        connection.connect()
        await until(lambda: hub_log.granted() == 2)
        assert connection.pid not in (None, first)
        await asyncio.to_thread(publish, mosquitto, "vat/after", b"1")
        await until(lambda: hub_log.messages())

    run(hub_log, scenario())
    failed = hub_log.of("state")[hub_log.states().index("failed")]
    assert failed.reason == "its network process stopped unexpectedly (signal SIGKILL)"
    assert failed.connection == "test"
    assert [m.topic for m in hub_log.messages()] == ["vat/after"]


def test_a_network_process_whose_app_is_gone_disconnects_and_exits(
    mosquitto: MosquittoBroker,
) -> None:
    """The app died without a word: its end of the channel closes, and the child follows."""
    to_child, from_app = os.pipe()
    to_app, from_child = os.pipe()
    child = subprocess.Popen(
        [sys.executable, "-m", "phantom_gui.mqtt.network_process"],
        stdin=to_child,
        stdout=from_child,
    )
    os.close(to_child)
    os.close(from_child)
    commands = Channel(os.open(os.devnull, os.O_RDONLY), from_app)
    relays = Channel(to_app, os.open(os.devnull, os.O_WRONLY))
    commands.send((mosquitto.config(subscriptions=[{"pattern": "vat/#"}]), None))
    relayed: list[tuple[Any, ...]] = []

    def topics() -> list[str]:
        return [item[1] for item in relayed if item[0] == "event"]

    while "mqtt/test/subscription" not in topics():
        relayed += relays.receive()
    commands.close()
    try:
        with contextlib.suppress(EOFError):
            while True:
                relayed += relays.receive()
        assert child.wait(10) == 0
    finally:
        child.kill()
        relays.close()
    assert relayed[-1] == ("done",)
    states = [item[2].status for item in relayed if item[:2] == ("event", "mqtt/test/state")]
    assert states == ["connecting", "connected", "disconnected"]


def test_a_publish_the_broker_never_gets_says_so(
    mosquitto: MosquittoBroker, hub_log: HubLog, connections
) -> None:
    connection = connections(mosquitto.config())

    async def scenario() -> None:
        connection.connect()
        await until(lambda: hub_log.granted() == 1)
        mosquitto.stop()
        await until(lambda: hub_log.states()[-1] == "reconnecting")
        info = connection.publish("vat/lost", b"1", qos=1)
        await asyncio.to_thread(connection.disconnect)
        with pytest.raises(RuntimeError):
            info.wait_for_publish(5)

    run(hub_log, scenario())


# -- throughput -----------------------------------------------------------------------------

BURST = 20_000
WINDOW = 500


def publish_burst(broker: MosquittoBroker, topic: str, count: int, window: int) -> None:
    """Publish `count` QoS 1 messages with at most `window` unacknowledged at a time."""
    free = threading.Semaphore(window)
    client = Client(CallbackAPIVersion.VERSION2, client_id="burst-publisher")
    client.max_inflight_messages_set(window)
    client.on_publish = lambda *_: free.release()
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        for number in range(count):
            assert free.acquire(timeout=30), "the broker stopped acknowledging"
            client.publish(topic, str(number).encode(), qos=1)
        for _ in range(window):
            assert free.acquire(timeout=30), "the last messages were not acknowledged"
    finally:
        client.disconnect()
        client.loop_stop()


def test_twenty_thousand_qos1_messages_arrive_complete_and_in_order(
    make_mosquitto: Callable[..., MosquittoBroker], hub_log: HubLog, connections
) -> None:
    # mosquitto drops QoS 1 messages beyond 1000 queued for a subscriber that falls behind
    # the publisher (max_queued_messages); lift that limit so the test sees the app's losses.
    broker = make_mosquitto(settings=["max_queued_messages 0"])
    connection = connections(broker.config(subscriptions=[{"pattern": "burst/#", "qos": 1}]))
    payloads: list[bytes] = []
    hub_log.hub.on("mqtt/test/message").subscribe(lambda event: payloads.append(event.data.payload))

    async def scenario() -> None:
        connection.connect()
        await until(lambda: hub_log.granted() == 1)
        await asyncio.to_thread(publish_burst, broker, "burst/sensor", BURST, WINDOW)
        await until(lambda: len(payloads) >= BURST, timeout=120)

    run(hub_log, scenario(), timeout=180)
    assert payloads == [str(number).encode() for number in range(BURST)]


# -- shutdown -------------------------------------------------------------------------------


def test_disconnecting_while_retrying_ends_every_thread_and_process(
    mosquitto: MosquittoBroker, hub_log: HubLog, kind: type[AnyConnection]
) -> None:
    before = set(threading.enumerate())
    connection = kind(mosquitto.config(), hub_log.hub)

    async def scenario() -> None:
        connection.connect()
        await until(lambda: hub_log.granted() == 1)
        mosquitto.stop()
        await until(lambda: "reconnecting" in hub_log.states())
        await asyncio.to_thread(connection.disconnect)
        await until(lambda: hub_log.states()[-1] == "disconnected")

    run(hub_log, scenario())
    hub_log.loop.run_until_complete(hub_log.loop.shutdown_default_executor())
    assert_nothing_left(before)
    assert not connection.is_active
    assert hub_log.of("state")[-1].reason == "closed by the user"
