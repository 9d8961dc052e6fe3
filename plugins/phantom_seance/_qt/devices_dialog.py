"""The séance's audio devices dialog: input, output, sample rate, block size, buffer and
source."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from phantom_seance.audio import AudioDevice
from phantom_seance.settings import SeanceSettings, SourceKind

SAMPLERATES = (16_000, 22_050, 32_000, 44_100, 48_000, 96_000)
BLOCKSIZES = (64, 128, 256, 512, 1024, 2048)
LATENCIES_S = (0.02, 0.05, 0.1, 0.2, 0.5)
DEFAULT_DEVICE = "System default"
SOURCES = (
    (SourceKind.MICROPHONE, "Microphone (the input device)"),
    (SourceKind.FILE, "Recording (a WAV file played as the microphone)"),
    (SourceKind.SYNTHETIC, "Synthetic haunted room"),
)

DeviceLister = Callable[..., list[AudioDevice]]
"""Lists the sound devices; ``rescan=True`` asks PortAudio to look again."""


class DevicesDialog(QDialog):
    """Choose the séance's devices, stream format and source; `chosen` carries the new
    settings when the host presses OK. Not modal (qasync): open it with `show()`."""

    chosen = Signal(object)

    def __init__(
        self, settings: SeanceSettings, devices: DeviceLister, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Séance — audio devices")
        self._settings = settings
        self._devices = devices
        self.input_choice = QComboBox()
        self.output_choice = QComboBox()
        self.rescan_button = QPushButton("Rescan")
        self.rescan_button.setToolTip("Look for devices plugged in since Phantom started")
        self.samplerate_choice = QComboBox()
        for rate in sorted({*SAMPLERATES, settings.samplerate}):
            self.samplerate_choice.addItem(f"{rate:,} Hz", rate)
        self.blocksize_choice = QComboBox()
        for size in sorted({*BLOCKSIZES, settings.blocksize}):
            self.blocksize_choice.addItem(f"{size} frames", size)
        self.latency_choice = QComboBox()
        self.latency_choice.setToolTip(
            "Shorter answers sooner; longer rides out a busy computer without dropouts"
        )
        for latency_s in sorted({*LATENCIES_S, settings.latency_s}):
            self.latency_choice.addItem(f"{latency_s * 1000:g} ms", latency_s)
        self.source_choice = QComboBox()
        for kind, label in SOURCES:
            self.source_choice.addItem(label, kind.value)
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("a .wav file")
        self.browse_button = QPushButton("Choose…")
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #e0344a;")
        self.problem.setWordWrap(True)
        self.problem.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )

        devices_row = QHBoxLayout()
        devices_row.addWidget(self.input_choice, 1)
        devices_row.addWidget(self.rescan_button)
        file_row = QHBoxLayout()
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(self.browse_button)
        form = QFormLayout()
        form.addRow("Input", devices_row)
        form.addRow("Output", self.output_choice)
        form.addRow("Sample rate", self.samplerate_choice)
        form.addRow("Block size", self.blocksize_choice)
        form.addRow("Buffer", self.latency_choice)
        form.addRow("Source", self.source_choice)
        form.addRow("Recording", file_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)

        self.rescan_button.clicked.connect(lambda: self.list_devices(rescan=True))
        self.browse_button.clicked.connect(self._browse)
        self.source_choice.currentIndexChanged.connect(self._source_changed)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.list_devices()
        _select(self.samplerate_choice, settings.samplerate)
        _select(self.blocksize_choice, settings.blocksize)
        _select(self.latency_choice, settings.latency_s)
        _select(self.source_choice, settings.source.value)
        self.file_edit.setText(str(settings.source_file or ""))
        self._source_changed()

    def list_devices(self, *, rescan: bool = False) -> None:
        """Fill the device lists (asking PortAudio again with `rescan`), keeping the choice."""
        wanted_input = self.input_choice.currentData() if self.input_choice.count() else None
        wanted_output = self.output_choice.currentData() if self.output_choice.count() else None
        if not self.input_choice.count():
            wanted_input, wanted_output = self._settings.input_device, self._settings.output_device
        devices = self._devices(rescan=rescan)
        for choice, channels, wanted in (
            (self.input_choice, "input_channels", wanted_input),
            (self.output_choice, "output_channels", wanted_output),
        ):
            choice.clear()
            choice.addItem(DEFAULT_DEVICE, None)
            for device in devices:
                if getattr(device, channels) > 0:
                    choice.addItem(f"{device.name} ({device.host_api})", device.name)
            if wanted is not None and choice.findData(wanted) < 0:
                choice.addItem(f"{wanted} (not present)", wanted)
            _select(choice, wanted)
        if not devices:
            self._say("No sound device is listed: the séance plays its synthetic room.")

    def _source_changed(self) -> None:
        is_file = self.source_choice.currentData() == SourceKind.FILE
        self.file_edit.setEnabled(is_file)
        self.browse_button.setEnabled(is_file)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "A recording to play as the microphone", self.file_edit.text(), "WAV (*.wav)"
        )
        if path:
            self.file_edit.setText(path)

    def settings(self) -> SeanceSettings:
        """The settings as the dialog shows them; ValueError says what is missing."""
        source = SourceKind(self.source_choice.currentData())
        text = self.file_edit.text().strip()
        if source is SourceKind.FILE and not text:
            raise ValueError("choose the recording to play as the microphone")
        return SeanceSettings.model_validate(
            {
                **self._settings.model_dump(),
                "input_device": self.input_choice.currentData(),
                "output_device": self.output_choice.currentData(),
                "samplerate": self.samplerate_choice.currentData(),
                "blocksize": self.blocksize_choice.currentData(),
                "latency_s": self.latency_choice.currentData(),
                "source": source,
                "source_file": Path(text) if text else None,
            }
        )

    def accept(self) -> None:
        """Hand the choice on (and remember it as the dialog's), or say what is missing."""
        try:
            settings = self.settings()
        except ValueError as error:
            self._say(str(error))
            return
        self._settings = settings
        self.problem.hide()
        self.chosen.emit(settings)
        super().accept()

    def _say(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.show()


def _select(choice: QComboBox, value: object) -> None:
    index = choice.findData(value)
    if index >= 0:
        choice.setCurrentIndex(index)
