"""The cauldron's topic tree: what arrived per topic, rates, bounds and charting choices."""

from __future__ import annotations

import pytest

from phantom_cauldron.topics import EXCERPT_BYTES, RATE_WINDOW_S, TopicTree, as_text
from phantom_gui.mqtt.messages import MqttMessage


def message(
    topic: str, at: float, payload: bytes = b"21.5", retained: bool = False, qos: int = 0
) -> MqttMessage:
    return MqttMessage("local", topic, payload, qos, retained, at)


def test_topics_form_a_tree_with_the_last_payload_count_and_retained_flag() -> None:
    tree = TopicTree()
    tree.record(message("tele/cauldron/SENSOR", 100.0, b'{"t": 1}', retained=True))
    tree.record(message("tele/cauldron/SENSOR", 101.0, b'{"t": 2}'))
    tree.record(message("tele/cauldron/STATE", 101.5, b"ON", qos=1))
    tree.record(message("tele", 102.0, b"parent too"))

    tele = tree.root.children[0]
    assert [node.name for node in tree.root.children] == ["tele"]
    assert [node.path for node in tele.children[0].children] == [
        "tele/cauldron/SENSOR",
        "tele/cauldron/STATE",
    ]
    sensor = tree.find("tele/cauldron/SENSOR")
    assert sensor is not None and sensor.stats is not None
    stats = sensor.stats
    assert (stats.count, stats.excerpt, stats.retained) == (2, '{"t": 2}', False)
    assert tele.stats is not None and tele.stats.excerpt == "parent too"
    assert tree.find("tele/cauldron") is tele.children[0]
    assert tree.find("tele/nothing") is None
    assert len(tree) == 3
    assert [node.path for node in tree.nodes] == [
        "tele",
        "tele/cauldron",
        "tele/cauldron/SENSOR",
        "tele/cauldron/STATE",
    ]


def test_payload_excerpts_are_short_and_binary_payloads_are_shown_as_hex() -> None:
    tree = TopicTree()
    tree.record(message("big", 1.0, b"x" * 100_000))
    tree.record(message("binary", 1.0, b"\xff\xfe31"))
    tree.record(message("protobuf", 1.0, b"\x0a\x04ab\x00c"))
    big, binary, protobuf = (tree.find(topic) for topic in ("big", "binary", "protobuf"))
    assert big is not None and big.stats is not None
    assert binary is not None and binary.stats is not None
    assert protobuf is not None and protobuf.stats is not None
    assert len(big.stats.payload) == EXCERPT_BYTES
    assert not big.stats.binary
    assert (binary.stats.excerpt, binary.stats.binary) == ("ff fe 33 31", True)
    assert protobuf.stats.excerpt == "0a 04 61 62 00 63", "valid UTF-8, but control bytes"


def test_text_cut_in_the_middle_of_a_character_stays_text() -> None:
    tree = TopicTree()
    tree.record(message("accents", 1.0, ("a" + "é" * EXCERPT_BYTES).encode()))
    tree.record(message("short", 1.0, "é".encode()[:1]))
    accents, short = tree.find("accents"), tree.find("short")
    assert accents is not None and accents.stats is not None
    assert short is not None and short.stats is not None
    assert accents.stats.payload[-1:] == "é".encode()[:1], "the excerpt cut the last é"
    assert accents.stats.excerpt == "a" + "é" * (EXCERPT_BYTES // 2 - 1)
    assert short.stats.excerpt == "c3", "a whole payload that ends mid-character is binary"
    assert as_text(b'{"t": 21.5}\r\n\t') == '{"t": 21.5}\r\n\t'


def test_the_rate_is_messages_per_second_over_the_window() -> None:
    tree = TopicTree()
    start = 1_000.0
    for i in range(200):
        tree.record(message("fast", start + i * 0.1))
    stats = tree.find("fast").stats  # type: ignore[union-attr]
    assert stats is not None

    assert stats.rate(start + 20.0) == pytest.approx(10.0)
    assert stats.rate(start + 20.0 + RATE_WINDOW_S / 2) == pytest.approx(5.0)
    assert stats.rate(start + 21.0 + RATE_WINDOW_S) == 0.0


def test_the_rate_forgets_seconds_skipped_between_messages() -> None:
    tree = TopicTree()
    for second in (0, 1, 2, 30, 31):
        tree.record(message("bursty", 5_000.0 + second))
    stats = tree.find("bursty").stats  # type: ignore[union-attr]
    assert stats is not None
    assert stats.rate(5_032.0) == pytest.approx(2 / RATE_WINDOW_S)


def test_the_tree_is_bounded_and_counts_what_it_ignores() -> None:
    tree = TopicTree(max_topics=3)
    for i in range(5):
        tree.record(message(f"sensor/{i}", 1.0))
    tree.record(message("sensor/0", 2.0))

    assert len(tree) == 3
    assert tree.ignored == 2
    assert tree.find("sensor/4") is None
    assert tree.find("sensor/0").stats.count == 2  # type: ignore[union-attr]


def test_everything_is_charted_until_the_user_chooses() -> None:
    tree = TopicTree()
    assert tree.is_charted("any/topic/at/all")
    assert tree.check_state("#") == "charted"


def test_unchecking_a_subtree_hides_it_and_a_nested_choice_wins() -> None:
    tree = TopicTree()
    tree.set_charted("tele/#", False)
    tree.set_charted("tele/cauldron/#", True)

    assert not tree.is_charted("tele")
    assert not tree.is_charted("tele/crypt/SENSOR")
    assert tree.is_charted("tele/cauldron/SENSOR")
    assert tree.is_charted("zigbee2mqtt/orb")
    assert tree.check_state("tele/#") == "mixed"
    assert tree.check_state("tele/cauldron/#") == "charted"
    assert tree.check_state("tele/crypt/#") == "hidden"
    assert tree.check_state("#") == "mixed"
    assert tree.choices() == {"tele/#": False, "tele/cauldron/#": True}


def test_a_choice_replaces_the_choices_below_it() -> None:
    tree = TopicTree()
    tree.set_charted("tele/cauldron/#", False)
    tree.set_charted("tele/crypt/#", False)
    revision = tree.choice_revision
    tree.set_charted("tele/#", True)

    assert tree.choices() == {}
    assert tree.is_charted("tele/cauldron/SENSOR")
    assert tree.choice_revision > revision
    tree.set_charted("#", False)
    assert tree.choices() == {"#": False}
    assert not tree.is_charted("anything")


def test_topics_with_empty_levels_have_their_own_choices() -> None:
    tree = TopicTree()
    tree.record(message("/lead/slash", 1.0))
    empty = tree.root.children[0]
    assert (empty.name, empty.pattern) == ("", "/#")
    tree.set_charted(empty.pattern, False)
    assert not tree.is_charted("/lead/slash")
    assert tree.is_charted("lead/slash")


def test_choices_survive_a_snapshot_and_only_subtree_patterns_are_choices() -> None:
    tree = TopicTree()
    tree.set_charted("home/+/temp/#", False)
    tree.set_charted("home/#", False)
    again = TopicTree()
    again.restore_choices(tree.choices())
    assert not again.is_charted("home/kitchen")
    with pytest.raises(ValueError, match="not a subtree pattern"):
        tree.set_charted("home/kitchen", False)
    with pytest.raises(ValueError, match="not a subtree pattern"):
        again.restore_choices({"home": True})
