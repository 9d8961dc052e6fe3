"""MQTT 3.1.1 topic matching: `topic_matches`, `TopicRouter` and the validators."""

from __future__ import annotations

import itertools
from collections import Counter

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from phantom_gui.core.topics import TopicRouter, topic_matches, validate_pattern, validate_topic


def reference_matches(pattern: str, topic: str) -> bool:
    """MQTT 3.1.1 §4.7 matching, written level by level without shortcuts."""
    pattern_levels = pattern.split("/")
    topic_levels = topic.split("/")
    if topic.startswith("$") and pattern_levels[0] in ("+", "#"):
        return False

    def match_from(p: int, t: int) -> bool:
        if p == len(pattern_levels):
            return t == len(topic_levels)
        level = pattern_levels[p]
        if level == "#":
            return True
        if t == len(topic_levels):
            return False
        if level == "+" or level == topic_levels[t]:
            return match_from(p + 1, t + 1)
        return False

    return match_from(0, 0)


TOPIC_LEVELS = ["a", "b", "", "$SYS", "$x", "sensor"]
PATTERN_LEVELS = [*TOPIC_LEVELS, "+"]

topic_level_lists = st.lists(st.sampled_from(TOPIC_LEVELS), min_size=1, max_size=4)
topics = topic_level_lists.map(lambda levels: "/".join(levels) or "a")


@st.composite
def derived_patterns(draw: st.DrawFn, topic: str) -> str:
    """A pattern made from `topic` by wildcarding, truncating and extending it."""
    levels = topic.split("/")
    out = []
    for level in levels:
        if draw(st.booleans()):
            out.append("+")
        elif draw(st.integers(0, 4)):
            out.append(level)
        else:
            out.append(draw(st.sampled_from(TOPIC_LEVELS)))
    cut = draw(st.integers(0, len(out)))
    tail = draw(st.sampled_from(["", "", "#", "#", "+", "a"]))
    if tail == "#":
        out = [*out[:cut], "#"]
    elif tail:
        out = [*out, tail]
    return "/".join(out) or "+"


random_patterns = st.builds(
    lambda levels, hash_: "/".join([*levels, "#"] if hash_ else levels) or "#",
    st.lists(st.sampled_from(PATTERN_LEVELS), min_size=0, max_size=4),
    st.booleans(),
)


@st.composite
def pattern_and_topic(draw: st.DrawFn) -> tuple[str, str]:
    """A topic and a pattern that often, but not always, matches it."""
    topic = draw(topics)
    pattern = draw(random_patterns if draw(st.integers(0, 3)) == 0 else derived_patterns(topic))
    return validate_pattern(pattern), topic


@settings(max_examples=400, deadline=None)
@given(pattern_and_topic())
def test_topic_matches_agrees_with_reference(case: tuple[str, str]) -> None:
    pattern, topic = case
    expected = reference_matches(pattern, topic)
    event("match" if expected else "no match")
    assert topic_matches(pattern, topic) is expected


def test_generated_cases_often_match() -> None:
    outcomes: list[bool] = []

    @settings(max_examples=300, deadline=None, database=None)
    @given(pattern_and_topic())
    def record(case: tuple[str, str]) -> None:
        outcomes.append(reference_matches(*case))

    record()
    assert len(outcomes) >= 100
    assert 0.2 * len(outcomes) <= sum(outcomes) <= 0.9 * len(outcomes)


def test_generated_router_runs_often_match() -> None:
    runs: list[int] = []

    @settings(max_examples=100, deadline=None, database=None)
    @given(operations, st.lists(topics, min_size=1, max_size=8))
    def record(ops: list[tuple[str, tuple[str, str], int]], final_topics: list[str]) -> None:
        runs.append(run_router_against_reference(ops, final_topics))

    record()
    assert len(runs) >= 50
    assert sum(1 for matched in runs if matched) >= 0.25 * len(runs)


def test_topic_matches_exhaustively_on_a_small_alphabet() -> None:
    levels = ["a", "", "$s"]
    topic_set = [
        "/".join(parts)
        for size in (1, 2, 3)
        for parts in itertools.product(levels, repeat=size)
        if "/".join(parts)
    ]
    pattern_set = [
        "/".join(parts)
        for size in (1, 2, 3)
        for parts in itertools.product([*levels, "+", "#"], repeat=size)
        if "/".join(parts) and "#" not in parts[:-1]
    ]
    matches = 0
    for pattern in pattern_set:
        for topic in topic_set:
            expected = reference_matches(pattern, topic)
            matches += expected
            assert topic_matches(pattern, topic) is expected, (pattern, topic)
    assert matches > len(pattern_set)


