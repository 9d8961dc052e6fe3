"""The audit viewer's pager over a real audit log: rows map to records, only the pages
shown are read, new records are followed and cleared ones become placeholders."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from phantom_audit_viewer.pager import AuditPager, needs_scan
from phantom_gui.audit.storage import AuditStorage, EventFilter

PAGE = 10
START = datetime(2024, 10, 31, 20, 0, tzinfo=UTC)


class SpyStorage(AuditStorage):
    """A real audit log that notes every page of records read from it."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.reads: list[list[int]] = []
        self.before_matching: list[dict[str, Any]] = []

    def events_by_seq(self, seqs: Sequence[int]) -> list[dict[str, Any]]:
        self.reads.append(list(seqs))
        return super().events_by_seq(seqs)

    def matching_seqs(self, where: EventFilter) -> list[int]:
        if self.before_matching:  # a writer that gets in between two reads of `select`
            self.append_events(self.before_matching)
            self.before_matching = []
        return super().matching_seqs(where)


def event(n: int, topic: str | None = None) -> dict[str, Any]:
    return {
        "type": "hub_event",
        "topic": topic or ("a/odd" if n % 2 else "b/even"),
        "source": "test",
        "timestamp": (START + timedelta(seconds=n)).isoformat(timespec="microseconds"),
        "data": {"n": n},
    }


@pytest.fixture
def storage(tmp_path: Path) -> SpyStorage:
    storage = SpyStorage(tmp_path / "audit")
    storage.append_events([event(n) for n in range(1, 56)])
    return storage


def test_unfiltered_rows_are_the_seqs_and_only_the_pages_shown_are_read(
    storage: SpyStorage,
) -> None:
    pager = AuditPager(storage, page_size=PAGE)
    assert pager.apply(EventFilter()) == 55 == len(pager) == pager.total
    assert not pager.filtered and storage.reads == [], "counting rows reads no records"

    assert pager.row(0)["seq"] == 1 and pager.row(0)["data"] == {"n": 1}
    assert pager.row(9)["seq"] == 10
    assert storage.reads == [list(range(1, 11))]
    assert pager.row(54)["seq"] == 55
    assert storage.reads[1:] == [list(range(51, 56))], "the last, short page alone"
    assert pager.row(3)["seq"] == 4 and len(storage.reads) == 2, "pages are cached"
    assert [pager.seq_at(i) for i in (0, 54)] == [1, 55]
    assert [pager.index_of(seq) for seq in (1, 55, 56, 0)] == [0, 54, None, None]


def test_a_filter_shows_only_the_matching_records_in_order(storage: SpyStorage) -> None:
    pager = AuditPager(storage, page_size=PAGE)
    assert pager.apply(EventFilter(topic_pattern="a/+")) == 28
    assert pager.filtered and pager.total == 55
    assert [pager.row(i)["seq"] for i in range(28)] == list(range(1, 56, 2))
    assert {pager.row(i)["topic"] for i in range(28)} == {"a/odd"}
    assert len(storage.reads) == 3, "28 rows are three pages"
    assert pager.index_of(7) == 3 and pager.index_of(8) is None
    assert pager.apply(EventFilter(text='"n": 42')) == 1 and pager.row(0)["seq"] == 42
    assert pager.apply(EventFilter(source="nobody")) == 0


def test_follow_adds_the_records_written_since_the_last_look(storage: SpyStorage) -> None:
    everything = AuditPager(storage, page_size=PAGE)
    everything.apply(EventFilter())
    odd = AuditPager(storage, page_size=PAGE)
    odd.apply(EventFilter(topic_pattern="a/#"))
    assert everything.row(54)["seq"] == 55 and odd.row(27)["seq"] == 55
    assert everything.follow() == 0 == odd.follow()

    storage.append_events([event(n) for n in range(56, 61)])
    assert everything.follow() == 5 and len(everything) == 60 == everything.total
    assert [everything.row(i)["seq"] for i in range(54, 60)] == list(range(55, 61))
    assert odd.follow() == 2 and len(odd) == 30 and odd.total == 60
    assert [odd.row(i)["seq"] for i in (27, 28, 29)] == [55, 57, 59]
    assert everything.follow() == 0 == odd.follow()


def test_follow_starts_from_an_empty_log(tmp_path: Path) -> None:
    storage = AuditStorage(tmp_path / "audit")
    pager = AuditPager(storage, page_size=PAGE)
    assert pager.apply(EventFilter()) == 0
    storage.append_events([event(n) for n in range(1, 4)])
    assert pager.follow() == 3
    assert [pager.row(i)["seq"] for i in range(3)] == [1, 2, 3]


def test_a_record_written_while_a_filter_is_read_is_taken_in_once(
    storage: SpyStorage,
) -> None:
    pager = AuditPager(storage, page_size=PAGE)
    storage.before_matching = [event(57)]
    assert pager.apply(EventFilter(topic_pattern="a/odd")) == 28, "not yet: it came later"
    assert pager.follow() == 1 and pager.row(28)["seq"] == 56
    assert pager.follow() == 0 and len(pager) == 29


def test_rows_cleared_from_the_log_become_placeholders(storage: SpyStorage) -> None:
    pager = AuditPager(storage, page_size=PAGE)
    pager.apply(EventFilter())
    cut = (START + timedelta(seconds=16)).isoformat(timespec="microseconds")
    assert storage.clear_events(before=cut) == 15

    assert len(pager) == 55, "rows keep their places"
    cleared = pager.row(14)
    assert (cleared["seq"], cleared["topic"], cleared["id"], cleared["data"]) == (
        15,
        "(cleared)",
        "",
        {},
    )
    assert pager.row(15)["seq"] == 16 and pager.row(15)["data"] == {"n": 16}
    assert pager.apply(EventFilter()) == 40 and pager.row(0)["seq"] == 16


def test_only_a_real_filter_needs_a_scan() -> None:
    assert not needs_scan(EventFilter())
    assert not needs_scan(EventFilter(topic_pattern="", text=""))
    assert needs_scan(EventFilter(topic_pattern="#"))
    assert needs_scan(EventFilter(audit_id="run"))
