"""The Audit Log viewer, loaded by the real plugin manager over a real audit log of a
million records and shown on the virtual screen: paging, filters, live tail, export,
verification (of an intact and a tampered log) and replay into the hub."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QDateTime, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog
from reactivex.testing import TestScheduler

from phantom_audit_viewer.model import Filters
from phantom_audit_viewer.records import describe, preview
from phantom_gui.audit.export import CSV_COLUMNS
from phantom_gui.audit.service import AuditService
from phantom_gui.audit.storage import AuditStorage, EventFilter, VerifyReport
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.settings import Settings
from phantom_gui.plugins.lifecycle import PluginState
from phantom_gui.plugins.manager import PluginManager

pytestmark = pytest.mark.screen

RECORDS = 1_000_000
BATCH = 10_000
START = datetime(2024, 10, 31, 20, 0, tzinfo=UTC)
KINDS = (
    ("cauldron/sensor/s1/reading", "sensor_reading", "mqtt"),
    ("cauldron/sensor/s2/reading", "sensor_reading", "mqtt"),
    ("seance/voice", "hub_event", "seance"),
    ("plugin/lantern/state", "plugin_lifecycle", "plugins"),
    ("security/banishment", "security", "plugins"),
)
RUNS = ("run-0", "run-1", "run-2", "run-3")
TOTAL = RECORDS + len(RUNS)
SCREENSHOT = Path("/tmp/audit_viewer.png")
SLOW_MS = 30_000


def record(n: int, **overrides: Any) -> dict[str, Any]:
    """Record `n` of the big log: its topic, type and source cycle, one millisecond apart."""
    topic, kind, source = KINDS[n % len(KINDS)]
    return {
        "type": kind,
        "topic": topic,
        "source": source,
        "timestamp": (START + timedelta(milliseconds=n)).isoformat(timespec="microseconds"),
        "audit_id": RUNS[n % len(RUNS)],
        "data": {"n": n},
        **overrides,
    }


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A million records, written once for the module the way the recorder writes them."""
    root = tmp_path_factory.mktemp("big") / "audit"
    storage = AuditStorage(root)
    for start in range(1, RECORDS + 1, BATCH):
        storage.append_events([record(n) for n in range(start, start + BATCH)])
    for run in RUNS:  # each run's row is chained: records RECORDS + 1 to TOTAL
        storage.save_audit({"id": run, "kind": "brew", "name": f"Brew {run[-1]}"})
    storage.seal()  # as the app leaves its log when it stops
    assert storage.new_verification_key is not None
    key_file(root).write_text(storage.new_verification_key.to_text())
    storage.close()
    return root


def key_file(log: Path) -> Path:
    """Where the tests keep a log's verification key: outside its folder."""
    return log.parent / "verification.key"


def small_log(root: Path, count: int = 300) -> AuditStorage:
    """A log of `count` records whose topics alternate between a/odd and b/even."""
    storage = AuditStorage(root)
    storage.append_events(
        [record(n, topic="a/odd" if n % 2 else "b/even") for n in range(1, count + 1)]
    )
    return storage


@dataclass
class Viewer:
    panel: Any
    plugin: Any
    hub: EventHub
    manager: PluginManager
    storage: AuditStorage


@pytest.fixture
def open_viewer(qtbot, tmp_path: Path, run_on_loop) -> Iterator[Callable[..., Viewer]]:  # type: ignore[no-untyped-def]
    """Load the plugin through a real manager over `storage` and show its panel."""
    managers: list[PluginManager] = []

    def open_(
        storage: AuditStorage, scheduler: Any = None, size: tuple[int, int] = (1280, 480)
    ) -> Viewer:
        hub = EventHub()
        manager = PluginManager(
            hub,
            Settings(tmp_path / "settings.json"),
            tmp_path / "plugin-data",
            seed=1,
            scheduler=scheduler,
            services={"audit": AuditService(storage, hub, None)},
        )
        managers.append(manager)
        manager.discover()
        plugin = run_on_loop(manager.activate("phantom_audit_viewer")).instance
        panel = plugin.create_panel(None)
        qtbot.addWidget(panel)
        panel.resize(*size)
        panel.show()
        qtbot.waitExposed(panel)
        wait_shown(qtbot, panel)
        return Viewer(panel, plugin, hub, manager, storage)

    yield open_
    for manager in managers:
        run_on_loop(manager.shutdown())


