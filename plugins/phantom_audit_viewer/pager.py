"""A window onto millions of audit records: rows are fetched a page at a time, on demand.

With no filter the rows are the seqs between the first and the last record (the log
only ever loses a prefix), so nothing is read until a row is shown. With a filter,
only the matching seqs are read (one integer per row), never the records themselves.
"""

from __future__ import annotations

from array import array
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from phantom_gui.audit.storage import AuditStorage, EventFilter

PAGE_SIZE = 256
CACHED_PAGES = 64


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

    def apply(self, where: EventFilter) -> int:
        """Show the records matching `where`; return how many rows there are."""
        self.where = where
        self._pages.clear()
        if where == EventFilter():
            self._seqs = None
            first, last = self._storage.seq_range()
            self._first, self._count = first, (last - first + 1 if last else 0)
            self._last_seen = last
        else:
            self._seqs = array("q", self._storage.matching_seqs(where))
            self._count = len(self._seqs)
            self._last_seen = self._storage.last_seq()
        return self._count

    def __len__(self) -> int:
        return self._count

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

    def follow(self) -> int:
        """Take in records written since the last look; return how many rows were added."""
        last = self._storage.last_seq()
        if last <= self._last_seen:
            return 0
        newer = replace(self.where, after_seq=self._last_seen)
        self._last_seen = last
        if self._seqs is None:
            if self._count == 0:
                self._first = self._storage.seq_range()[0]
            added = last - (self._first + self._count - 1)
            self._count += added
        else:
            fresh = self._storage.matching_seqs(newer)
            self._seqs.extend(fresh)
            added = len(fresh)
            self._count = len(self._seqs)
        self._pages.pop(self._count // self._page_size, None)
        self._pages.pop((self._count - added) // self._page_size, None)
        return added

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
    return [
        found.get(seq)
        or {
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
        for seq in seqs
    ]
