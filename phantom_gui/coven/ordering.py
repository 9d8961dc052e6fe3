"""Each coven sender's events handed on in the order they were sent, in bounded memory.

One sender's events cross one MQTT session in order, but not always: when the broker
restarts, the events it had not yet delivered may come after newer ones. `SenderOrder`
holds what comes after a gap in a sender's sequence numbers until the gap is filled, or
for at most `hold_s` seconds (or `max_held` events): then it gives the missing numbers
up, counts them as missed, and hands on what it held. An event older than one handed on
already (it came after its gap was given up) is still handed on, late, and counted:
nothing that arrives is lost. Copies are for `SeenEvents` to drop before.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

HOLD_S = 1.0
"""How long events after a gap wait for the missing ones."""
MAX_HELD = 1_000
"""The most events of one sender waiting for a gap to be filled."""


@dataclass
class _Sender(Generic[T]):
    """What is known of one sender: the last number handed on, and what waits."""

    last: int
    held: dict[int, tuple[float, T]] = field(default_factory=dict)
    missed: int = 0
    late: int = 0


class SenderOrder(Generic[T]):
    """Hands on each sender's items in the order of their sequence numbers.

    `arrive` returns the items that may go on now, in order; `release_due` those whose
    wait is over (call it after `wait_s()`); `release_all` everything held. A sender's first
    item goes on whatever its number. The `max_senders` heard most recently are kept;
    one forgotten (or `forget`-ed) starts afresh, so a sender that restarts must come back
    under a new source id, since it counts from 1 again.
    """

    def __init__(
        self,
        max_senders: int = 10_000,
        *,
        hold_s: float = HOLD_S,
        max_held: int = MAX_HELD,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (("max_senders", max_senders), ("max_held", max_held)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"SenderOrder {name} must be a positive integer, got {value!r}")
        self.max_senders = max_senders
        self.hold_s = hold_s
        self.max_held = max_held
        self._clock = clock
        self._senders: OrderedDict[str, _Sender[T]] = OrderedDict()
        self._holding: set[str] = set()
        self.missed_total = 0
        """Numbers given up, all senders together, forgotten ones included."""
        self.late_total = 0
        """Items handed on late, all senders together, forgotten ones included."""

    def arrive(self, source: str, sequence: int, item: T) -> list[T]:
        """Take `source`'s item number `sequence`; the items that go on now, in order."""
        sender = self._senders.get(source)
        if sender is None:
            if len(self._senders) == self.max_senders:
                forgotten = next(iter(self._senders))
                self.forget(forgotten)
            self._senders[source] = _Sender(sequence)
            return [item]
        self._senders.move_to_end(source)
        if sequence <= sender.last:
            sender.late += 1
            self.late_total += 1
            return [item]
        if sequence > sender.last + 1:
            sender.held.setdefault(sequence, (self._clock(), item))
            self._holding.add(source)
            if len(sender.held) <= self.max_held:
                return []
            return self._give_up(source, sender)
        sender.last = sequence
        return [item, *self._consecutive(source, sender)]

    def wait_s(self) -> float | None:
        """Seconds until the longest wait ends (0 if it has); None when nothing waits."""
        waits = [_oldest(self._senders[source]) for source in self._holding]
        return max(min(waits) + self.hold_s - self._clock(), 0.0) if waits else None

    def release_due(self) -> list[T]:
        """The items whose wait for a gap is over, each sender's in order."""
        now = self._clock()
        released: list[T] = []
        for source in list(self._holding):
            sender = self._senders[source]
            while sender.held and _oldest(sender) + self.hold_s <= now:
                released += self._give_up(source, sender)
        return released

    def release_all(self) -> list[T]:
        """Every item held, each sender's in order (the gaps given up)."""
        released: list[T] = []
        for source in list(self._holding):
            sender = self._senders[source]
            while sender.held:
                released += self._give_up(source, sender)
        return released

    def missed(self, source: str) -> int:
        """How many of `source`'s numbers were given up (lost, or never sent)."""
        sender = self._senders.get(source)
        return 0 if sender is None else sender.missed

    def late(self, source: str) -> int:
        """How many of `source`'s items came after a later one had gone on."""
        sender = self._senders.get(source)
        return 0 if sender is None else sender.late

    def last(self, source: str) -> int | None:
        """The last number of `source` handed on in order, or None if none is known."""
        sender = self._senders.get(source)
        return None if sender is None else sender.last

    def held(self) -> int:
        """How many items wait now, all senders together."""
        return sum(len(self._senders[source].held) for source in self._holding)

    def forget(self, source: str) -> None:
        """Drop everything known of `source`, what it has waiting included."""
        self._senders.pop(source, None)
        self._holding.discard(source)

    def senders(self) -> list[str]:
        """The senders remembered, the least recently heard first."""
        return list(self._senders)

    def __len__(self) -> int:
        return len(self._senders)

    def _give_up(self, source: str, sender: _Sender[T]) -> list[T]:
        """Give up the numbers before the first one held; hand on the run from it."""
        first = min(sender.held)
        sender.missed += first - sender.last - 1
        self.missed_total += first - sender.last - 1
        sender.last = first
        return [sender.held.pop(first)[1], *self._consecutive(source, sender)]

    def _consecutive(self, source: str, sender: _Sender[T]) -> list[T]:
        """The held items that now follow the last one handed on."""
        ready: list[T] = []
        while sender.last + 1 in sender.held:
            sender.last += 1
            ready.append(sender.held.pop(sender.last)[1])
        if not sender.held:
            self._holding.discard(source)
        return ready


def _oldest(sender: _Sender[T]) -> float:
    """When the longest-waiting of `sender`'s held items arrived (the first one kept)."""
    return next(iter(sender.held.values()))[0]
