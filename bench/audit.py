"""Audit log costs against baselines measured in the same run.

Run from the repository root::

    .venv/bin/python bench/audit.py            # 5 repeats; builds a 1 M-record store (~100 s)
    .venv/bin/python bench/audit.py --quick    # 3 shorter repeats, same store (~45 s)
    .venv/bin/python bench/audit.py --store /tmp/audit-1m   # keep the store (reused: -25 s)

Every figure is the median of several repeats; the repeats of a figure and of its
baseline are interleaved, so a burst of noise on the machine hits both alike. The script
always exits 0: the figures are for humans, not a test.

Measured:

(a) the recorder: a real `EventHub`, `AuditStorage` and `Recorder` recording
    ``cauldron/#``; N `SpectralEvent`s with small payloads published as fast as possible,
    then `recorder.flush()`. Durable events/s = N / (first publish → flush returned, all
    committed with ``synchronous=FULL``). Baseline: a bare batched SQLite insert of the same
    rows into a fresh file: the same schema and indexes, PRAGMAs and batch size, the
    payload JSON-encoded, no HMAC and no thread. Also the hub's side: the publish loop with
    the recorder attached against the same hub with a no-op subscriber, the longest stall of
    the publishing thread (slowest 100 publishes) and how much was still pending when the
    last publish returned (the hub never waits for the disk).
(b) the viewer's data source (`AuditPager`) on a store of 1 M records: `apply(filter)`
    and reading the first page (rows 0..49), unfiltered and with a topic pattern matching
    10 %; a free-text, a source and a leading-wildcard pattern filter without goals; and
    the first read of a row in the middle and at the end (random access).
(c) `AuditStorage.verify()` on the same store with its verification key (every record
    authenticated), against fetching the same rows (verify's own SELECT) with sqlite3 and
    doing nothing with them.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import Any

from report import Row, goal_table

from phantom_gui.audit.chain import CANONICAL_SQL
from phantom_gui.audit.config import DEFAULT_CONFIG
from phantom_gui.audit.database import CACHE_KIB, DATABASE_NAME, SCHEMA
from phantom_gui.audit.keys import VerificationKey
from phantom_gui.audit.queries import EventFilter
from phantom_gui.audit.recorder import Recorder, audit_type
from phantom_gui.audit.storage import AuditStorage
from phantom_gui.core.events import new_event_id
from phantom_gui.core.hub import EventHub

try:
    from phantom_audit_viewer.pager import AuditPager
except ImportError:  # the built-in plugin is not installed: use it from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))
    from phantom_audit_viewer.pager import AuditPager

BATCH = int(DEFAULT_CONFIG["batch_size"])
FLUSH_INTERVAL = float(DEFAULT_CONFIG["flush_interval_s"])
TOPIC = "cauldron/sensor/temp"
SOURCE = "cauldron"
DATA = {"value": 21.5, "unit": "°C"}
SESSION = "bench-session"
FIRST_PAGE = 50
BUILD_BATCH = 10_000
STALL_CHUNK = 100
"""The publishing thread's stalls are measured over chunks of this many publishes."""

Figures = dict[str, float]
Runners = dict[str, Callable[[], Figures]]


@dataclass(frozen=True)
class BenchSettings:
    """How much is measured."""

    repeats: int
    events: int
    """Events per repeat of part (a)."""
    records: int
    """Records in the store of parts (b) and (c)."""
    verify_repeats: int


def interleaved(runners: Runners, repeats: int) -> Figures:
    """Median of each figure the runners return, the repeats of all runners interleaved."""
    results: dict[str, list[float]] = {}
    for _ in range(repeats):
        for run in runners.values():
            gc.collect()
            for key, value in run().items():
                results.setdefault(key, []).append(value)
    return {key: statistics.median(values) for key, values in results.items()}


# -- (a) the recorder ----------------------------------------------------------------------


