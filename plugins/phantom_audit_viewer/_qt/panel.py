"""The Audit Log panel: a thin Qt view of an `AuditViewerModel` and an `AuditPager`.

Reads that can take seconds on a big log (filtering, verifying, exporting) run on
the model's worker threads; their results come back to the GUI thread through a
queued signal.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from functools import partial
from itertools import count
from pathlib import Path
from typing import Any, TypeVar

from PySide6 import QtCore
from PySide6.QtCore import QDateTime, QItemSelectionModel, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QTextOption
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)
from reactivex import abc
from reactivex.scheduler.mainloop import QtScheduler

from phantom_audit_viewer._qt.table import AuditTableModel
from phantom_audit_viewer.model import SPEEDS, AuditViewerModel, FilterError, Filters
from phantom_audit_viewer.pager import AuditPager, Selection, needs_scan
from phantom_audit_viewer.records import describe, run_label
from phantom_gui.audit.export import export_events, format_for
from phantom_gui.audit.keys import VerificationKey
from phantom_gui.audit.queries import EventFilter
from phantom_gui.audit.verify import VerifyReport
from phantom_gui.qt.theme import ASH, BLOOD, BONE, ECTOPLASM, NIGHT, PUMPKIN

REFRESH_MS = 250
"""The panel's clock: live tail, replay progress and restored filters, four times a second."""

ROW_HEIGHT = 22
COLUMN_WIDTHS = (70, 175, 120, 230, 100, 80)
TIME_FORMAT = "yyyy-MM-dd HH:mm:ss"
EXPORT_FILTERS = {"JSON Lines (*.jsonl)": "jsonl", "CSV (*.csv)": "csv"}
W = TypeVar("W", bound=QWidget)
_job_numbers = count()

STYLE = f"""
QLabel#auditViewerError {{ color: {BLOOD}; }}
QLineEdit[invalid="true"] {{ border: 1px solid {BLOOD}; border-radius: 3px; padding: 3px; }}
QLabel#auditViewerCount, QLabel#auditViewerReplay, QLabel#auditViewerMessage {{ color: {ASH}; }}
QLabel#auditViewerVerdict[verdict="ok"] {{ color: {ECTOPLASM}; font-weight: bold; }}
QLabel#auditViewerVerdict[verdict="partial"] {{ color: {BONE}; }}
QLabel#auditViewerVerdict[verdict="tampered"] {{ color: {BLOOD}; font-weight: bold; }}
QLabel#auditViewerVerdict[verdict="busy"] {{ color: {ASH}; }}
QPlainTextEdit#auditViewerDetail {{ color: {BONE}; }}
QPushButton#auditViewerPlay:checked {{ background-color: {PUMPKIN}; color: {NIGHT}; }}
"""


class _Courier(QObject):
    """Carries "job N is done" from a worker thread to the GUI thread (a queued signal).

    It has no parent and no children, so it may be let go of on any thread.
    """

    delivered = Signal(int)

    def deliver(self, number: int, _future: Future[Any]) -> None:
        """Announce job `number` (called on the worker thread); nobody may be listening."""
        self.delivered.emit(number)


class RunCombo(QComboBox):
    """The run filter: "All runs", then every recorded run, newest first; re-read when opened."""

    def __init__(self, runs: Callable[[], list[dict[str, Any]]], parent: QWidget | None = None):
        super().__init__(parent)
        self._runs = runs
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(24)
        self.refresh()

    def refresh(self) -> None:
        """Read the runs again, keeping the one chosen."""
        chosen = self.run_id()
        self.blockSignals(True)
        self.clear()
        self.addItem("All runs", "")
        for run in self._runs():
            self.addItem(run_label(run), run["id"])
            self.setItemData(self.count() - 1, run["id"], Qt.ItemDataRole.ToolTipRole)
        self.set_run_id(chosen)
        self.blockSignals(False)

    def showPopup(self) -> None:
        """Qt API: list the runs recorded since the last look, too."""
        self.refresh()
        super().showPopup()

    def run_id(self) -> str:
        """The chosen run's id; empty for all runs."""
        return str(self.currentData() or "")

    def set_run_id(self, run_id: str) -> None:
        """Choose the run `run_id` (listed by its id if the runs table does not know it)."""
        index = self.findData(run_id)
        if index < 0:
            self.addItem(run_id, run_id)
            index = self.count() - 1
        self.setCurrentIndex(index)


