"""The live tree of MQTT topics seen, and which of them the user charts. Qt-free.

`TopicTree.record` runs once per message, so it touches only the message's own node:
a count, the start of the payload, and a per-second count for the rate. Views read
the tree on their own clock and compare `revision` (messages) and `choice_revision`
(charting choices) to know what changed. A payload that is not text (protobuf, CBOR,
an image) is shown as hex bytes, never as undecodable characters.

Charting choices are MQTT patterns of the form ``path/#`` (a topic and everything
below it) or ``#`` (every topic), each charted or not; the nearest choice above a
topic decides, and with no choices everything is charted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from phantom_gui.mqtt.messages import MqttMessage

MAX_TOPICS = 10_000
EXCERPT_BYTES = 160
RATE_WINDOW_S = 10
"""The rate is the mean over this many whole seconds before the current one."""

CheckState = Literal["charted", "hidden", "mixed"]
ALL = "#"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Characters no text payload carries (tabs and line breaks aside)."""


def as_text(payload: bytes, *, cut: bool = False) -> str | None:
    """`payload` as text, if it is UTF-8 text (a character cut off at its end allowed if it
    was `cut` from a longer payload); None if it is binary."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as error:
        if not (cut and error.reason == "unexpected end of data"):
            return None
        text = payload[: error.start].decode("utf-8")
    return None if _CONTROL.search(text) else text


def _below(pattern: str) -> str:
    """What the topics under the subtree `pattern` start with ("" for `#`)."""
    if pattern != ALL and not pattern.endswith("/#"):
        raise ValueError(f"{pattern!r} is not a subtree pattern ('#' or 'path/#')")
    return pattern[:-1]


class TopicStats:
    """What arrived on one topic: count, last payload (its start), rate, retained flag."""

    __slots__ = ("_counts", "_second", "count", "last_seen", "payload", "qos", "retained")

    def __init__(self) -> None:
        self.count = 0
        self.payload = b""
        self.retained = False
        self.qos = 0
        self.last_seen = 0.0
        self._counts = [0] * RATE_WINDOW_S
        self._second = 0
        """The latest whole second counted; `_counts[s % RATE_WINDOW_S]` is second `s`'s."""

    def record(self, message: MqttMessage) -> None:
        """Count `message` and keep what a view shows of it."""
        self.count += 1
        self.payload = message.payload[:EXCERPT_BYTES]
        self.retained = message.retained
        self.qos = message.qos
        self.last_seen = message.received_at
        second = int(message.received_at)
        if second > self._second:
            for skipped in range(max(self._second + 1, second - RATE_WINDOW_S + 1), second + 1):
                self._counts[skipped % RATE_WINDOW_S] = 0
            self._second = second
        elif second <= self._second - RATE_WINDOW_S:
            return
        self._counts[second % RATE_WINDOW_S] += 1

    @property
    def binary(self) -> bool:
        """Whether the last payload is not text (`excerpt` shows it as hex)."""
        return self._text() is None

    @property
    def excerpt(self) -> str:
        """The start of the last payload: as text, or as hex bytes (``ff fe 33 31``) if it
        is not text."""
        text = self._text()
        return self.payload.hex(" ") if text is None else text

    def _text(self) -> str | None:
        return as_text(self.payload, cut=len(self.payload) == EXCERPT_BYTES)

    def rate(self, now: float) -> float:
        """Messages per second: the mean over the `RATE_WINDOW_S` whole seconds before `now`'s."""
        current = int(now)
        first = max(current - RATE_WINDOW_S, self._second - RATE_WINDOW_S + 1)
        last = min(current - 1, self._second)
        if last < first:
            return 0.0
        counted = sum(self._counts[second % RATE_WINDOW_S] for second in range(first, last + 1))
        return counted / RATE_WINDOW_S