MQTT_EXAMPLES = [
    ("sport/tennis/player1/#", "sport/tennis/player1", True),
    ("sport/tennis/player1/#", "sport/tennis/player1/ranking", True),
    ("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", True),
    ("sport/#", "sport", True),
    ("#", "sport/tennis", True),
    ("sport/tennis/+", "sport/tennis/player1", True),
    ("sport/tennis/+", "sport/tennis/player1/ranking", False),
    ("sport/tennis/+", "sport/tennis", False),
    ("sport/+", "sport", False),
    ("sport/+", "sport/", True),
    ("+/+", "/finance", True),
    ("/+", "/finance", True),
    ("+", "/finance", False),
    ("+/tennis/#", "sport/tennis/player1", True),
    ("#", "$SYS/broker/uptime", False),
    ("+/monitor/Clients", "$SYS/monitor/Clients", False),
    ("$SYS/#", "$SYS/monitor/Clients", True),
    ("$SYS/monitor/+", "$SYS/monitor/Clients", True),
    ("a/$x", "a/$x", True),
    ("+/$x", "a/$x", True),
    ("a//b", "a//b", True),
    ("a/+/b", "a//b", True),
    ("a/b", "a/b/", False),
]


@pytest.mark.parametrize(("pattern", "topic", "expected"), MQTT_EXAMPLES)
def test_mqtt_specification_examples(pattern: str, topic: str, expected: bool) -> None:
    assert topic_matches(pattern, topic) is expected
    router: TopicRouter[str] = TopicRouter()
    router.add(pattern, "subscriber")
    assert router.match(topic) == (("subscriber",) if expected else ())


