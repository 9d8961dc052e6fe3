"""Which shared patterns overlap a pattern asked about, and the coven's events topics."""

from __future__ import annotations

import pytest

from phantom_gui.coven.topics import events_pattern, events_topic, patterns_overlap, sender_of


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ("chat/#", "chat/hello", True),
        ("chat/#", "chat", True),
        ("chat/+", "chat", False),
        ("chat/+/x", "chat/a/+", True),
        ("chat/a", "chat/b", False),
        ("#", "seance/level", True),
        ("cauldron/reading/+", "cauldron/sensor/#", False),
        ("a/b/c", "a/b", False),
    ],
)
def test_two_patterns_overlap_when_some_topic_matches_both(
    first: str, second: str, overlap: bool
) -> None:
    assert patterns_overlap(first, second) is overlap
    assert patterns_overlap(second, first) is overlap


def test_each_member_sends_on_its_own_events_topic() -> None:
    topic = events_topic("lab", "attic-0123abcd")
    assert topic == "phantom/coven/lab/events/attic-0123abcd"
    assert events_pattern("lab") == "phantom/coven/lab/events/+"
    assert sender_of("lab", topic) == "attic-0123abcd"
    assert sender_of("lab", "phantom/coven/lab/members/attic-0123abcd") is None
    with pytest.raises(ValueError, match="instance id"):
        events_topic("lab", "a/b")
