"""A window onto millions of audit records: rows are fetched a page at a time, on demand.

With no filter the rows are the seqs between the first and the last record (the log
only ever loses a prefix), so nothing is read until a row is shown. With a filter,
only the matching seqs are read (one integer per row), never the records themselves.

Reading the matching seqs can take a while on a big log, so it is split off:
`select` only reads (call it on any thread), `show` installs its result.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict
from dataclasses import dataclass, fields, replace
from typing import Any

from phantom_gui.audit.queries import EventFilter
from phantom_gui.audit.storage import AuditStorage

PAGE_SIZE = 256
CACHED_PAGES = 64


@dataclass(frozen=True)
class Selection:
    """The rows of one filter as read from storage, ready to be shown."""

    where: EventFilter
    first: int
    """The seq of row 0 when unfiltered (the first record held)."""
    count: int
    seqs: array[int] | None
    """The matching seqs, in order; None when unfiltered."""
    last_seen: int
    """The newest record looked at; `follow` takes in what comes after it."""
    total: int
    """How many records the whole log holds."""


def needs_scan(where: EventFilter) -> bool:
    """Whether selecting `where` reads the matching seqs (everything else is instant)."""
    return any(getattr(where, field.name) for field in fields(where))


class AuditPager:
    """Row `i` of the current filter's result, read from storage in pages and cached."""

    def __init__(self, storage: AuditStorage, page_size: int = PAGE_SIZE) -> None:
        self._storage = storage
        self._page_size = page_size
        self._pages: OrderedDict[int, list[dict[str, Any]]] = OrderedDict()
        self.where = EventFilter()
        self._first = 0
        self._count = 0
        self._seqs: array[int] | None = None
        self._last_seen = 0
        self._log_first = 0
        self._total = 0

    def select(self, where: EventFilter) -> Selection:
        """Read which records match `where` (storage reads only: safe on any thread)."""
        first, last = self._storage.seq_range()
        total = last - first + 1 if last else 0
        if not needs_scan(where):
            return Selection(where, first, total, None, last, total)
        seqs = array("q", self._storage.matching_seqs(where))
        # Records written after `last` are left to `follow`, so none is counted twice.
        del seqs[bisect_right(seqs, last) :]
        return Selection(where, first, len(seqs), seqs, last, total)

    def show(self, selection: Selection) -> int:
        """Show `selection`; return how many rows there are."""
        self.where = selection.where
        self._pages.clear()
        self._first = self._log_first = selection.first
        self._count = selection.count
        self._seqs = selection.seqs
        self._last_seen = selection.last_seen
        self._total = selection.total
        return self._count

    def apply(self, where: EventFilter) -> int:
        """Show the records matching `where`; return how many rows there are."""
        return self.show(self.select(where))

    def __len__(self) -> int:
        return self._count

    @property
    def total(self) -> int:
        """How many records the whole log held at the last look."""
        return self._total

    @property
    def filtered(self) -> bool:
        """Whether a filter is in force."""
        return self._seqs is not None

    def row(self, index: int) -> dict[str, Any]:
        """The record shown in row `index` (0-based)."""
        page_number, offset = divmod(index, self._page_size)
        page = self._pages.get(page_number)
        if page is None:
            page = self._load(page_number)
        else:
            self._pages.move_to_end(page_number)
        return page[offset]

    def seq_at(self, index: int) -> int:
        """The seq of the record in row `index`."""
        return self._seqs[index] if self._seqs is not None else self._first + index

    def index_of(self, seq: int) -> int | None:
        """The row showing record `seq`, or None when the current filter leaves it out."""
        if self._seqs is None:
            index = seq - self._first
            return index if 0 <= index < self._count else None
        index = bisect_left(self._seqs, seq)
        return index if index < len(self._seqs) and self._seqs[index] == seq else None

    def follow(self) -> int:
        """Take in records written since the last look; return how many rows were added."""
        last = self._storage.last_seq()
        if last <= self._last_seen:
            return 0
        if self._total == 0:
            self._log_first = self._storage.seq_range()[0]
        self._total = last - self._log_first + 1
        before = self._count
        if self._seqs is None:
            if self._count == 0:
                self._first = self._log_first
            self._count = last - self._first + 1
        else:
            fresh = self._storage.matching_seqs(replace(self.where, after_seq=self._last_seen))
            self._seqs.extend(fresh[: bisect_right(fresh, last)])
            self._count = len(self._seqs)
        self._last_seen = last
        self._pages.pop(before // self._page_size, None)  # the old last page was partial
        return self._count - before

    def _load(self, page_number: int) -> list[dict[str, Any]]:
        start = page_number * self._page_size
        stop = min(start + self._page_size, self._count)
        seqs = [self.seq_at(index) for index in range(start, stop)]
        page = self._storage.events_by_seq(seqs)
        if len(page) != len(seqs):
            page = _fill_gaps(seqs, page)
        self._pages[page_number] = page
        if len(self._pages) > CACHED_PAGES:
            self._pages.popitem(last=False)
        return page


def _fill_gaps(seqs: list[int], page: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records cleared while shown become placeholders, so rows keep their places."""
    found = {record["seq"]: record for record in page}
    return [found.get(seq) or _placeholder(seq) for seq in seqs]


def _placeholder(seq: int) -> dict[str, Any]:
    """What a row shows for record `seq` once it has been cleared from the log."""
    return {
        "seq": seq,
        "id": "",
        "type": "",
        "topic": "(cleared)",
        "source": "",
        "timestamp": "",
        "audit_id": "",
        "phase": None,
        "data": {},
    }
