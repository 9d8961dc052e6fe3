"""How often refusals are reported: every refusal is counted, but the same refusal (one
member, one kind, one reason) is logged and published (and so audited) at most once per
`REPORT_INTERVAL_S`, the next report saying how many went unreported. A flood of forged
envelopes cannot flood the log, and each different reason is still reported."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

REPORT_INTERVAL_S = 1.0
MAX_KEYS = 1024
"""Refusals remembered; the one reported longest ago is forgotten first."""


class ReportPacer:
    """Says when a key's next report is due and how many went unreported before it."""

    def __init__(
        self,
        interval_s: float = REPORT_INTERVAL_S,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._max_keys = max_keys
        self._keys: OrderedDict[Hashable, list[float]] = OrderedDict()

    def due(self, key: Hashable) -> int | None:
        """None while `key` was reported within the interval (this one is only counted as
        unreported); else the number unreported since its last report (0 for a first)."""
        now = self._clock()
        entry = self._keys.get(key)
        if entry is not None and now - entry[0] < self.interval_s:
            entry[1] += 1
            return None
        unreported = 0 if entry is None else int(entry[1])
        self._keys[key] = [now, 0]
        self._keys.move_to_end(key)
        while len(self._keys) > self._max_keys:
            self._keys.popitem(last=False)
        return unreported
