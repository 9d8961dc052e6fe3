"""MQTT-style topics and the router that finds the subscribers of a topic.

The grammar is MQTT 3.1.1's (section 4.7): levels separated by ``/``; in a
pattern ``+`` matches exactly one level and ``#`` (last, alone in its level) the
parent level and everything below it; a topic starting with ``$`` is not matched
by a pattern whose first level is a wildcard.

`TopicRouter` keeps exact patterns in a dict and wildcard patterns in a trie, and
caches the wildcard matches of each topic, so routing an event costs a dict lookup
whatever the number of subscriptions on other topics. A wildcard subscription
added or removed updates the cached topics it matches rather than emptying the
cache, and a full cache evicts its oldest entries.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import Generic, TypeVar

T = TypeVar("T")

SEPARATOR = "/"
SINGLE_LEVEL = "+"
MULTI_LEVEL = "#"


def validate_topic(topic: str) -> str:
    """Return `topic` if events may be published on it, else raise `ValueError`."""
    if not isinstance(topic, str) or not topic:
        raise ValueError(f"topic must be a non-empty string, got {topic!r}")
    if SINGLE_LEVEL in topic or MULTI_LEVEL in topic:
        raise ValueError(f"topic {topic!r}: wildcards '+' and '#' are only allowed in patterns")
    if "\x00" in topic:
        raise ValueError(f"topic {topic!r}: contains a NUL character")
    return topic


def validate_pattern(pattern: str) -> str:
    """Return `pattern` if it is a valid subscription pattern, else raise `ValueError`."""
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"pattern must be a non-empty string, got {pattern!r}")
    if "\x00" in pattern:
        raise ValueError(f"pattern {pattern!r}: contains a NUL character")
    levels = pattern.split(SEPARATOR)
    for index, level in enumerate(levels):
        if MULTI_LEVEL in level and (level != MULTI_LEVEL or index != len(levels) - 1):
            raise ValueError(f"pattern {pattern!r}: '#' must be the whole last level")
        if SINGLE_LEVEL in level and level != SINGLE_LEVEL:
            raise ValueError(f"pattern {pattern!r}: '+' must be a whole level")
    return pattern


def is_wildcard(pattern: str) -> bool:
    """True when `pattern` contains ``+`` or ``#``."""
    return SINGLE_LEVEL in pattern or MULTI_LEVEL in pattern


def topic_matches(pattern: str, topic: str) -> bool:
    """True when `topic` matches the (valid) subscription `pattern`."""
    if topic.startswith("$") and pattern[:1] in (SINGLE_LEVEL, MULTI_LEVEL):
        return False
    pattern_levels = pattern.split(SEPARATOR)
    topic_levels = topic.split(SEPARATOR)
    for index, level in enumerate(pattern_levels):
        if level == MULTI_LEVEL:
            return True
        if index >= len(topic_levels):
            return False
        if level != SINGLE_LEVEL and level != topic_levels[index]:
            return False
    return len(pattern_levels) == len(topic_levels)


@dataclass
class _TrieNode(Generic[T]):
    children: dict[str, _TrieNode[T]] = field(default_factory=dict)
    here: tuple[T, ...] = ()
    below: tuple[T, ...] = ()  # subscribers of "<this node>/#"

    def is_empty(self) -> bool:
        return not (self.children or self.here or self.below)


