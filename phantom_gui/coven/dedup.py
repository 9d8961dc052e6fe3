"""De-duplication of coven events, in bounded memory.

At-least-once delivery (MQTT QoS 1) may hand the same event over twice; `SeenEvents`
drops the second copy by event id (each sender's order is `phantom_gui.coven.ordering`'s).
"""

from __future__ import annotations

from collections import deque


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