class AuditViewerPanel(QWidget):
    """Filters, the virtual table of records, a detail pane, verify, export and replay."""

    filtered = Signal(int)
    """A filter's rows are on show (how many)."""
    verified = Signal(object)
    """A verification ended (its `VerifyReport`, or the error that stopped it)."""
    exported = Signal(object)
    """An export ended (how many records, or the error)."""

    def __init__(self, model: AuditViewerModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.setObjectName("auditViewerPanel")
        self.setStyleSheet(STYLE)
        self.pager = AuditPager(model.storage)
        self.rows = AuditTableModel(self.pager, self)
        self._scheduler: abc.SchedulerBase | None = model.scheduler
        self._generation = 0
        self._searching = False
        self._applied = model.filters
        self._revision = model.revision
        self._jobs: dict[int, tuple[Future[Any], Callable[[Future[Any]], None]]] = {}
        self._courier = _Courier()
        self._courier.delivered.connect(self._deliver)
        self._export_dialog: QFileDialog | None = None
        self._key_dialog: QFileDialog | None = None
        self._counted_session: int | None = None
        self._build()
        self._connect()
        self._load_fields(model.filters, model.tail)
        self.refresh_timer = QTimer(self, interval=REFRESH_MS)
        self.refresh_timer.timeout.connect(self.refresh)
        self.refresh_timer.start()
        self._show_replay()
        self._query(model.filters.where())

    # -- building ---------------------------------------------------------------------------

    def _build(self) -> None:
        self.topic_edit = _line_edit("Topic pattern, e.g. cauldron/sensor/+/reading")
        self.source_edit = _line_edit("Source")
        self.text_edit = _line_edit("Free text in topic or payload")
        self.run_combo = RunCombo(self.model.runs)
        self.since_check = QCheckBox("Since")
        self.until_check = QCheckBox("Until")
        now = QDateTime.currentDateTime()
        self.since_edit = _time_edit(now.addSecs(-3600))
        self.until_edit = _time_edit(now)
        self.apply_button = QPushButton("Apply", default=True)
        self.tail_check = QCheckBox("Live tail")
        self.count_label = _named(QLabel(wordWrap=True), "auditViewerCount")
        self.filter_error = _named(QLabel(wordWrap=True), "auditViewerError")
        self.filter_error.hide()

        self.table = QTableView()
        self.table.setModel(self.rows)
        self.table.setAlternatingRowColors(True)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(False)
        self.table.setCornerButtonEnabled(False)
        rows = self.table.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # uniform rows: O(1) layout
        rows.setDefaultSectionSize(ROW_HEIGHT)
        header = self.table.horizontalHeader()
        header.setStretchLastSection(True)
        for column, width in enumerate(COLUMN_WIDTHS):
            self.table.setColumnWidth(column, width)
        self.detail = _named(QPlainTextEdit(readOnly=True), "auditViewerDetail")
        self.detail.setFont(QFont("DejaVu Sans Mono"))
        self.detail.setPlaceholderText("Select a record to see all of it.")
        self.detail.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([940, 340])

        self.verify_button = QPushButton("Verify")
        self.verify_button.setToolTip(
            "Check the whole log against the verification key where the system keyring keeps "
            "it, else against the sealing key kept beside the log"
        )
        self.verify_key_button = QPushButton("Verify with Key…")
        self.verify_key_button.setToolTip(
            "Check every record with the log's verification key file, the one saved on its "
            "first run and kept away from the data folder"
        )
        self.verdict = _named(QLabel(), "auditViewerVerdict")
        self.export_button = QPushButton("Export…")
        self.message = _named(QLabel(), "auditViewerMessage")
        for label in (self.verdict, self.message):  # long texts are cut, and whole in a tooltip
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.speed_combo = QComboBox()
        for speed in SPEEDS:
            self.speed_combo.addItem(f"{speed:g}×", speed)
        self.play_button = _named(QPushButton("▶ Play"), "auditViewerPlay")
        self.play_button.setCheckable(True)
        self.pause_button = QPushButton("Pause")
        self.step_button = QPushButton("Step")
        self.stop_button = QPushButton("Stop")
        self.replay_label = _named(QLabel(), "auditViewerReplay")

        filters = QGridLayout()
        filters.setHorizontalSpacing(6)
        filters.addWidget(QLabel("Topic"), 0, 0)
        filters.addWidget(self.topic_edit, 0, 1)
        filters.addWidget(QLabel("Source"), 0, 2)
        filters.addWidget(self.source_edit, 0, 3)
        filters.addWidget(QLabel("Run"), 0, 4)
        filters.addWidget(self.run_combo, 0, 5)
        filters.addWidget(QLabel("Text"), 1, 0)
        filters.addWidget(self.text_edit, 1, 1)
        times = QHBoxLayout()
        for widget in (self.since_check, self.since_edit, self.until_check, self.until_edit):
            times.addWidget(widget)
        times.addStretch(1)
        filters.addLayout(times, 1, 2, 1, 4)
        filters.addWidget(self.apply_button, 0, 6)
        filters.addWidget(self.tail_check, 1, 6)
        filters.setColumnStretch(1, 3)
        filters.setColumnStretch(3, 1)

        replay = QHBoxLayout()
        replay.addWidget(self.count_label, 1)
        replay.addWidget(QLabel("Replay"))
        replay.addWidget(self.speed_combo)
        for button in (self.play_button, self.pause_button, self.step_button, self.stop_button):
            replay.addWidget(button)
        replay.addWidget(self.replay_label)
        actions = QHBoxLayout()
        actions.addWidget(self.verify_button)
        actions.addWidget(self.verify_key_button)
        actions.addWidget(self.verdict, 3)
        actions.addWidget(self.export_button)
        actions.addWidget(self.message, 2)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(filters)
        layout.addWidget(self.filter_error)
        layout.addWidget(splitter, 1)
        layout.addLayout(replay)
        layout.addLayout(actions)

    def _connect(self) -> None:
        for edit in (self.topic_edit, self.source_edit, self.text_edit):
            edit.returnPressed.connect(self.apply_filters)
        self.apply_button.clicked.connect(self.apply_filters)
        self.since_check.toggled.connect(self.since_edit.setEnabled)
        self.until_check.toggled.connect(self.until_edit.setEnabled)
        self.tail_check.toggled.connect(self._set_tail)
        self.table.selectionModel().currentRowChanged.connect(self._show_detail)
        self.verify_button.clicked.connect(lambda: self.verify())
        self.verify_key_button.clicked.connect(self.choose_key_file)
        self.export_button.clicked.connect(self.choose_export_file)
        self.play_button.clicked.connect(self.play)
        self.pause_button.clicked.connect(self.pause)
        self.step_button.clicked.connect(self.step)
        self.stop_button.clicked.connect(self.stop)
        self.speed_combo.currentIndexChanged.connect(self._speed_changed)
        self.run_combo.currentIndexChanged.connect(self._show_replay)

    # -- filters ------------------------------------------------------------------------------

    @property
    def searching(self) -> bool:
        """Whether a filter is being applied (its rows are not on show yet)."""
        return self._searching

    def apply_filters(self) -> None:
        """Show the records matching the fields; an invalid field keeps the old filter."""
        filters = self._read_fields()
        try:
            self.model.set_filters(filters)
        except FilterError as exc:
            self._show_filter_error(exc)
            return
        self._show_filter_error(None)
        self._query(filters.where())

    def _query(self, where: EventFilter, then: Callable[[], object] | None = None) -> None:
        """Show the records matching `where`, read off the GUI thread when that needs a scan."""
        self._generation += 1
        generation = self._generation
        self._searching = True
        if not needs_scan(where):
            self._show_selection(generation, self.pager.select(where), then)
            return
        self.count_label.setText("searching…")
        self._in_background(
            self.pager.select,
            where,
            then=lambda future: self._selected(generation, future, then),
        )

    def _selected(
        self, generation: int, future: Future[Selection], then: Callable[[], object] | None
    ) -> None:
        try:
            selection = future.result()
        except (OSError, sqlite3.Error) as exc:
            if generation == self._generation:
                self._searching = False
                self.count_label.setText(f"cannot read the log: {exc}")
            return
        self._show_selection(generation, selection, then)

    def _show_selection(
        self, generation: int, selection: Selection, then: Callable[[], object] | None
    ) -> None:
        if generation != self._generation:
            return  # a newer filter was applied meanwhile
        self._searching = False
        self._applied = self.model.filters
        self.rows.show(selection)
        self.detail.clear()
        self._show_count()
        if self.model.tail:
            self.table.scrollToBottom()
        if then is not None:
            then()
        self.filtered.emit(len(self.pager))

    def _show_count(self) -> None:
        shown, total = len(self.pager), self.pager.total
        if self.pager.filtered:
            text = f"{shown:,} of {total:,} in the whole log match"
        else:
            text = f"{total:,} record{'' if total == 1 else 's'} in the whole log"
        added = self._counted_session = self.model.session_records
        if added is not None:
            text += f" · {added:,} added this session"
        self.count_label.setText(text)
        self.count_label.setToolTip(
            "The panel shows the whole audit log, every session's records; "
            "the status bar counts this session's too"
        )

    def _show_filter_error(self, problem: FilterError | None) -> None:
        if problem is not None:
            text = str(problem)
            shown = "all records" if self._applied == Filters() else "the last filter"
            self.filter_error.setText(f"{text[:1].upper()}{text[1:]}. Still showing {shown}.")
        self.filter_error.setVisible(problem is not None)
        topic_invalid = problem is not None and problem.field == "topic"
        self.topic_edit.setProperty("invalid", topic_invalid)
        self.topic_edit.style().unpolish(self.topic_edit)
        self.topic_edit.style().polish(self.topic_edit)

    def _read_fields(self) -> Filters:
        return Filters(
            topic=self.topic_edit.text().strip(),
            source=self.source_edit.text().strip(),
            run=self.run_combo.run_id(),
            since=_iso(self.since_edit) if self.since_check.isChecked() else "",
            until=_iso(self.until_edit) if self.until_check.isChecked() else "",
            text=self.text_edit.text().strip(),
        )

    def _load_fields(self, filters: Filters, tail: bool) -> None:
        self.topic_edit.setText(filters.topic)
        self.source_edit.setText(filters.source)
        self.text_edit.setText(filters.text)
        self.run_combo.set_run_id(filters.run)
        for check, edit, value in (
            (self.since_check, self.since_edit, filters.since),
            (self.until_check, self.until_edit, filters.until),
        ):
            check.setChecked(bool(value))
            if value:
                edit.setDateTime(_qdatetime(value))
        self.tail_check.setChecked(tail)

    # -- the clock ---------------------------------------------------------------------------

    def refresh(self) -> None:
        """One tick: take in new records, follow a restored state, show the replay's progress."""
        if self.model.closed:
            self.refresh_timer.stop()
            return
        if self.model.revision != self._revision:
            self._revision = self.model.revision
            self._load_fields(self.model.filters, self.model.tail)
            self._show_filter_error(None)
            self._query(self.model.filters.where())
        if not self._searching:
            grew = self.rows.follow()
            if grew or self.model.session_records != self._counted_session:
                self._show_count()
            if grew and self.model.tail:
                self.table.scrollToBottom()
        self._show_replay()

    def _set_tail(self, tail: bool) -> None:
        self.model.tail = tail
        if tail:
            self.table.scrollToBottom()

    def _show_detail(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.detail.setPlainText(describe(self.pager.row(current.row())))
        else:
            self.detail.clear()

    def select_seq(self, seq: int) -> bool:
        """Select and scroll to record `seq`; False when the current filter leaves it out."""
        row = self.pager.index_of(seq)
        if row is None:
            return False
        index = self.rows.index(row, 0)
        self.table.selectionModel().setCurrentIndex(
            index,
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        return True

    # -- background jobs --------------------------------------------------------------------

    def _in_background(
        self, job: Callable[..., Any], *args: Any, then: Callable[[Future[Any]], None]
    ) -> None:
        """Run the Qt-free `job(*args)` on a worker thread, then `then(future)` on this one.

        The worker holds no reference to the panel (a widget whose last reference went
        on a worker thread would be deleted there): only the courier and a job number.
        """
        number = next(_job_numbers)
        future = self.model.background(job, *args)
        self._jobs[number] = (future, then)
        future.add_done_callback(partial(_Courier.deliver, self._courier, number))

    def _deliver(self, number: int) -> None:
        future, then = self._jobs.pop(number)
        if not future.cancelled():
            then(future)

    # -- verify -------------------------------------------------------------------------------

    def verify(self, key: VerificationKey | None = None) -> None:
        """Check the whole chain off the GUI thread (with `key`, every record); show the
        verdict and select the first bad record."""
        self.verify_button.setEnabled(False)
        self.verify_key_button.setEnabled(False)
        self._show_verdict("busy", f"verifying {self.pager.total:,} records…")
        self._in_background(self.model.verify, key, then=self._verified)

    def choose_key_file(self) -> None:
        """Ask for the verification key file (without blocking the loop), then verify."""
        if self._key_dialog is None:
            dialog = self._key_dialog = QFileDialog(self, "The audit log's verification key")
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
            dialog.setNameFilters(["Verification keys (*.key)", "All files (*)"])
            dialog.fileSelected.connect(self._key_file_selected)
        self._key_dialog.open()

    def _key_file_selected(self, name: str) -> None:
        try:
            key = VerificationKey.read(Path(name))
        except (OSError, ValueError) as exc:
            self._show_verdict("tampered", f"cannot use {name} as the verification key: {exc}")
            return
        self.verify(key)

    def _verified(self, future: Future[VerifyReport]) -> None:
        self.verify_button.setEnabled(True)
        self.verify_key_button.setEnabled(True)
        try:
            report = future.result()
        except (OSError, ValueError, sqlite3.Error) as exc:
            self._show_verdict("tampered", f"cannot verify: {exc}")
            self.verified.emit(exc)
            return
        if not report.ok:
            verdict = "tampered"
        else:
            verdict = "partial" if report.unauthenticated or report.notes else "ok"
        self._show_verdict(verdict, " · ".join(str(report).splitlines()), str(report))
        if report.first_bad_seq is not None and not self.select_seq(report.first_bad_seq):
            self._show_all_then_select(report.first_bad_seq)
        self.verified.emit(report)

    def _show_all_then_select(self, seq: int) -> None:
        """Drop the filters so that record `seq` is on show, and select it."""
        self.model.set_filters(Filters())
        self._load_fields(Filters(), self.model.tail)
        self._show_filter_error(None)
        self._query(EventFilter(), then=lambda: self.select_seq(seq))

    def _show_verdict(self, verdict: str, text: str, detail: str = "") -> None:
        self.verdict.setText(text)
        self.verdict.setToolTip(detail or text)
        self.verdict.setProperty("verdict", verdict)
        self.verdict.style().unpolish(self.verdict)
        self.verdict.style().polish(self.verdict)

    # -- export -------------------------------------------------------------------------------

    def export_to(self, path: Path | str, fmt: str) -> int:
        """Write the current filter's records to `path` as "jsonl" or "csv"; return how many."""
        return export_events(self.model.storage, self.pager.where, Path(path), fmt)

    def choose_export_file(self) -> None:
        """Ask for a file (without blocking the loop), then export to it off the GUI thread."""
        if self._export_dialog is None:
            dialog = self._export_dialog = QFileDialog(self, "Export audit records")
            dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
            dialog.setNameFilters(list(EXPORT_FILTERS))
            dialog.setDefaultSuffix("jsonl")
            dialog.filterSelected.connect(self._export_filter_chosen)
            dialog.fileSelected.connect(self._export_selected)
        self._export_dialog.open()

    def _export_filter_chosen(self, name: str) -> None:
        if self._export_dialog is not None:
            self._export_dialog.setDefaultSuffix(EXPORT_FILTERS[name])

    def _export_selected(self, name: str) -> None:
        path = Path(name)
        fmt = format_for(path)
        self.export_button.setEnabled(False)
        self._show_message(f"exporting to {path.name}…")
        self._in_background(
            export_events,
            self.model.storage,
            self.pager.where,
            path,
            fmt,
            then=lambda future: self._exported(path, future),
        )

    def _exported(self, path: Path, future: Future[int]) -> None:
        self.export_button.setEnabled(True)
        try:
            written = future.result()
        except OSError as exc:
            self._show_message(f"export failed: {exc.strerror or exc}")
            self.exported.emit(exc)
            return
        self._show_message(f"exported {written:,} records to {path}")
        self.exported.emit(written)

    def _show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setToolTip(text)

    # -- replay -------------------------------------------------------------------------------

    def play(self) -> None:
        """Replay the chosen run at the chosen speed (or go on with it)."""
        run = self.run_combo.run_id()
        if run:
            self.model.play(run, self.speed_combo.currentData(), self._replay_scheduler())
        self._show_replay()

    def pause(self) -> None:
        """Hold the replay."""
        self.model.pause()
        self._show_replay()

    def step(self) -> None:
        """Publish the chosen run's next event and hold there."""
        run = self.run_combo.run_id()
        if run:
            self.model.step(run, self._replay_scheduler())
        self._show_replay()

    def stop(self) -> None:
        """End the replay."""
        self.model.stop_replay()
        self._show_replay()

    def _speed_changed(self) -> None:
        if self.model.replaying:
            self.play()

    def _replay_scheduler(self) -> abc.SchedulerBase:
        """The app's scheduler, or (where there is none) one on the Qt event loop."""
        if self._scheduler is None:
            self._scheduler = QtScheduler(QtCore)
        return self._scheduler

    def _show_replay(self) -> None:
        model = self.model
        chosen = bool(self.run_combo.run_id())
        active = model.replay is not None and not model.replay.finished
        self.play_button.setEnabled(chosen)
        self.play_button.setChecked(model.replaying)
        self.step_button.setEnabled(chosen)
        self.pause_button.setEnabled(model.replaying)
        self.stop_button.setEnabled(active)
        tip = "" if chosen else "Choose a run to replay"
        for button in (self.play_button, self.step_button):
            button.setToolTip(tip)
        self.replay_label.setText(model.replay_progress())


def _named(widget: W, name: str) -> W:
    """`widget`, named for the style sheet."""
    widget.setObjectName(name)
    return widget


def _line_edit(placeholder: str) -> QLineEdit:
    return QLineEdit(placeholderText=placeholder, clearButtonEnabled=True)


def _time_edit(value: QDateTime) -> QDateTimeEdit:
    edit = QDateTimeEdit(value, calendarPopup=True, displayFormat=TIME_FORMAT)
    edit.setEnabled(False)
    return edit


def _iso(edit: QDateTimeEdit) -> str:
    """The edit's (local) time as the log stores times: ISO 8601 in UTC."""
    moment = datetime.fromtimestamp(edit.dateTime().toMSecsSinceEpoch() / 1000, UTC)
    return moment.isoformat(timespec="microseconds")


def _qdatetime(iso: str) -> QDateTime:
    moment = datetime.fromisoformat(iso)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return QDateTime.fromMSecsSinceEpoch(round(moment.timestamp() * 1000))
