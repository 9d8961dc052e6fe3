"""The Séance panel: a thin Qt view of the séance the plugin runs.

The shadow realm fills the panel; beside it the room's level, voice and atmosphere, the
rituals, the participants and the haunts, the xrun counts and the devices dialog. A
60 Hz frame clock hands the séance's latest `SceneFrame` to the realm; the side panel
follows the séance's `SeanceState` a few times a second.
"""

from __future__ import annotations

import math
import time
from typing import Protocol

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from phantom_gui.qt.theme import ASH, BLOOD, BONE, CRYPT, ECTOPLASM, MIST, NIGHT, PUMPKIN
from phantom_seance._qt.devices_dialog import DevicesDialog
from phantom_seance._qt.scene import SceneUnavailable, ShadowRealm
from phantom_seance.audio import AudioDevice
from phantom_seance.frame import SceneFrame
from phantom_seance.haunts import BANISHING, SUMMONING
from phantom_seance.run import HauntLine, SeanceState
from phantom_seance.settings import SeanceSettings

FRAME_MS = 16
STATE_EVERY = 6
"""The side panel is refreshed every this many frames (about 10 times a second)."""
METER_FLOOR_DBFS = -72
SIDE_WIDTH = 330

PERSONALITY_COLOURS = {"mischievous": "#66ff4d", "melancholy": "#8cb3ff", "malevolent": "#ff3847"}

STYLE = f"""
QWidget#seancePanel {{ background-color: {NIGHT}; }}
QLabel#seanceSource {{ color: {PUMPKIN}; font-size: 14px; font-weight: bold; }}
QLabel#seanceReplay {{ color: {NIGHT}; background-color: {ECTOPLASM}; border-radius: 3px;
    padding: 1px 6px; font-weight: bold; }}
QLabel#seanceMessage {{ color: {ASH}; }}
QLabel#seanceMessage[alarming="true"] {{ color: {BLOOD}; font-weight: bold; }}
QLabel#seanceHeading {{ color: {ASH}; font-size: 11px; font-weight: bold;
    letter-spacing: 1px; margin-top: 6px; }}
QLabel#seanceVoice {{ color: {ASH}; }}
QLabel#seanceVoice[speaking="true"] {{ color: {ECTOPLASM}; font-weight: bold; }}
QLabel#seanceXruns {{ color: {ASH}; }}
QLabel#seanceXruns[alarming="true"] {{ color: {BLOOD}; }}
QLabel#seanceNoScene {{ color: {BONE}; background-color: {CRYPT}; padding: 24px; }}
QProgressBar {{ background-color: {CRYPT}; border: 1px solid {MIST}; border-radius: 3px;
    color: {BONE}; text-align: center; min-height: 16px; max-height: 16px; }}
QProgressBar#seanceLevel::chunk {{ background-color: qlineargradient(x1:0, y1:0, x2:1, y2:0,
    stop:0 #2fd9c4, stop:0.7 #9e52ff, stop:1 {BLOOD}); }}
QProgressBar#seanceAtmosphere::chunk {{ background-color: qlineargradient(x1:0, y1:0, x2:1,
    y2:0, stop:0 #4d4d99, stop:1 #d9338c); }}
QPushButton#seanceRitual:checked {{ background-color: {PUMPKIN}; color: {NIGHT};
    border-color: {PUMPKIN}; }}
QTableWidget {{ background-color: {CRYPT}; alternate-background-color: {MIST};
    border: 1px solid {MIST}; }}
"""


class SeanceSource(Protocol):
    """What the panel reads from and sends to the séance (the plugin)."""

    @property
    def frame(self) -> SceneFrame: ...

    def state(self) -> SeanceState: ...

    def start_ritual(self, name: str) -> None: ...

    def end_ritual(self, name: str) -> None: ...

    def settings(self) -> SeanceSettings: ...

    def devices(self, *, rescan: bool = False) -> list[AudioDevice]: ...

    def choose(self, settings: SeanceSettings) -> None: ...


def heading(text: str) -> QLabel:
    return QLabel(text.upper(), objectName="seanceHeading")


def table(columns: tuple[str, ...], name: str) -> QTableWidget:
    """A read-only table, its first column stretched."""
    widget = QTableWidget(0, len(columns), objectName=name)
    widget.setHorizontalHeaderLabels(columns)
    widget.verticalHeader().hide()
    widget.verticalHeader().setDefaultSectionSize(22)
    widget.setAlternatingRowColors(True)
    widget.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    widget.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    header = widget.horizontalHeader()
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    for column in range(1, len(columns)):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
    return widget


