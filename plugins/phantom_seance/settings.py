"""The séance's settings, kept in its section of the app's settings file."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, model_validator

from phantom_gui.core.settings import SettingsModel


class SourceKind(StrEnum):
    """Where the séance listens: the input device, a recording, or the made-up room."""

    MICROPHONE = "microphone"
    FILE = "file"
    SYNTHETIC = "synthetic"


class SeanceSettings(SettingsModel):
    """The devices, stream format and source a host chose last time."""

    input_device: str | None = None
    """The input device's name as PortAudio lists it; None for the system's default."""
    output_device: str | None = None
    """The output device's name; None for the system's default."""
    samplerate: int = Field(48_000, ge=8_000, le=192_000)
    blocksize: int = Field(256, ge=32, le=8192)
    """Frames per audio callback: smaller answers sooner, larger is safer from xruns."""
    latency_s: float = Field(0.1, ge=0.005, le=1.0)
    """How much audio the device keeps buffered: smaller answers sooner, larger rides out a
    busy machine without xruns (0.1 s gave none with eight busy processes on two cores)."""
    source: SourceKind = SourceKind.MICROPHONE
    source_file: Path | None = None
    """The WAV file played as the microphone when `source` is `file`."""

    @model_validator(mode="after")
    def _file_source_names_a_file(self) -> SeanceSettings:
        if self.source is SourceKind.FILE and self.source_file is None:
            raise ValueError("a file source needs source_file")
        return self
