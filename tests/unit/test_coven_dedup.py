"""De-duplication by event id and per-sender order, in bounded memory."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phantom_gui.coven.dedup import SeenEvents, SenderOrder

ids = st.lists(st.sampled_from([f"e{i}" for i in range(40)]), max_size=300)


@given(st.integers(min_value=1, max_value=20), ids)
def test_within_the_window_no_id_is_accepted_twice(capacity: int, stream: list[str]) -> None:
    seen = SeenEvents(capacity)
    accepted: list[str] = []
    for event_id in stream:
        if seen.first_time(event_id):
            accepted.append(event_id)
        window = accepted[-capacity:]
        assert len(window) == len(set(window))
        assert event_id in window
        assert len(seen) <= capacity


@given(st.integers(min_value=1, max_value=20), st.integers(min_value=0, max_value=40))
def test_an_id_older_than_the_window_may_come_again(capacity: int, newer: int) -> None:
    seen = SeenEvents(capacity)
    assert seen.first_time("old")
    for index in range(newer):
        assert seen.first_time(f"new-{index}")
    assert seen.first_time("old") is (newer >= capacity)


def test_a_repeat_does_not_renew_an_ids_place() -> None:
    seen = SeenEvents(2)
    assert [seen.first_time(i) for i in ("a", "b", "a", "c", "a")] == [
        True, True, False, True, True,
    ]  # fmt: skip


@pytest.mark.parametrize("capacity", [0, -1, 1.5, True])
def test_a_bad_capacity_is_refused(capacity: int) -> None:
    with pytest.raises(ValueError, match="capacity"):
        SeenEvents(capacity)


def test_one_senders_duplicates_and_old_numbers_are_dropped() -> None:
    order = SenderOrder()
    assert [order.accept("a", n) for n in (1, 2, 2, 1, 3)] == [True, True, False, False, True]
    assert order.refused("a") == 2
    assert order.last("a") == 3


def test_a_gap_is_counted_not_waited_for() -> None:
    order = SenderOrder()
    assert [order.accept("a", n) for n in (1, 4, 5, 9)] == [True, True, True, True]
    assert order.missed("a") == 5
    assert order.accept("a", 3) is False


def test_senders_are_independent() -> None:
    order = SenderOrder()
    assert order.accept("a", 10)
    assert order.accept("b", 1)
    assert order.missed("b") == 0


def test_a_forgotten_sender_starts_afresh() -> None:
    order = SenderOrder()
    order.accept("a", 5)
    order.forget("a")
    assert order.last("a") is None
    assert order.accept("a", 1)


@given(st.lists(st.tuples(st.sampled_from("abcdefgh"), st.integers(1, 30)), max_size=200))
def test_order_is_kept_per_sender_within_bounded_memory(events: list[tuple[str, int]]) -> None:
    order = SenderOrder(max_senders=3)
    for source, sequence in events:
        before = order.last(source)
        accepted = order.accept(source, sequence)
        assert accepted is (before is None or sequence > before)
        assert len(order) <= 3
    assert len(order.senders()) <= 3


def test_the_least_recently_heard_sender_is_forgotten_first() -> None:
    order = SenderOrder(max_senders=2)
    order.accept("a", 1)
    order.accept("b", 1)
    order.accept("a", 2)
    order.accept("c", 1)
    assert order.senders() == ["a", "c"]
