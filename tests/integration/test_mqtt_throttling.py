"""A device flooding one topic at full speed is throttled in the network process: the
excess is dropped and counted on ``mqtt/<id>/throttled``, while another topic's messages
at 10/s all arrive."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion

from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.coven.ratelimit import RateLimiter
from phantom_gui.mqtt.network_process import ProcessConnection
from phantom_gui.mqtt.throttling import THROTTLED_PATTERN

from support.mosquitto import MosquittoBroker
from support.waiting import until

FLOOD = 20_000
WINDOW = 500
CALM = 20


def publisher(
    broker: MosquittoBroker, client_id: str, window: int
) -> tuple[Client, threading.Semaphore]:
    """A connected QoS 1 paho client with at most `window` messages unacknowledged."""
    free = threading.Semaphore(window)
    client = Client(CallbackAPIVersion.VERSION2, client_id=client_id)
    client.max_inflight_messages_set(window)
    client.on_publish = lambda *_: free.release()
    client.connect(broker.host, broker.port)
    client.loop_start()
    return client, free


def send(broker: MosquittoBroker, topic: str, count: int, window: int, pause: float) -> None:
    """Publish `count` QoS 1 messages on `topic`, `pause` seconds apart; wait for every ack."""
    client, free = publisher(broker, f"sender-{topic.replace('/', '-')}", window)
    try:
        for number in range(count):
            assert free.acquire(timeout=30), "the broker stopped acknowledging"
            client.publish(topic, str(number).encode(), qos=1)
            time.sleep(pause)
        for _ in range(window):
            assert free.acquire(timeout=30), "the last messages were not acknowledged"
    finally:
        client.disconnect()
        client.loop_stop()


def test_a_flooded_topic_is_throttled_and_counted_while_a_calm_one_flows(
    make_mosquitto: Callable[..., MosquittoBroker], asyncio_loop: asyncio.AbstractEventLoop
) -> None:
    # lift mosquitto's queue limit so that every message reaches the network process
    broker = make_mosquitto(settings=["max_queued_messages 0"])
    hub = EventHub(asyncio_loop)
    received: dict[str, list[bytes]] = {"flood/sensor": [], "calm/sensor": []}
    throttled: list[SpectralEvent] = []
    granted: list[object] = []
    hub.on("mqtt/test/message").subscribe(
        lambda event: received[event.data.topic].append(event.data.payload)
    )
    hub.on(THROTTLED_PATTERN).subscribe(throttled.append)
    hub.on("mqtt/test/subscription").subscribe(granted.append)
    config = broker.config(subscriptions=[{"pattern": "#", "qos": 1}])
    connection = ProcessConnection(config, hub, RateLimiter(rate_per_s=100, burst=200))

    def dropped() -> int:
        return sum(event.data["count"] for event in throttled)

    async def scenario() -> None:
        connection.connect()
        await until(lambda: granted)
        await asyncio.gather(
            asyncio.to_thread(send, broker, "flood/sensor", FLOOD, WINDOW, 0.0),
            asyncio.to_thread(send, broker, "calm/sensor", CALM, 1, 0.1),
        )
        await until(lambda: len(received["calm/sensor"]) == CALM, timeout=60)
        await until(lambda: throttled, timeout=10)
        await asyncio.to_thread(connection.disconnect)  # the gate reports what it gathered
        await until(lambda: len(received["flood/sensor"]) + dropped() >= FLOOD)

    try:
        asyncio_loop.run_until_complete(asyncio.wait_for(scenario(), 180))
    finally:
        connection.disconnect()
        asyncio_loop.run_until_complete(asyncio_loop.shutdown_default_executor())

    assert received["calm/sensor"] == [str(n).encode() for n in range(CALM)]
    flood = received["flood/sensor"]
    assert 200 <= len(flood) < FLOOD
    assert flood == sorted(flood, key=int), "what passes keeps its order"
    reports = [event.data for event in throttled]
    assert {event.topic for event in throttled} == {"mqtt/test/throttled"}
    assert {event.source for event in throttled} == {"mqtt:test"}
    assert {report["topic"] for report in reports} == {"flood/sensor"}
    assert all(report["count"] > 0 for report in reports)
    assert reports[-1]["total"] == sum(report["count"] for report in reports)
    assert len(flood) + reports[-1]["total"] == FLOOD, "every message passed or was counted"
