"""`publish_threadsafe`: events from any thread are delivered on the loop's thread."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import INBOX_POLL_S, EventHub

THREADS = 8
EVENTS_PER_THREAD = 5000


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def run_briefly(loop: asyncio.AbstractEventLoop) -> None:
    """Run the loop long enough for the hub to look at its inbox a few more times."""
    for _ in range(3):
        loop.run_until_complete(asyncio.sleep(INBOX_POLL_S * 2))


def start_publishers(
    hub: EventHub, threads: int, per_thread: int, topic: str = "worker/{thread}"
) -> list[threading.Thread]:
    """Start `threads` threads that each publish `per_thread` numbered events."""
    barrier = threading.Barrier(threads)

    def publish(thread: int) -> None:
        barrier.wait()
        for sequence in range(per_thread):
            hub.publish_threadsafe(
                topic.format(thread=thread), (thread, sequence), source=f"thread-{thread}"
            )

    workers = [
        threading.Thread(target=publish, args=(index,), name=f"publisher-{index}")
        for index in range(threads)
    ]
    for worker in workers:
        worker.start()
    return workers


def test_every_event_arrives_once_in_order_on_the_loop_thread(
    loop: asyncio.AbstractEventLoop,
) -> None:
    hub = EventHub()
    hub.bind_loop(loop)
    total = THREADS * EVENTS_PER_THREAD
    loop_thread = threading.get_ident()
    received: list[tuple[int, int]] = []
    delivery_threads: set[int] = set()
    done = loop.create_future()

    def receive(event: SpectralEvent) -> None:
        delivery_threads.add(threading.get_ident())
        received.append(event.data)
        if len(received) == total and not done.done():
            done.set_result(None)

    hub.on("worker/+").subscribe(receive)
    workers = start_publishers(hub, THREADS, EVENTS_PER_THREAD)
    loop.run_until_complete(asyncio.wait_for(done, timeout=120))
    for worker in workers:
        worker.join()
    run_briefly(loop)

    assert len(received) == total
    assert set(received) == {
        (thread, sequence) for thread in range(THREADS) for sequence in range(EVENTS_PER_THREAD)
    }
    for thread in range(THREADS):
        sequences = [sequence for sender, sequence in received if sender == thread]
        assert sequences == list(range(EVENTS_PER_THREAD))
    assert delivery_threads == {loop_thread}
    assert hub.published_count == total
    assert list(hub.dead_letters) == []


def test_nothing_is_delivered_before_the_loop_runs(loop: asyncio.AbstractEventLoop) -> None:
    hub = EventHub(loop)
    seen: list[SpectralEvent] = []
    hub.on("x").subscribe(seen.append)

    sent = hub.publish_threadsafe("x", 1, source="test")
    assert seen == []
    run_briefly(loop)
    assert seen == [sent]


def test_a_backlog_is_delivered_in_slices_that_let_other_callbacks_run(
    loop: asyncio.AbstractEventLoop,
) -> None:
    """A slow subscriber and a backlog: a timer callback queued behind the backlog runs
    after a slice of it, not after all of it."""
    hub = EventHub(loop, inbox_slice_s=0.005)
    delivered: list[int] = []

    def slow(event: SpectralEvent) -> None:
        delivered.append(event.data)
        time.sleep(0.0005)

    hub.on("backlog").subscribe(slow)
    for number in range(1000):
        hub.publish_threadsafe("backlog", number, source="test")
    seen_by_timer: list[int] = []
    loop.call_soon(lambda: seen_by_timer.append(len(delivered)))

    loop.run_until_complete(asyncio.sleep(0))
    run_briefly(loop)
    while len(delivered) < 1000:
        run_briefly(loop)

    assert 0 < seen_by_timer[0] < 1000
    assert delivered == list(range(1000))


def test_publish_threadsafe_needs_a_loop() -> None:
    hub = EventHub()
    with pytest.raises(RuntimeError, match="bind_loop"):
        hub.publish_threadsafe("x", source="test")


def test_publish_threadsafe_validates_the_topic(loop: asyncio.AbstractEventLoop) -> None:
    hub = EventHub(loop)
    with pytest.raises(ValueError):
        hub.publish_threadsafe("x/+", source="test")


def test_a_full_inbox_dead_letters_the_overflow(loop: asyncio.AbstractEventLoop) -> None:
    hub = EventHub(inbox_capacity=10, dead_letter_capacity=1000)
    hub.bind_loop(loop)
    seen: list[SpectralEvent] = []
    hub.on("x/#").subscribe(seen.append)

    sent = [hub.publish_threadsafe("x/y", index, source="test") for index in range(25)]
    run_briefly(loop)

    assert seen == sent[:10]
    overflow = [letter for letter in hub.dead_letters if letter.reason == "inbox full"]
    assert [letter.event for letter in overflow] == sent[10:]
    assert hub.dead_letter_total == 15

    again = hub.publish_threadsafe("x/y", "after", source="test")
    run_briefly(loop)
    assert seen[-1] == again


def test_overflow_from_many_threads_loses_nothing(loop: asyncio.AbstractEventLoop) -> None:
    threads, per_thread = 4, 2000
    hub = EventHub(inbox_capacity=50, inbox_batch=7, dead_letter_capacity=threads * per_thread)
    hub.bind_loop(loop)
    delivered: list[tuple[int, int]] = []
    hub.on("worker/+").subscribe(lambda event: delivered.append(event.data))

    workers = start_publishers(hub, threads, per_thread)

    async def until_publishers_finish() -> None:
        while any(worker.is_alive() for worker in workers):
            await asyncio.sleep(0)

    loop.run_until_complete(until_publishers_finish())
    for worker in workers:
        worker.join()
    run_briefly(loop)

    dead = [letter.event.data for letter in hub.dead_letters]
    assert {letter.reason for letter in hub.dead_letters} <= {"inbox full"}
    assert len(delivered) >= 50
    assert len(delivered) + hub.dead_letter_total == threads * per_thread
    assert len(dead) == hub.dead_letter_total
    assert sorted(delivered + dead) == [
        (thread, sequence) for thread in range(threads) for sequence in range(per_thread)
    ]
    for thread in range(threads):
        sequences = [sequence for sender, sequence in delivered if sender == thread]
        assert sequences == sorted(sequences)
