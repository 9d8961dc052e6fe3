"""Refusal reports are paced: the same refusal is reported at most once a second, and the
next report says how many were only counted."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from phantom_gui.coven.reporting import ReportPacer


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_is_reported_once_a_second_with_the_count_it_held_back() -> None:
    clock = Clock()
    pacer = ReportPacer(1.0, clock=clock)
    reports = []
    for step in range(3_000):
        clock.now = step / 1_000
        due = pacer.due(("intruder-1", "token", "forged"))
        if due is not None:
            reports.append(due)
    assert reports == [0, 999, 999]
    assert pacer.due(("intruder-1", "token", "expired")) == 0, "another reason is its own"


@given(st.lists(st.tuples(st.integers(0, 5), st.floats(0, 0.5)), max_size=300))
def test_every_refusal_is_reported_or_counted_in_a_later_report(
    steps: list[tuple[int, float]],
) -> None:
    clock = Clock()
    pacer = ReportPacer(1.0, clock=clock, max_keys=1_000)
    reported = {key: 0 for key in range(6)}
    for key, pause in steps:
        clock.now += pause
        due = pacer.due(key)
        if due is not None:
            reported[key] += 1 + due
    clock.now += 2.0
    for key in reported:
        held_back = pacer.due(key)
        assert held_back is not None
        reported[key] += held_back
    assert sum(reported.values()) == len(steps)


def test_it_forgets_the_oldest_keys_beyond_its_bound() -> None:
    clock = Clock()
    pacer = ReportPacer(1.0, clock=clock, max_keys=2)
    assert [pacer.due(key) for key in ("a", "b", "c")] == [0, 0, 0]
    assert pacer.due("a") == 0, "forgotten, so reported anew"
    assert pacer.due("c") is None
