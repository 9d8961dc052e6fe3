"""De-duplication and per-sender order of coven events, in bounded memory.

At-least-once delivery (MQTT QoS 1) may hand the same event over twice; `SeenEvents`
drops the second copy by event id. One sender's events cross one MQTT session in order,
so `SenderOrder` drops a sequence number it has already passed and counts a gap instead
of waiting for what is missing.
"""

from __future__ import annotations

from collections import OrderedDict, deque


class SeenEvents:
    """The last `capacity` event ids heard: `first_time` says whether an id is new.

    An id is remembered for the next `capacity` new ids, then forgotten: a copy that
    arrives later than that is taken for a new event. A repeated id does not renew
    its place.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"SeenEvents capacity must be a positive integer, got {capacity!r}")
        self.capacity = capacity
        self._ids: set[str] = set()
        self._order: deque[str] = deque()

    def first_time(self, event_id: str) -> bool:
        """True the first time `event_id` is seen within the window, else False."""
        if event_id in self._ids:
            return False
        if len(self._order) == self.capacity:
            self._ids.discard(self._order.popleft())
        self._ids.add(event_id)
        self._order.append(event_id)
        return True

    def __len__(self) -> int:
        return len(self._order)


class SenderOrder:
    """Each sender's last sequence number, for the `max_senders` heard most recently.

    A sequence at or below the last one accepted is a duplicate or late: refused. A
    jump over missing numbers is accepted and the missing ones counted in `missed`.
    A sender forgotten (the least recently heard, past `max_senders`, or by `forget`)
    starts afresh; its next event is accepted whatever its number. A sender that
    restarts must come back under a new source id, since it counts from 1 again.
    """

    def __init__(self, max_senders: int = 10_000) -> None:
        if isinstance(max_senders, bool) or not isinstance(max_senders, int) or max_senders < 1:
            raise ValueError(
                f"SenderOrder max_senders must be a positive integer, got {max_senders!r}"
            )
        self.max_senders = max_senders
        self._last: OrderedDict[str, int] = OrderedDict()
        self._missed: dict[str, int] = {}
        self._refused: dict[str, int] = {}

    def accept(self, source: str, sequence: int) -> bool:
        """Whether `source`'s event number `sequence` comes after every one accepted."""
        last = self._last.get(source)
        if last is not None:
            self._last.move_to_end(source)
            if sequence <= last:
                self._refused[source] = self._refused.get(source, 0) + 1
                return False
            if sequence > last + 1:
                self._missed[source] = self._missed.get(source, 0) + sequence - last - 1
        elif len(self._last) == self.max_senders:
            self.forget(next(iter(self._last)))
        self._last[source] = sequence
        return True

    def missed(self, source: str) -> int:
        """How many of `source`'s sequence numbers were skipped over (lost or never sent)."""
        return self._missed.get(source, 0)

    def refused(self, source: str) -> int:
        """How many of `source`'s events came at or below a number already accepted."""
        return self._refused.get(source, 0)

    def last(self, source: str) -> int | None:
        """The last sequence number accepted from `source`, or None if none is known."""
        return self._last.get(source)

    def forget(self, source: str) -> None:
        """Drop everything known of `source` (it left the coven)."""
        self._last.pop(source, None)
        self._missed.pop(source, None)
        self._refused.pop(source, None)

    def senders(self) -> list[str]:
        """The senders remembered, the least recently heard first."""
        return list(self._last)

    def __len__(self) -> int:
        return len(self._last)