def sentiment_text(score: float) -> str:
    """A sentiment score as a word and its value: ``animated +0.42``."""
    word = "animated" if score > 0.25 else "subdued" if score < -0.25 else "even"
    return f"{word} {score:+.2f}"


def last_words_text(line: HauntLine) -> str:
    """When a haunt last spoke, in seconds into the séance, and why: ``12 s in · quiet``."""
    words = line.last_words
    if words is None:
        return "silent so far"
    reason = "quiet room" if words.reason == "quiet" else "whim"
    return f"{words.at:.0f} s in · {reason}"


def set_flag(widget: QWidget, name: str, value: bool) -> None:
    """Set a style property and have the style sheet look at it again."""
    if widget.property(name) == value:
        return
    widget.setProperty(name, value)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class SeancePanel(QWidget):
    """The shadow realm (or why it cannot be shown) beside the séance's controls."""

    def __init__(self, seance: SeanceSource, parent: QWidget | None = None, *, seed: int = 0):
        super().__init__(parent)
        self.seance = seance
        self.setObjectName("seancePanel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(STYLE)
        self._frames = 0
        self._shown_slow: tuple[object, ...] = ()
        self.dialog: DevicesDialog | None = None

        self.source_label = QLabel("Séance", objectName="seanceSource")
        self.source_label.setWordWrap(True)
        self.replay_badge = QLabel("REPLAY", objectName="seanceReplay")
        self.replay_badge.hide()
        self.message_label = QLabel(objectName="seanceMessage")
        self.message_label.setWordWrap(True)

        self.realm: ShadowRealm | None
        try:
            self.realm = ShadowRealm(self, seed=seed)
            scene: QWidget = self.realm
        except SceneUnavailable as exc:
            self.realm = None
            scene = QLabel(
                f"The shadow realm cannot be shown here: {exc}.", objectName="seanceNoScene"
            )
            scene.setWordWrap(True)
            scene.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scene_widget = scene

        self.level_meter = QProgressBar(objectName="seanceLevel")
        self.level_meter.setRange(METER_FLOOR_DBFS, 0)
        self.voice_label = QLabel(objectName="seanceVoice")
        self.atmosphere_meter = QProgressBar(objectName="seanceAtmosphere")
        self.atmosphere_meter.setRange(0, 100)
        self.summon_button = QPushButton("Summon", objectName="seanceRitual", checkable=True)
        self.summon_button.setToolTip("A summoning: the haunts speak more often")
        self.banish_button = QPushButton("Banish", objectName="seanceRitual", checkable=True)
        self.banish_button.setToolTip("A banishing: the haunts fall silent, the air clears")
        self.participants = table(("Participant", "Role", "Sentiment"), "seanceParticipants")
        self.haunts = table(("Haunt", "Voice", "Last words"), "seanceHaunts")
        self.xruns_label = QLabel(objectName="seanceXruns")
        self.devices_button = QPushButton("Audio devices…")

        rituals = QHBoxLayout()
        rituals.addWidget(self.summon_button)
        rituals.addWidget(self.banish_button)
        side = QVBoxLayout()
        side.setContentsMargins(0, 0, 0, 0)
        for widget in (
            heading("The room"),
            self.level_meter,
            self.voice_label,
            heading("Atmosphere"),
            self.atmosphere_meter,
            heading("Rituals"),
        ):
            side.addWidget(widget)
        side.addLayout(rituals)
        side.addWidget(heading("Participants"))
        side.addWidget(self.participants, 1)
        side.addWidget(heading("Haunts"))
        side.addWidget(self.haunts, 1)
        side.addWidget(self.xruns_label)
        side.addWidget(self.devices_button)
        side_panel = QFrame()
        side_panel.setLayout(side)
        side_panel.setFixedWidth(SIDE_WIDTH)

        header = QHBoxLayout()
        header.addWidget(self.source_label, 1)
        header.addWidget(self.replay_badge)
        body = QHBoxLayout()
        body.addWidget(scene, 1)
        body.addWidget(side_panel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addLayout(header)
        layout.addWidget(self.message_label)
        layout.addLayout(body, 1)

        self.summon_button.toggled.connect(lambda on: self._ritual(SUMMONING, on))
        self.banish_button.toggled.connect(lambda on: self._ritual(BANISHING, on))
        self.devices_button.clicked.connect(self.open_devices)
        self.frame_clock = QTimer(self, interval=FRAME_MS)
        self.frame_clock.timeout.connect(self.show_frame)
        self.frame_clock.start()
        self.refresh()

    def show_frame(self) -> None:
        """The frame clock: the realm shows the séance's latest frame; every few frames
        the side panel follows its state."""
        if self.realm is not None:
            self.realm.show_frame(self.seance.frame, time.monotonic())
        self._frames += 1
        if self._frames % STATE_EVERY == 0:
            self.refresh()

    def refresh(self) -> None:
        """Show the séance's state: level, voice, atmosphere, rituals, who is there."""
        state = self.seance.state()
        level = state.level_dbfs
        shown = max(METER_FLOOR_DBFS, round(level)) if math.isfinite(level) else METER_FLOOR_DBFS
        self.level_meter.setValue(shown)
        self.level_meter.setFormat(f"{level:.0f} dBFS" if math.isfinite(level) else "silence")
        self.voice_label.setText("● a voice in the room" if state.voiced else "○ silence")
        set_flag(self.voice_label, "speaking", state.voiced)
        self.atmosphere_meter.setValue(round(100 * state.atmosphere))
        self.atmosphere_meter.setFormat(f"{state.atmosphere:.0%}")
        self._show_xruns(state)
        slow = (
            state.source,
            state.replaying,
            state.messages,
            state.rituals,
            state.participants,
            state.haunts,
        )
        if slow == self._shown_slow:
            return
        self._shown_slow = slow
        self.source_label.setText(state.source)
        self.replay_badge.setVisible(state.replaying)
        latest = state.messages[-1] if state.messages else None
        self.message_label.setVisible(latest is not None)
        if latest is not None:
            self.message_label.setText(latest.text)
            set_flag(self.message_label, "alarming", latest.alarming)
        for button, ritual in ((self.summon_button, SUMMONING), (self.banish_button, BANISHING)):
            button.blockSignals(True)
            button.setChecked(ritual in state.rituals)
            button.blockSignals(False)
        self._show_participants(state)
        self._show_haunts(state)

    def _show_participants(self, state: SeanceState) -> None:
        rows = self.participants
        rows.setRowCount(len(state.participants))
        for row, participant in enumerate(state.participants):
            name = participant.id + (" ●" if participant.speaking else "")
            cells = (name, participant.role, sentiment_text(participant.sentiment_score))
            for column, text in enumerate(cells):
                rows.setItem(row, column, QTableWidgetItem(text))

    def _show_haunts(self, state: SeanceState) -> None:
        rows = self.haunts
        rows.setRowCount(len(state.haunts))
        for row, line in enumerate(state.haunts):
            name = QTableWidgetItem(f"{line.name} · {line.personality}")
            name.setForeground(QColor(PERSONALITY_COLOURS.get(line.personality, BONE)))
            rows.setItem(row, 0, name)
            rows.setItem(row, 1, QTableWidgetItem(line.voice_model))
            rows.setItem(row, 2, QTableWidgetItem(last_words_text(line)))

    def _show_xruns(self, state: SeanceState) -> None:
        self.xruns_label.setText(
            f"Xruns: {state.overflows:,} input overflows · {state.underflows:,} output underflows"
        )
        set_flag(self.xruns_label, "alarming", bool(state.overflows or state.underflows))

    def _ritual(self, name: str, on: bool) -> None:
        if on:
            self.seance.start_ritual(name)
        else:
            self.seance.end_ritual(name)

    def open_devices(self) -> DevicesDialog:
        """Open the devices dialog (not modal); its choice is handed to the séance."""
        if self.dialog is None:
            self.dialog = DevicesDialog(self.seance.settings(), self.seance.devices, self)
            self.dialog.chosen.connect(self.seance.choose)
        self.dialog.show()
        self.dialog.raise_()
        return self.dialog

    def dispose(self) -> None:
        """Stop the frame clock and close the realm's canvas; the panel shows nothing more."""
        self.frame_clock.stop()
        if self.dialog is not None:
            self.dialog.close()
        if self.realm is not None:
            self.realm.dispose()
            self.realm = None