class TopicRouter(Generic[T]):
    """Maps subscription patterns to subscribers and finds the subscribers of a topic.

    Lookups read immutable tuples without locking; changes take a lock and swap
    in new tuples, so a lookup on one thread never sees a half-made change.
    """

    CACHE_LIMIT = 65_536
    CACHE_EVICTION = 0.25

    def __init__(self) -> None:
        self._exact: dict[str, tuple[T, ...]] = {}
        self._root: _TrieNode[T] = _TrieNode()
        self._wildcard_count = 0
        self._cache: dict[str, tuple[T, ...]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return sum(len(subs) for subs in self._exact.values()) + self._wildcard_count

    def add(self, pattern: str, subscriber: T) -> None:
        """Subscribe `subscriber` to the (already validated) `pattern`."""
        with self._lock:
            if not is_wildcard(pattern):
                self._exact[pattern] = (*self._exact.get(pattern, ()), subscriber)
                return
            node = self._root
            levels = pattern.split(SEPARATOR)
            for level in levels[:-1]:
                node = node.children.setdefault(level, _TrieNode())
            if levels[-1] == MULTI_LEVEL:
                node.below = (*node.below, subscriber)
            else:
                node = node.children.setdefault(levels[-1], _TrieNode())
                node.here = (*node.here, subscriber)
            self._wildcard_count += 1
            for topic, cached in self._cache.items():
                if topic_matches(pattern, topic):
                    self._cache[topic] = (*cached, subscriber)

    def remove(self, pattern: str, subscriber: T) -> None:
        """Unsubscribe `subscriber` from `pattern`; unknown pairs are ignored."""
        with self._lock:
            if not is_wildcard(pattern):
                remaining = _without(self._exact.get(pattern, ()), subscriber)
                if remaining:
                    self._exact[pattern] = remaining
                else:
                    self._exact.pop(pattern, None)
                return
            path = [self._root]
            levels = pattern.split(SEPARATOR)
            for level in levels if levels[-1] != MULTI_LEVEL else levels[:-1]:
                child = path[-1].children.get(level)
                if child is None:
                    return
                path.append(child)
            node = path[-1]
            before = len(node.below) + len(node.here)
            if levels[-1] == MULTI_LEVEL:
                node.below = _without(node.below, subscriber)
            else:
                node.here = _without(node.here, subscriber)
            removed = before - (len(node.below) + len(node.here))
            self._wildcard_count -= removed
            self._prune(path, levels)
            if removed:
                for topic, cached in self._cache.items():
                    if topic_matches(pattern, topic):
                        self._cache[topic] = _without(cached, subscriber)

    def clear(self) -> tuple[T, ...]:
        """Remove every subscription and return the subscribers that were there."""
        with self._lock:
            everyone = [sub for subs in self._exact.values() for sub in subs]
            everyone.extend(_walk(self._root))
            self._exact = {}
            self._root = _TrieNode()
            self._wildcard_count = 0
            self._cache = {}
            return tuple(everyone)

    def match(self, topic: str) -> tuple[T, ...]:
        """All subscribers whose pattern matches `topic` (exact ones first)."""
        exact = self._exact.get(topic, ())
        if not self._wildcard_count:
            return exact
        wild = self._cache.get(topic)
        if wild is None:
            wild = self._match_and_cache(topic)
        return exact + wild if exact else wild

    def _match_and_cache(self, topic: str) -> tuple[T, ...]:
        with self._lock:
            cache = self._cache
            wild = tuple(self._match_trie(topic))
            if len(cache) >= self.CACHE_LIMIT:
                evict = max(1, int(self.CACHE_LIMIT * self.CACHE_EVICTION))
                for stale in list(islice(cache, evict)):
                    del cache[stale]
            cache[topic] = wild
            return wild

    def _match_trie(self, topic: str) -> Iterable[T]:
        levels = topic.split(SEPARATOR)
        dollar = topic.startswith("$")
        nodes = [self._root]
        for depth, level in enumerate(levels):
            next_nodes = []
            for node in nodes:
                if not (dollar and depth == 0):
                    yield from node.below
                    plus = node.children.get(SINGLE_LEVEL)
                    if plus is not None:
                        next_nodes.append(plus)
                child = node.children.get(level)
                if child is not None:
                    next_nodes.append(child)
            if not next_nodes:
                return
            nodes = next_nodes
        for node in nodes:
            yield from node.here
            yield from node.below  # "a/#" matches "a" itself

    def _prune(self, path: list[_TrieNode[T]], levels: list[str]) -> None:
        keys = levels if levels[-1] != MULTI_LEVEL else levels[:-1]
        for depth in range(len(path) - 1, 0, -1):
            if not path[depth].is_empty():
                return
            del path[depth - 1].children[keys[depth - 1]]


def _walk(node: _TrieNode[T]) -> Iterable[T]:
    yield from node.here
    yield from node.below
    for child in node.children.values():
        yield from _walk(child)


def _without(subscribers: tuple[T, ...], subscriber: T) -> tuple[T, ...]:
    """`subscribers` less the first occurrence of `subscriber`."""
    for index, candidate in enumerate(subscribers):
        if candidate is subscriber:
            return subscribers[:index] + subscribers[index + 1 :]
    return subscribers
