"""The channel to a child process, over real pipes within this process: frames, batches,
values too large for a pipe, unreadable values, the end, and a full pipe."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from phantom_gui.core.channel import Channel, UnreadableValue

from support.channels import channel_pair


@pytest.fixture
def ends() -> Iterator[tuple[Channel, Channel]]:
    """The app's end of a channel, and the child's."""
    with channel_pair() as pair:
        yield pair


class OnlyHere:
    """Pickles here, but cannot be unpickled: its class is gone by then."""

    def __reduce__(self) -> tuple[object, ...]:
        return (_gone, ())


def _gone() -> None:
    raise ImportError("no module named 'plugin_only'")


def test_values_arrive_in_order_both_ways(ends: tuple[Channel, Channel]) -> None:
    app, child = ends
    for number in range(100):
        app.send(("event", number))
    child.send(["done"])

    assert [child.receive() for _ in range(100)] == [("event", n) for n in range(100)]
    assert app.receive() == ["done"]


def test_poll_sees_frames_already_read_from_the_pipe(ends: tuple[Channel, Channel]) -> None:
    """Several frames come in one read; the later ones must not wait for more data."""
    app, child = ends
    assert not child.poll(0)
    app.send(1)
    app.send(2)

    assert child.poll(0) and child.receive() == 1
    assert child.poll(0) and child.receive() == 2
    assert not child.poll(0)


def test_a_value_larger_than_the_pipe_arrives_whole(ends: tuple[Channel, Channel]) -> None:
    app, child = ends
    large = bytes(range(256)) * 4096  # 1 MiB; a pipe holds 64 KiB
    sender = threading.Thread(target=lambda: [app.send(large), app.send("after")])
    sender.start()

    assert child.receive() == large
    assert child.receive() == "after"
    sender.join()


def test_a_batch_leaves_out_only_what_cannot_be_pickled(ends: tuple[Channel, Channel]) -> None:
    app, child = ends
    unpicklable = ("publish", "test/out", threading.Lock())

    dropped = app.send_batch([("beat",), unpicklable, ("ready",)])

    assert [item for item, _ in dropped] == [unpicklable]
    assert isinstance(dropped[0][1], TypeError)
    assert child.receive() == [("beat",), ("ready",)]


def test_an_unreadable_value_is_reported_and_the_next_one_arrives(
    ends: tuple[Channel, Channel],
) -> None:
    app, child = ends
    app.send([OnlyHere()])
    app.send(["readable"])

    with pytest.raises(UnreadableValue, match="ImportError: no module named 'plugin_only'"):
        child.receive()
    assert child.receive() == ["readable"]


def test_the_other_side_closing_is_the_end(ends: tuple[Channel, Channel]) -> None:
    app, child = ends
    app.send("last")
    app.close()

    assert child.poll(0)
    assert child.receive() == "last"
    assert child.poll(0)  # the end can be read without waiting
    with pytest.raises(EOFError):
        child.receive()
    with pytest.raises(BrokenPipeError):
        child.send("to no one")


def test_sending_on_a_closed_channel_raises(ends: tuple[Channel, Channel]) -> None:
    app, _ = ends
    app.close()

    with pytest.raises(OSError, match="closed"):
        app.send("late")


def test_a_full_pipe_blocks_the_sender_until_the_reader_catches_up(
    ends: tuple[Channel, Channel],
) -> None:
    """Back-pressure: a reader that falls behind slows the sender instead of a queue growing."""
    app, child = ends
    frame = b"x" * 1024
    sent = threading.Semaphore(0)

    def send_many() -> None:
        for _ in range(200):  # about three times what the pipe holds
            app.send(frame)
            sent.release()

    sender = threading.Thread(target=send_many)
    sender.start()
    count = 0
    while sent.acquire(timeout=0.5):
        count += 1
    assert 0 < count < 200, "the sender went on although nobody read"

    received = [child.receive() for _ in range(200)]

    sender.join()
    assert received == [frame] * 200