def wait_shown(qtbot, panel) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: not panel.searching, timeout=SLOW_MS)


def apply(qtbot, panel, **fields: str) -> float:  # type: ignore[no-untyped-def]
    """Type the filter fields, press Enter, wait for the rows; return the seconds it took."""
    for name, value in fields.items():
        getattr(panel, f"{name}_edit").setText(value)
    started = time.perf_counter()
    panel.topic_edit.returnPressed.emit()
    wait_shown(qtbot, panel)
    return time.perf_counter() - started


def visible_seqs(panel) -> list[int]:  # type: ignore[no-untyped-def]
    table = panel.table
    top = table.rowAt(0)
    bottom = table.rowAt(table.viewport().height() - 1)
    if bottom < 0:
        bottom = panel.rows.rowCount() - 1
    return [int(panel.rows.index(row, 0).data()) for row in range(top, bottom + 1)]


def column(panel, index: int, rows: Sequence[int]) -> list[str]:  # type: ignore[no-untyped-def]
    return [panel.rows.index(row, index).data() for row in rows]


def set_time(check, edit, moment: datetime) -> None:  # type: ignore[no-untyped-def]
    check.setChecked(True)
    edit.setDateTime(QDateTime.fromMSecsSinceEpoch(int(moment.timestamp() * 1000)))


def test_a_million_records_open_at_once_and_scroll_to_the_last(
    qtbot, open_viewer, big_log: Path
) -> None:
    storage = AuditStorage(big_log)
    reads: list[int] = []
    read_page = storage.events_by_seq

    def counting(seqs: Sequence[int]) -> list[dict[str, Any]]:
        reads.append(len(seqs))
        return read_page(seqs)

    storage.events_by_seq = counting  # type: ignore[method-assign]
    started = time.perf_counter()
    viewer = open_viewer(storage)
    panel = viewer.panel
    first_rows = visible_seqs(panel)
    print(f"\nfirst page of {RECORDS:,} records on screen in {time.perf_counter() - started:.3f} s")
    assert first_rows[:3] == [1, 2, 3] and len(first_rows) >= 10
    assert panel.count_label.text() == "1,000,004 records in the whole log"
    assert column(panel, 3, [0, 1, 2]) == [KINDS[n % 5][0] for n in (1, 2, 3)]
    assert column(panel, 5, [0]) == ["run-1"] and column(panel, 6, [0]) == ['{"n": 1}']
    assert sum(reads) <= 2 * 256, f"only the first page is read, not {sum(reads)} records"

    panel.table.scrollToBottom()
    QApplication.processEvents()
    assert visible_seqs(panel)[-1] == TOTAL
    assert sum(reads) <= 4 * 256, "scrolling to the end reads the last page, nothing between"

    panel.table.selectRow(RECORDS - 1)
    detail = panel.detail.toPlainText()
    assert f"{'seq':<9} 1000000" in detail and f"{'source':<9} mqtt" in detail
    assert detail.endswith('data\n{\n  "n": 1000000\n}')