class TopicNode:
    """One level of the tree: a topic if messages arrived on it (`stats`), a parent if it has
    children (in order of arrival; `row` is the node's place among its siblings)."""

    __slots__ = ("_by_name", "children", "name", "parent", "path", "row", "stats")

    def __init__(self, name: str, path: str, parent: TopicNode | None, row: int) -> None:
        self.name = name
        self.path = path
        self.parent = parent
        self.row = row
        self.children: list[TopicNode] = []
        self.stats: TopicStats | None = None
        self._by_name: dict[str, TopicNode] = {}

    @property
    def pattern(self) -> str:
        """The subtree pattern of this node: `path/#`, or `#` for the root."""
        return ALL if self.parent is None else f"{self.path}/#"

    def child(self, name: str) -> TopicNode | None:
        """The child called `name`, if any."""
        return self._by_name.get(name)

    def add_child(self, name: str) -> TopicNode:
        """A new child called `name`, after the others."""
        path = name if self.parent is None else f"{self.path}/{name}"
        node = self._by_name[name] = TopicNode(name, path, self, len(self.children))
        self.children.append(node)
        return node


class TopicTree:
    """Every topic seen (at most `max_topics`; messages on further topics are counted in
    `ignored`), and the user's charting choices."""

    def __init__(self, max_topics: int = MAX_TOPICS) -> None:
        self.max_topics = max_topics
        self.root = TopicNode("", "", None, 0)
        self.nodes: list[TopicNode] = []
        """Every node but the root, in the order made (parents before their children)."""
        self.ignored = 0
        self.revision = 0
        self.choice_revision = 0
        self._topics: dict[str, TopicNode] = {}
        self._choices: dict[str, bool] = {}

    def record(self, message: MqttMessage) -> None:
        """Count `message` on its topic (added to the tree on first sight)."""
        node = self._topics.get(message.topic)
        if node is None:
            if len(self._topics) >= self.max_topics:
                self.ignored += 1
                return
            node = self._topics[message.topic] = self._make(message.topic)
        stats = node.stats
        if stats is None:
            stats = node.stats = TopicStats()
        stats.record(message)
        self.revision += 1

    def __len__(self) -> int:
        """How many topics messages arrived on."""
        return len(self._topics)

    def __iter__(self) -> Iterator[TopicNode]:
        """The topics' nodes, in order of first message."""
        return iter(self._topics.values())

    def find(self, topic: str) -> TopicNode | None:
        """The node of `topic` (a topic or a parent level), if in the tree."""
        node: TopicNode | None = self._topics.get(topic)
        if node is not None:
            return node
        node = self.root
        for name in topic.split("/"):
            node = node.child(name)
            if node is None:
                return None
        return node

    def is_charted(self, topic: str) -> bool:
        """Whether readings from `topic` go on the charts (the nearest choice above decides)."""
        choices = self._choices
        if not choices:
            return True
        levels = topic.split("/")
        for depth in range(len(levels), 0, -1):
            verdict = choices.get("/".join(levels[:depth]) + "/#")
            if verdict is not None:
                return verdict
        return choices.get(ALL, True)

    def set_charted(self, pattern: str, charted: bool) -> None:
        """Chart (or not) the subtree `pattern` (`path/#` or `#`); choices below it go.

        Raises `ValueError` for any other pattern.
        """
        below = _below(pattern)
        for key in [key for key in self._choices if key.startswith(below)]:
            del self._choices[key]
        if self._decides(pattern) != charted:
            self._choices[pattern] = charted
        self.choice_revision += 1

    def check_state(self, pattern: str) -> CheckState:
        """How a check box shows the subtree `pattern`: charted, hidden, or mixed (some of
        the topics below differ)."""
        below = _below(pattern)
        if any(key != pattern and key.startswith(below) for key in self._choices):
            return "mixed"
        return "charted" if self._decides(pattern) else "hidden"

    def choices(self) -> dict[str, bool]:
        """The charting choices, pattern to charted (a snapshot for hot reload)."""
        return dict(self._choices)

    def restore_choices(self, choices: dict[str, bool]) -> None:
        """Take back what `choices` returned; `ValueError` if a key is not a subtree pattern."""
        for pattern in choices:
            _below(pattern)
        self._choices = dict(choices)
        self.choice_revision += 1

    def _decides(self, pattern: str) -> bool:
        """Whether the subtree `pattern` is charted, by its own choice or the nearest above."""
        return self._choices.get(ALL, True) if pattern == ALL else self.is_charted(pattern[:-2])

    def _make(self, topic: str) -> TopicNode:
        node = self.root
        for name in topic.split("/"):
            child = node.child(name)
            if child is None:
                child = node.add_child(name)
                self.nodes.append(child)
            node = child
        return node
