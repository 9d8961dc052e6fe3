"""De-duplication by event id, in bounded memory."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from phantom_gui.coven.dedup import SeenEvents

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