def _bare_connection(path: Path) -> sqlite3.Connection:
    """A connection set up as `AuditStorage` sets up its own (PRAGMAs and schema)."""
    connection = sqlite3.connect(path, timeout=10.0, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    connection.executescript(SCHEMA)
    return connection


def bare_insert(root: Path, count: int) -> Figures:
    """Baseline: the recorder's rows, JSON-encoded and inserted in batches; no HMAC, no thread."""
    folder = Path(tempfile.mkdtemp(prefix="bare-", dir=root))
    connection = _bare_connection(folder / DATABASE_NAME)
    encode = json.JSONEncoder(ensure_ascii=False, default=repr).encode
    insert = (
        "INSERT INTO events (seq, id, type, topic, source, timestamp, audit_id, phase, data, mac) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    event_type = audit_type(TOPIC).value
    mac = bytes(32)
    seq = 0
    start = perf_counter()
    while seq < count:
        rows = []
        for _ in range(min(BATCH, count - seq)):
            seq += 1
            timestamp = datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="microseconds")
            rows.append(
                (
                    seq,
                    new_event_id(),
                    event_type,
                    TOPIC,
                    SOURCE,
                    timestamp,
                    SESSION,
                    None,
                    encode(DATA),
                    mac,
                )
            )
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(insert, rows)
        connection.execute("COMMIT")
    elapsed = perf_counter() - start
    stored = connection.execute("SELECT count(*) FROM events").fetchone()[0]
    connection.close()
    shutil.rmtree(folder)
    assert stored == count, f"bare insert stored {stored} of {count}"
    return {"bare_rate": count / elapsed}


def recorded(root: Path, count: int) -> Figures:
    """Part (a): publish `count` events on a hub with a recorder; time until all committed."""
    folder = Path(tempfile.mkdtemp(prefix="recorder-", dir=root))
    storage = AuditStorage(folder)
    hub = EventHub()
    recorder = Recorder(hub, storage, SESSION, batch_size=BATCH, flush_interval=FLUSH_INTERVAL)
    recorder.start(["cauldron/#"])
    publish = hub.publish
    worst = 0.0
    start = perf_counter()
    for _ in range(count // STALL_CHUNK):
        chunk_start = perf_counter()
        for _ in range(STALL_CHUNK):
            publish(TOPIC, DATA, source=SOURCE)
        worst = max(worst, perf_counter() - chunk_start)
    for _ in range(count % STALL_CHUNK):
        publish(TOPIC, DATA, source=SOURCE)
    published = perf_counter()
    pending = recorder.status.pending
    flushed = recorder.flush(timeout=300)
    durable = perf_counter()
    recorder.stop()
    stored = storage.last_seq()
    storage.close()
    shutil.rmtree(folder)
    assert flushed and stored == count, f"recorder stored {stored} of {count}"
    return {
        "recorder_rate": count / (durable - start),
        "recorder_publish_rate": count / (published - start),
        "recorder_stall_ms": worst * 1000,
        "recorder_pending": float(pending),
    }


def publish_only(count: int) -> Figures:
    """The hub's publish loop with a no-op subscriber on the recorded pattern."""
    hub = EventHub()
    hub.on("cauldron/#").subscribe(lambda event: None)
    publish = hub.publish
    worst = 0.0
    start = perf_counter()
    for _ in range(count // STALL_CHUNK):
        chunk_start = perf_counter()
        for _ in range(STALL_CHUNK):
            publish(TOPIC, DATA, source=SOURCE)
        worst = max(worst, perf_counter() - chunk_start)
    elapsed = perf_counter() - start
    return {
        "publish_rate": count // STALL_CHUNK * STALL_CHUNK / elapsed,
        "publish_stall_ms": worst * 1000,
    }


def recorder_figures(settings: BenchSettings, root: Path) -> Figures:
    """Part (a)."""
    count = settings.events
    return interleaved(
        {
            "bare": lambda: bare_insert(root, count),
            "recorder": lambda: recorded(root, count),
            "publish": lambda: publish_only(count),
        },
        settings.repeats,
    )


# -- the 1 M store ------------------------------------------------------------------------

SEANCE_EVERY = 10
"""One record in 10 is a séance event (``seance/...``): what the 10 % topic filter finds."""
LANTERN_OFFSET = 5
"""...and one in 10 (other ones) comes from the lantern (the source filter finds those)."""
WHISPER_EVERY = 100
"""One in 100 says "whispers" in its payload (the free-text filter)."""
RUN_SIZE = 100_000
BASE_TIME = datetime(2025, 10, 31, 20, 0, tzinfo=UTC).timestamp()


def _record(index: int) -> dict[str, Any]:
    """Record `index` of the big store: mostly cauldron readings, some séance and lantern."""
    if index % SEANCE_EVERY == 0:
        topic, source = f"seance/spirit/{index % 3}", "seance"
        message = "the spirit whispers" if index % WHISPER_EVERY == 0 else "a cold draught"
        data: dict[str, Any] = {"message": message, "intensity": (index % 7) / 7}
    elif index % SEANCE_EVERY == LANTERN_OFFSET:
        topic, source = "lantern/sensor/flicker", "lantern"
        data = {"value": index % 13, "unit": "Hz"}
    else:
        topic, source = f"cauldron/sensor/{('temp', 'ph', 'level')[index % 3]}", SOURCE
        data = {"value": 21.5 + (index % 50) / 10, "unit": "°C"}
    timestamp = datetime.fromtimestamp(BASE_TIME + index * 0.001, UTC)
    return {
        "type": audit_type(topic).value,
        "topic": topic,
        "source": source,
        "timestamp": timestamp.isoformat(timespec="microseconds"),
        "audit_id": f"run-{index // RUN_SIZE}",
        "data": data,
    }


def key_file(root: Path) -> Path:
    """Where the store's verification key is kept: beside its folder."""
    return root.with_name(root.name + ".verification.key")


def build_store(root: Path, records: int) -> tuple[AuditStorage, float | None]:
    """The store of parts (b) and (c) in `root`, built unless it already holds `records`."""
    storage = AuditStorage(root)
    if storage.new_verification_key is not None:
        key_file(root).write_text(storage.new_verification_key.to_text())
    have = storage.last_seq()
    if have == records:
        return storage, None
    if have:
        raise SystemExit(f"{root} holds {have:,} records, not {records:,}: use another --store")
    start = perf_counter()
    for first in range(0, records, BUILD_BATCH):
        storage.append_events(
            [_record(index) for index in range(first, min(records, first + BUILD_BATCH))]
        )
    return storage, perf_counter() - start


# -- (b) the viewer ------------------------------------------------------------------------

VIEWS: dict[str, EventFilter] = {
    "all": EventFilter(),
    "topic": EventFilter(topic_pattern="seance/#"),
    "text": EventFilter(text="whispers"),
    "source": EventFilter(source="lantern"),
    "wild": EventFilter(topic_pattern="+/spirit/#"),
}
EXPECTED_SHARE = {"all": 1.0, "topic": 0.1, "text": 0.01, "source": 0.1, "wild": 0.1}


def view(root: Path, name: str, where: EventFilter, records: int) -> Figures:
    """Open the store afresh, apply `where`, read the first page, then a middle and last row."""
    storage = AuditStorage(root)
    start = perf_counter()
    pager = AuditPager(storage)
    rows = pager.apply(where)
    first_page = [pager.row(index) for index in range(min(FIRST_PAGE, rows))]
    shown = perf_counter()
    pager.row(rows // 2)
    middle = perf_counter()
    pager.row(rows - 1)
    last = perf_counter()
    storage.close()
    expected = round(records * EXPECTED_SHARE[name])
    assert abs(rows - expected) <= 1, f"{name}: {rows} rows, expected about {expected}"
    assert len(first_page) == min(FIRST_PAGE, rows)
    return {
        f"view_{name}_ms": (shown - start) * 1000,
        f"view_{name}_middle_ms": (middle - shown) * 1000,
        f"view_{name}_last_ms": (last - middle) * 1000,
    }


def viewer_figures(settings: BenchSettings, root: Path) -> Figures:
    """Part (b)."""
    return interleaved(
        {
            name: lambda name=name, where=where: view(root, name, where, settings.records)  # type: ignore[misc]
            for name, where in VIEWS.items()
        },
        settings.repeats,
    )


# -- (c) verification ------------------------------------------------------------------------


def verify(root: Path, records: int) -> Figures:
    """`storage.verify()` with the verification key on the big store, from a fresh open."""
    storage = AuditStorage(root)
    key = VerificationKey.read(key_file(root))
    start = perf_counter()
    report = storage.verify(key)
    elapsed = perf_counter() - start
    storage.close()
    assert report.ok and report.checked == records and not report.unauthenticated, str(report)
    return {"verify_s": elapsed}


def fetch_only(root: Path, records: int) -> Figures:
    """Baseline: the rows verify reads (its own SELECT), fetched and dropped."""
    connection = sqlite3.connect(root / DATABASE_NAME, isolation_level=None)
    connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    start = perf_counter()
    cursor = connection.execute(f"SELECT seq, {CANONICAL_SQL}, mac FROM events ORDER BY seq")
    count = 0
    while rows := cursor.fetchmany(4096):
        count += len(rows)
    elapsed = perf_counter() - start
    connection.close()
    assert count == records
    return {"fetch_s": elapsed}


def verify_figures(settings: BenchSettings, root: Path) -> Figures:
    """Part (c)."""
    return interleaved(
        {
            "fetch": lambda: fetch_only(root, settings.records),
            "verify": lambda: verify(root, settings.records),
        },
        settings.verify_repeats,
    )


# -- report --------------------------------------------------------------------------------


def _rows(records: int) -> list[Row]:
    size = f"{records / 1e6:g} M" if records >= 1_000_000 else f"{records / 1e3:g} k"
    rows = [
        Row("(a) bare batched INSERT, same rows, no HMAC", "bare_rate", "events/s"),
        Row(
            "(a) recorder, publish → committed (durable)",
            "recorder_rate",
            "events/s",
            "bare_rate",
            "bare INSERT",
            min_ratio=0.8,
        ),
        Row("(a) recorder, durable", "recorder_rate", "events/s", min_value=50_000),
        Row("(a) hub.publish, no-op subscriber", "publish_rate", "events/s"),
        Row(
            "(a) hub.publish, recorder attached",
            "recorder_publish_rate",
            "events/s",
            "publish_rate",
            "no-op sub",
        ),
        Row(f"(a) slowest {STALL_CHUNK} publishes, no-op subscriber", "publish_stall_ms", "ms"),
        Row(
            f"(a) slowest {STALL_CHUNK} publishes, recorder attached",
            "recorder_stall_ms",
            "ms",
            "publish_stall_ms",
            "no-op sub",
        ),
        Row("(a) pending when the last publish returned", "recorder_pending", "events"),
    ]
    names = {
        "all": "no filter",
        "topic": "topic seance/# (10 %)",
        "text": "free text (1 %)",
        "source": "source (10 %)",
        "wild": "topic +/spirit/# (10 %)",
    }
    goals = {"all": 300.0, "topic": 500.0}
    for name, label in names.items():
        rows.append(
            Row(
                f"(b) {size}: {label}: apply + first {FIRST_PAGE} rows",
                f"view_{name}_ms",
                "ms",
                max_value=goals.get(name),
            )
        )
        if name in ("all", "topic"):
            rows.append(
                Row(f"(b) {size}: {label}: then a middle row", f"view_{name}_middle_ms", "ms")
            )
            rows.append(
                Row(f"(b) {size}: {label}: then the last row", f"view_{name}_last_ms", "ms")
            )
    rows += [
        Row(f"(c) {size}: fetch verify's rows (sqlite3 only)", "fetch_s", "s"),
        Row(
            f"(c) {size}: storage.verify(key)",
            "verify_s",
            "s",
            "fetch_s",
            "fetch only",
            max_value=5,
        ),
    ]
    return rows


def table(figures: Figures, records: int) -> tuple[str, int, int]:
    """The report, and how many goals passed and missed."""
    return goal_table(_rows(records), figures)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, and return 0 whatever the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 shorter repeats")
    parser.add_argument(
        "--records", type=int, default=1_000_000, help="records in the store of (b) and (c)"
    )
    parser.add_argument(
        "--store",
        type=Path,
        help="keep the big store in this folder (reused when it holds --records records)",
    )
    args = parser.parse_args(argv)
    settings = (
        BenchSettings(repeats=3, events=50_000, records=args.records, verify_repeats=1)
        if args.quick
        else BenchSettings(repeats=5, events=200_000, records=args.records, verify_repeats=3)
    )
    print(
        f"Python {sys.version.split()[0]}, sqlite {sqlite3.sqlite_version}, {os.cpu_count()} "
        f"CPUs; median of {settings.repeats} repeats ({settings.verify_repeats} for verify); "
        f"(a) {settings.events:,} events per repeat, batches of {BATCH:,}; "
        "ratio = figure / baseline",
        flush=True,
    )
    start = perf_counter()
    figures: Figures = {}
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="phantom-bench-audit-") as tmp:
        scratch = Path(tmp)
        try:
            figures |= recorder_figures(settings, scratch)
        except Exception as exc:
            problems.append(f"recorder_figures: {type(exc).__name__}: {exc}")
        store = args.store or scratch / "store"
        try:
            storage, built = build_store(store, settings.records)
            storage.close()
            if built is None:
                print(f"reusing the store of {settings.records:,} records in {store}", flush=True)
            else:
                print(
                    f"built a store of {settings.records:,} records in {built:.1f} s "
                    f"({settings.records / built:,.0f} records/s, "
                    f"{storage.size_bytes() / 1e6:,.0f} MB)",
                    flush=True,
                )
        except Exception as exc:
            problems.append(f"build_store: {type(exc).__name__}: {exc}")
        else:
            for part in (viewer_figures, verify_figures):
                try:
                    figures |= part(settings, store)
                except Exception as exc:
                    problems.append(f"{part.__name__}: {type(exc).__name__}: {exc}")
    report, passed, missed = table(figures, settings.records)
    print(report)
    print(f"\n{passed} goals met, {missed} missed; {perf_counter() - start:.0f} s in all")
    for problem in problems:
        print(f"problem: {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