class Sub:
    """A distinct subscriber object, compared by identity."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Sub({self.name})"


operations = st.lists(
    st.tuples(
        st.sampled_from(["add", "add", "remove", "match"]), pattern_and_topic(), st.integers(0, 2)
    ),
    min_size=1,
    max_size=30,
)


def run_router_against_reference(
    ops: list[tuple[str, tuple[str, str], int]], final_topics: list[str]
) -> int:
    """Apply `ops` to a router and a reference model; return how many lookups matched."""
    router: TopicRouter[Sub] = TopicRouter()
    pool = [Sub(str(index)) for index in range(3)]
    model: list[tuple[str, Sub]] = []
    matched = 0

    def check(topic: str) -> None:
        expected = Counter(sub for pattern, sub in model if reference_matches(pattern, topic))
        got = router.match(topic)
        assert Counter(got) == expected, (topic, model)
        nonlocal matched
        matched += bool(got)

    for kind, (pattern, topic), index in ops:
        if kind == "add":
            router.add(pattern, pool[index])
            model.append((pattern, pool[index]))
            check(topic)
        elif kind == "remove":
            router.remove(pattern, pool[index])
            for position, (known, sub) in enumerate(model):
                if known == pattern and sub is pool[index]:
                    del model[position]
                    break
            check(topic)
        else:
            check(topic)
            check(pattern.replace("+", "a").replace("#", "b"))
        assert len(router) == len(model)
    for topic in final_topics:
        check(topic)
    for pattern, sub in list(model):
        router.remove(pattern, sub)
    assert len(router) == 0
    for topic in final_topics:
        assert router.match(topic) == ()
    return matched


@settings(max_examples=200, deadline=None)
@given(operations, st.lists(topics, min_size=1, max_size=8))
def test_router_agrees_with_reference(
    ops: list[tuple[str, tuple[str, str], int]], final_topics: list[str]
) -> None:
    matched = run_router_against_reference(ops, final_topics)
    event("router matched" if matched else "router never matched")


@pytest.mark.parametrize(
    "topic", ["", "a/+/b", "+", "a/#", "#", "a+", "sensor/#/x", "a\x00b", None, 5]
)
def test_validate_topic_rejects(topic: object) -> None:
    with pytest.raises(ValueError):
        validate_topic(topic)  # type: ignore[arg-type]


@pytest.mark.parametrize("topic", ["a", "/", "a//b", "$SYS/uptime", "a/b/c", " ", "é/ü"])
def test_validate_topic_accepts(topic: str) -> None:
    assert validate_topic(topic) == topic


@pytest.mark.parametrize(
    "pattern",
    ["", "a/#/b", "a+/b", "#/a", "a/b#", "a/#/", "a/+b", "++", "##", "a\x00", None],
)
def test_validate_pattern_rejects(pattern: object) -> None:
    with pytest.raises(ValueError):
        validate_pattern(pattern)  # type: ignore[arg-type]


@pytest.mark.parametrize("pattern", ["#", "+", "a/#", "+/+/#", "/", "a//+", "$SYS/#", "a/b"])
def test_validate_pattern_accepts(pattern: str) -> None:
    assert validate_pattern(pattern) == pattern


@pytest.mark.parametrize("pattern", ["a/b", "a/+", "a/#", "#"])
def test_removing_one_of_two_identical_subscriptions_keeps_the_other(pattern: str) -> None:
    router: TopicRouter[Sub] = TopicRouter()
    first, second = Sub("first"), Sub("second")
    router.add(pattern, first)
    router.add(pattern, second)
    assert router.match("a/b") == (first, second)
    router.remove(pattern, first)
    assert router.match("a/b") == (second,)
    assert len(router) == 1


def test_the_same_subscriber_twice_is_removed_once_at_a_time() -> None:
    router: TopicRouter[Sub] = TopicRouter()
    sub = Sub("twice")
    router.add("a/+", sub)
    router.add("a/+", sub)
    assert router.match("a/b") == (sub, sub)
    router.remove("a/+", sub)
    assert router.match("a/b") == (sub,)


def test_removing_unknown_subscriptions_changes_nothing() -> None:
    router: TopicRouter[Sub] = TopicRouter()
    sub, stranger = Sub("sub"), Sub("stranger")
    router.add("a/+/c", sub)
    router.remove("a/+/c", stranger)
    router.remove("a/+", sub)
    router.remove("x/#", sub)
    router.remove("a/b/c", sub)
    assert len(router) == 1
    assert router.match("a/b/c") == (sub,)


def test_removing_everything_prunes_the_router() -> None:
    router: TopicRouter[Sub] = TopicRouter()
    patterns = ["a/b", "a/+", "a/+/c/#", "a/#", "#", "+", "+/+/+", "$SYS/#", "a//+"]
    subs = [Sub(pattern) for pattern in patterns]
    for pattern, sub in zip(patterns, subs, strict=True):
        router.add(pattern, sub)
    assert len(router) == len(patterns)
    for pattern, sub in zip(patterns, subs, strict=True):
        router.remove(pattern, sub)
    assert len(router) == 0
    assert router._root.is_empty()
    assert router.match("a/b") == ()
    assert router.match("a/x/c/d") == ()


def test_exact_subscribers_come_before_wildcard_ones() -> None:
    router: TopicRouter[Sub] = TopicRouter()
    wild, exact = Sub("wild"), Sub("exact")
    router.add("a/#", wild)
    router.add("a/b", exact)
    assert router.match("a/b") == (exact, wild)


def test_cache_is_not_stale_after_wildcard_changes() -> None:
    router: TopicRouter[Sub] = TopicRouter()
    plus, hash_, exact = Sub("plus"), Sub("hash"), Sub("exact")
    router.add("a/+", plus)
    assert router.match("a/b") == (plus,)
    router.add("a/#", hash_)
    assert Counter(router.match("a/b")) == Counter([plus, hash_])
    router.add("a/b", exact)
    assert Counter(router.match("a/b")) == Counter([plus, hash_, exact])
    router.remove("a/+", plus)
    assert Counter(router.match("a/b")) == Counter([hash_, exact])
    router.remove("a/#", hash_)
    assert router.match("a/b") == (exact,)
    router.add("+/b", plus)
    assert Counter(router.match("a/b")) == Counter([exact, plus])
    assert router.match("$a/b") == ()


def test_cache_with_one_subscriber_on_overlapping_patterns() -> None:
    router: TopicRouter[Sub] = TopicRouter()
    sub = Sub("both")
    router.add("a/+", sub)
    assert router.match("a/b") == (sub,)
    router.add("a/#", sub)
    assert router.match("a/b") == (sub, sub)
    assert router.match("a") == (sub,)
    router.remove("a/+", sub)
    assert router.match("a/b") == (sub,)
    router.remove("a/+", sub)
    assert router.match("a/b") == (sub,)
    router.remove("a/#", sub)
    assert router.match("a/b") == ()
    assert router.match("a") == ()


def test_cache_overflow_keeps_answers_right(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TopicRouter, "CACHE_LIMIT", 4)
    router: TopicRouter[Sub] = TopicRouter()
    sub = Sub("sub")
    router.add("t/+", sub)
    for round_ in range(3):
        for index in range(10):
            assert router.match(f"t/{index}") == (sub,), round_
            assert router.match(f"u/{index}") == ()


def test_clear_returns_everyone_and_empties_the_router() -> None:
    router: TopicRouter[Sub] = TopicRouter()
    subs = {pattern: Sub(pattern) for pattern in ["a", "a/+", "#", "b/#"]}
    for pattern, sub in subs.items():
        router.add(pattern, sub)
    assert Counter(router.clear()) == Counter(subs.values())
    assert len(router) == 0
    assert router.match("a") == ()