def test_filters_by_topic_run_time_and_text_and_reject_a_bad_pattern(
    qtbot, open_viewer, big_log: Path
) -> None:
    viewer = open_viewer(AuditStorage(big_log))
    panel = viewer.panel

    took = apply(qtbot, panel, topic="seance/voice")
    print(f"\ntopic filter over {RECORDS:,} records: {took:.3f} s")
    assert panel.count_label.text() == "200,000 of 1,000,004 in the whole log match"
    assert visible_seqs(panel)[:3] == [2, 7, 12]
    assert set(column(panel, 3, range(10))) == {"seance/voice"}

    panel.topic_edit.setText("seance/#/voice")
    panel.apply_button.click()
    assert panel.filter_error.isVisible()
    assert "'#' must be the whole last level" in panel.filter_error.text()
    assert "Still showing the last filter" in panel.filter_error.text()
    assert panel.topic_edit.property("invalid") is True
    assert panel.count_label.text() == "200,000 of 1,000,004 in the whole log match"
    assert viewer.plugin.model.filters.topic == "seance/voice"

    panel.topic_edit.setText("cauldron/sensor/+/reading")
    panel.run_combo.set_run_id("run-1")
    took = apply(qtbot, panel)
    print(f"topic pattern + run filter: {took:.3f} s")
    assert not panel.filter_error.isVisible() and panel.topic_edit.property("invalid") is False
    assert panel.count_label.text() == "100,000 of 1,000,004 in the whole log match"
    assert visible_seqs(panel)[:4] == [1, 5, 21, 25]

    panel.topic_edit.clear()
    panel.run_combo.set_run_id("")
    set_time(panel.since_check, panel.since_edit, START + timedelta(seconds=100))
    set_time(panel.until_check, panel.until_edit, START + timedelta(seconds=102))
    took = apply(qtbot, panel)
    print(f"time range: {took:.3f} s")
    assert panel.count_label.text() == "2,000 of 1,000,004 in the whole log match"
    assert visible_seqs(panel)[0] == 100_000

    panel.since_check.setChecked(False)
    panel.until_check.setChecked(False)
    took = apply(qtbot, panel, text='"n": 123456')
    print(f"free text: {took:.3f} s")
    assert panel.count_label.text() == "1 of 1,000,004 in the whole log match"
    assert visible_seqs(panel) == [123_456]

    took = apply(qtbot, panel, text="")
    assert panel.count_label.text() == "1,000,004 records in the whole log" and took < 1.0


def test_the_live_tail_takes_in_records_written_after(
    qtbot, open_viewer, big_log: Path, tmp_path: Path
) -> None:
    root = tmp_path / "audit"
    shutil.copytree(big_log, root)
    viewer = open_viewer(AuditStorage(root))
    panel = viewer.panel
    panel.tail_check.setChecked(True)
    QApplication.processEvents()
    assert visible_seqs(panel)[-1] == TOTAL

    writer = AuditStorage(root)  # another connection, as the recorder's thread has
    writer.append_events([record(n) for n in range(TOTAL + 1, TOTAL + 4)])
    qtbot.waitUntil(lambda: panel.rows.rowCount() == TOTAL + 3)
    assert panel.count_label.text() == "1,000,007 records in the whole log"
    qtbot.waitUntil(lambda: visible_seqs(panel)[-1] == TOTAL + 3)

    apply(qtbot, panel, topic="security/#")
    before = panel.rows.rowCount()
    writer.append_events([record(n) for n in range(TOTAL + 4, TOTAL + 14)])
    qtbot.waitUntil(lambda: panel.rows.rowCount() == before + 2)
    qtbot.waitUntil(lambda: visible_seqs(panel)[-2:] == [TOTAL + 5, TOTAL + 10])
    assert panel.count_label.text() == f"{before + 2:,} of 1,000,017 in the whole log match"


