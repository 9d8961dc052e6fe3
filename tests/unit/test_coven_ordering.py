"""Each sender's events handed on in the order they were sent: what comes after a gap
waits for the missing ones for a while, then goes on; nothing that arrives is lost."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phantom_gui.coven.ordering import SenderOrder


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def order_of(clock: Clock, **options: int) -> SenderOrder[str]:
    return SenderOrder(hold_s=1.0, clock=clock, **options)


def test_events_after_a_gap_wait_for_it_and_go_on_in_order_once_it_is_filled() -> None:
    order = order_of(Clock())
    assert order.arrive("a", 1, "1") == ["1"]
    assert order.arrive("a", 3, "3") == []
    assert order.arrive("a", 4, "4") == []
    assert order.held() == 2
    assert order.arrive("a", 2, "2") == ["2", "3", "4"]
    assert (order.held(), order.missed("a"), order.late("a")) == (0, 0, 0)
    assert order.wait_s() is None


def test_a_gap_not_filled_in_time_is_given_up_and_counted() -> None:
    clock = Clock()
    order = order_of(clock)
    order.arrive("a", 1, "1")
    order.arrive("a", 4, "4")
    clock.now = 0.4
    order.arrive("a", 5, "5")
    assert order.wait_s() == pytest.approx(0.6)
    assert order.release_due() == []
    clock.now = 1.0
    assert order.release_due() == ["4", "5"]
    assert order.missed("a") == order.missed_total == 2
    assert order.arrive("a", 2, "2") == ["2"], "a late event still goes on"
    assert order.late("a") == order.late_total == 1


def test_a_sender_holding_more_than_max_held_gives_its_gap_up_at_once() -> None:
    order = order_of(Clock(), max_held=2)
    order.arrive("a", 1, "1")
    assert order.arrive("a", 3, "3") == []
    assert order.arrive("a", 4, "4") == []
    assert order.arrive("a", 6, "6") == ["3", "4"]
    assert order.missed("a") == 1 and order.held() == 1


def test_senders_wait_apart_and_release_all_hands_on_everything_in_order() -> None:
    order = order_of(Clock())
    order.arrive("a", 1, "a1")
    order.arrive("b", 7, "b7")
    assert order.arrive("a", 3, "a3") == []
    assert order.arrive("b", 8, "b8") == ["b8"], "b's events do not wait for a's gap"
    order.arrive("a", 5, "a5")
    assert order.release_all() == ["a3", "a5"]
    assert order.missed("a") == 2 and order.held() == 0


def test_a_forgotten_sender_starts_afresh_and_the_least_recently_heard_goes_first() -> None:
    order = order_of(Clock(), max_senders=2)
    order.arrive("a", 1, "a1")
    order.arrive("b", 1, "b1")
    order.arrive("a", 2, "a2")
    order.arrive("c", 5, "c5")
    assert order.senders() == ["a", "c"]
    assert order.last("b") is None
    assert order.arrive("b", 9, "b9") == ["b9"]


@pytest.mark.parametrize("bad", [{"max_senders": 0}, {"max_held": -1}, {"max_held": True}])
def test_bad_bounds_are_refused(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be a positive integer"):
        SenderOrder(**bad)


arrivals = st.lists(
    st.tuples(st.sampled_from("abc"), st.integers(1, 40), st.floats(0, 0.7)), max_size=150
)


@given(arrivals, st.integers(1, 8))
def test_every_arrival_goes_on_once_and_each_sender_in_order_while_none_is_late(
    stream: list[tuple[str, int, float]], max_held: int
) -> None:
    clock = Clock()
    order: SenderOrder[tuple[str, int]] = SenderOrder(hold_s=1.0, max_held=max_held, clock=clock)
    sent: list[tuple[str, int]] = []
    handed: list[tuple[str, int]] = []
    for source, sequence, pause in stream:
        if (source, sequence) in sent:
            continue  # copies are SeenEvents' to drop
        clock.now += pause
        sent.append((source, sequence))
        handed += order.release_due()
        handed += order.arrive(source, sequence, (source, sequence))
        assert order.held() <= 3 * max_held
    handed += order.release_all()
    assert sorted(handed) == sorted(sent), "every arrival goes on exactly once"
    for source in "abc":
        numbers = [sequence for s, sequence in handed if s == source]
        late = order.late(source)
        in_order = sum(1 for x, y in pairwise(numbers) if y > x)
        assert in_order >= len(numbers) - 1 - late, "only late events break the order"
        if numbers:
            gaps = max(numbers) - min(numbers) + 1 - len(set(numbers))
            assert order.missed(source) <= gaps + late, "given up: missing or came late"


@given(st.permutations(range(2, 30)))
def test_a_shuffled_burst_within_the_wait_comes_out_in_order(shuffled: list[int]) -> None:
    order = order_of(Clock())
    handed = order.arrive("a", 1, "1")
    for sequence in shuffled:
        handed += order.arrive("a", sequence, str(sequence))
    assert handed == [str(n) for n in range(1, 30)]
    assert order.missed("a") == order.late("a") == 0