def test_export_writes_exactly_the_filtered_records_as_jsonl_and_csv(
    qtbot, open_viewer, big_log: Path, tmp_path: Path
) -> None:
    storage = AuditStorage(big_log)
    panel = open_viewer(storage).panel
    set_time(panel.since_check, panel.since_edit, START + timedelta(seconds=1))
    set_time(panel.until_check, panel.until_edit, START + timedelta(seconds=2))
    apply(qtbot, panel, topic="seance/voice")
    wanted = [n for n in range(1000, 2000) if n % 5 == 2]
    assert panel.rows.rowCount() == len(wanted) == 200

    assert panel.export_to(tmp_path / "voices.jsonl", "jsonl") == 200
    lines = (tmp_path / "voices.jsonl").read_text(encoding="utf-8").splitlines()
    exported = [json.loads(line) for line in lines]
    assert [event["seq"] for event in exported] == wanted
    where = EventFilter(
        topic_pattern="seance/voice",
        since=(START + timedelta(seconds=1)).isoformat(timespec="microseconds"),
        until=(START + timedelta(seconds=2)).isoformat(timespec="microseconds"),
    )
    assert exported == list(storage.iter_events(where))

    assert panel.export_to(tmp_path / "voices.csv", "csv") == 200
    with (tmp_path / "voices.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [int(row[0]) for row in rows[1:]] == wanted
    first = dict(zip(CSV_COLUMNS, rows[1], strict=True))
    assert (first["topic"], first["source"], first["audit_id"], first["phase"]) == (
        "seance/voice",
        "seance",
        "run-2",
        "",
    )
    assert json.loads(first["data"]) == {"n": 1002}

    # The button asks for the file without blocking the event loop, then exports.
    panel.export_button.click()
    dialog = panel.findChild(QFileDialog)
    assert dialog is not None and dialog.isVisible()
    target = tmp_path / "from-dialog.csv"
    dialog.selectFile(str(target))
    with qtbot.waitSignal(panel.exported, timeout=SLOW_MS) as exported_signal:
        dialog.accept()
    assert exported_signal.args == [200]
    assert target.read_text(encoding="utf-8") == (tmp_path / "voices.csv").read_text()
    assert panel.message.text() == f"exported 200 records to {target}"


def test_verify_checks_a_million_records_without_freezing_the_panel(
    qtbot, open_viewer, big_log: Path, no_keyring: None
) -> None:
    panel = open_viewer(AuditStorage(big_log)).panel
    ticks = []
    clock = QTimer(panel, interval=50)
    clock.timeout.connect(lambda: ticks.append(1))
    clock.start()
    # The key file is asked for without blocking the loop; every record is then checked.
    panel.verify_key_button.click()
    dialog = panel.findChild(QFileDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.selectFile(str(key_file(big_log)))
    started = time.perf_counter()
    with qtbot.waitSignal(panel.verified, timeout=SLOW_MS) as verified:
        dialog.accept()
        assert not panel.verify_button.isEnabled() and not panel.verify_key_button.isEnabled()
        assert panel.verdict.text() == "verifying 1,000,004 records…"
    took = time.perf_counter() - started
    print(f"\nverify of {TOTAL:,} records: {took:.2f} s, {len(ticks)} GUI ticks meanwhile")
    report: VerifyReport = verified.args[0]
    assert report.ok and report.checked == TOTAL and report.unauthenticated == 0
    assert panel.verdict.text() == "OK: 1,000,004 records verified"
    assert panel.verdict.property("verdict") == "ok"
    assert panel.verify_button.isEnabled() and panel.verify_key_button.isEnabled()
    assert len(ticks) >= took / 0.05 / 3, "the GUI thread kept running while it verified"

    # Without the key (no keyring here), only the newest epoch can be authenticated: it says so.
    with qtbot.waitSignal(panel.verified, timeout=SLOW_MS) as verified:
        panel.verify_button.click()
    report = verified.args[0]
    assert report.ok and report.unauthenticated == TOTAL  # all sealed when the log was closed
    assert panel.verdict.property("verdict") == "partial"
    assert "checked without the verification key" in panel.verdict.text()

    panel.table.selectRow(41)
    panel.resize(1280, 480)
    QApplication.processEvents()
    panel.grab().save(str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 0


def test_verify_finds_a_tampered_record_and_selects_it(qtbot, open_viewer, tmp_path: Path) -> None:
    storage = small_log(tmp_path / "audit")
    with sqlite3.connect(storage.database_path) as raw:
        raw.execute("UPDATE events SET data = ? WHERE seq = 123", ('{"n": -1}',))
    panel = open_viewer(storage).panel
    apply(qtbot, panel, topic="b/even")  # record 123 is not on show
    assert panel.rows.rowCount() == 150

    with qtbot.waitSignal(panel.verified, timeout=SLOW_MS) as verified:
        panel.verify_button.click()
    assert verified.args[0].first_bad_seq == 123
    assert panel.verdict.text().startswith(
        "TAMPERED at record 123: its contents or position changed (MAC mismatch)"
    )
    assert panel.verdict.property("verdict") == "tampered"
    qtbot.waitUntil(lambda: panel.table.currentIndex().row() == 122)
    assert panel.topic_edit.text() == "" and panel.rows.rowCount() == 300
    assert panel.rows.index(122, 0).data() == "123" and 123 in visible_seqs(panel)
    assert '"n": -1' in panel.detail.toPlainText()


def test_replay_publishes_a_run_step_by_step_and_at_speed_in_order(
    qtbot, open_viewer, tmp_path: Path
) -> None:
    storage = small_log(tmp_path / "audit", count=20)
    gaps = (0.0, 1.0, 2.0, 4.0, 8.0)
    storage.save_audit({"id": "ritual", "kind": "seance", "name": "Midnight"})
    storage.append_events(
        [
            record(
                n,
                topic=f"ritual/{n}",
                audit_id="ritual",
                timestamp=(START + timedelta(seconds=at)).isoformat(timespec="microseconds"),
            )
            for n, at in enumerate(gaps)
        ]
    )
    scheduler = TestScheduler()
    viewer = open_viewer(storage, scheduler=scheduler)
    panel = viewer.panel
    heard: list[tuple[float, SpectralEvent]] = []
    viewer.hub.on("ritual/#").subscribe(lambda event: heard.append((scheduler.clock, event)))
    assert not panel.play_button.isEnabled() and not panel.step_button.isEnabled()
    panel.run_combo.setCurrentIndex(panel.run_combo.findData("ritual"))
    assert panel.run_combo.currentText().startswith("Midnight (seance)")
    assert panel.play_button.isEnabled()

    panel.step_button.click()
    panel.step_button.click()
    assert [event.topic for _, event in heard] == ["ritual/0", "ritual/1"]
    assert panel.replay_label.text() == "replayed 2 / 5 · paused"

    panel.speed_combo.setCurrentIndex(panel.speed_combo.findText("2×"))
    panel.play_button.click()
    assert panel.play_button.isChecked() and panel.pause_button.isEnabled()
    scheduler.advance_by(0.5)
    assert [event.topic for _, event in heard][2:] == ["ritual/2"]
    panel.pause_button.click()
    scheduler.advance_by(60.0)
    assert len(heard) == 3 and panel.replay_label.text() == "replayed 3 / 5 · paused"

    panel.play_button.click()
    scheduler.advance_by(2.0)
    qtbot.waitUntil(lambda: panel.replay_label.text() == "replayed 5 / 5 · done")
    assert [event.topic for _, event in heard] == [f"ritual/{n}" for n in range(5)]
    assert [at for at, _ in heard][3:] == [60.5, 62.5], "recorded 4 s apart, replayed at 2×"
    assert all(event.metadata["replayed"] is True for _, event in heard)
    assert [event.data for _, event in heard] == [{"n": n} for n in range(5)]
    assert not panel.stop_button.isEnabled() and not panel.play_button.isChecked()

    heard.clear()
    panel.step_button.click()
    panel.stop_button.click()
    scheduler.advance_by(60.0)
    assert [event.topic for _, event in heard] == ["ritual/0"]
    assert panel.replay_label.text() == "replayed 1 / 5 · stopped"


def test_without_an_app_scheduler_replay_runs_on_the_qt_event_loop(
    qtbot, open_viewer, tmp_path: Path
) -> None:
    storage = AuditStorage(tmp_path / "audit")
    storage.save_audit({"id": "quick", "kind": "brew", "name": "Quick brew"})
    storage.append_events(
        [
            record(n, topic=f"brew/{n}", audit_id="quick", timestamp=f"2024-10-31T20:00:0{n}+00:00")
            for n in range(4)
        ]
    )
    viewer = open_viewer(storage)
    heard: list[str] = []
    viewer.hub.on("brew/#").subscribe(lambda event: heard.append(event.topic))
    panel = viewer.panel
    panel.run_combo.set_run_id("quick")
    panel.speed_combo.setCurrentIndex(panel.speed_combo.findText("100×"))
    panel.play_button.click()
    qtbot.waitUntil(lambda: panel.replay_label.text() == "replayed 4 / 4 · done", timeout=5000)
    assert heard == ["brew/0", "brew/1", "brew/2", "brew/3"]


def test_the_live_tail_keeps_following_while_a_long_replay_is_paused(
    qtbot, open_viewer, tmp_path: Path
) -> None:
    storage = AuditStorage(tmp_path / "audit")
    storage.save_audit({"id": "long", "kind": "seance", "name": "Long night"})
    storage.append_events([record(n, audit_id="long") for n in range(1, 1501)])
    panel = open_viewer(storage, scheduler=TestScheduler()).panel
    panel.run_combo.set_run_id("long")
    panel.step_button.click()
    assert panel.replay_label.text() == "replayed 1 / 1,500 · paused"

    AuditStorage(tmp_path / "audit").append_events([record(1501)])
    qtbot.waitUntil(lambda: panel.rows.rowCount() == 1501, timeout=2000)


def test_filters_and_tail_survive_a_hot_reload_and_teardown_stops_the_clock(
    qtbot, open_viewer, run_on_loop, tmp_path: Path
) -> None:
    viewer = open_viewer(small_log(tmp_path / "audit"))
    panel = viewer.panel
    apply(qtbot, panel, topic="a/odd", text='"n": 1')
    panel.tail_check.setChecked(True)
    assert panel.rows.rowCount() == len([n for n in range(1, 301, 2) if str(n).startswith("1")])

    record_ = run_on_loop(viewer.manager.reload("phantom_audit_viewer"))
    assert record_.state is PluginState.ACTIVE and record_.instance is not viewer.plugin
    assert viewer.plugin.model.closed
    qtbot.waitUntil(lambda: not panel.refresh_timer.isActive())
    new_panel = record_.instance.create_panel(None)
    qtbot.addWidget(new_panel)
    wait_shown(qtbot, new_panel)
    assert (new_panel.topic_edit.text(), new_panel.text_edit.text()) == ("a/odd", '"n": 1')
    assert new_panel.tail_check.isChecked()
    assert new_panel.rows.rowCount() == panel.rows.rowCount()

    record_.instance.restore({"filters": {"topic": "b/#"}, "tail": False})
    qtbot.waitUntil(lambda: new_panel.count_label.text() == "150 of 300 in the whole log match")
    assert new_panel.topic_edit.text() == "b/#" and not new_panel.tail_check.isChecked()
    record_.instance.restore({"filters": {"topic": "b/#/x"}})
    qtbot.waitUntil(lambda: new_panel.count_label.text() == "300 records in the whole log")


def test_the_viewer_helpers_read_well() -> None:
    assert Filters(topic="a/+").where() == EventFilter(topic_pattern="a/+")
    with pytest.raises(ValueError, match="invalid topic pattern"):
        Filters(topic="a/#/b").where()
    with pytest.raises(ValueError, match="the time range is empty"):
        Filters(since="2024-01-02T00:00:00", until="2024-01-01T00:00:00+00:00").where()
    assert Filters.from_dict({"topic": "x", "bogus": 1, "run": None}) == Filters(topic="x")
    assert preview({"text": "x" * 500}, limit=20) == '{"text": "xxxxxxxxx…'
    text = describe(record(7, phase=2, seq=7, id="e7"))
    assert f"{'phase':<9} 2" in text and "run-3" in text and '"n": 7' in text
