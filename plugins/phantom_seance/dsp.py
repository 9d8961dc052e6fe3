"""The séance's ear: level, spectrum, voice activity, pitch and speaking rate of live audio.

`detect_voice(samples, samplerate)` judges a whole recording, one boolean per 20 ms frame
(`phantom_seance.voice`). `Analyser(samplerate)` follows a stream: each `analyse(samples)`
takes the audio that arrived since the previous call (any length, each sample once) and
returns an `Analysis`:

- `level_dbfs` = 20·log10(RMS) of those samples (a full-scale sine reads −3 dBFS;
  silence reads `spectrum.FLOOR_DB`);
- `spectrum`: `BANDS` levels in dBFS over log-spaced bands from 40 Hz to 16 kHz, of the
  latest ~85 ms (`phantom_seance.spectrum`);
- `voiced`: voice activity of the newest frame whose context is complete, which is
  `VOICE_DELAY_S` old (the detector looks that far ahead of a frame);
- `pitch_hz`: the median YIN pitch of the periodic frames among the last `PITCH_FRAMES`
  up to that frame, or None when it is not voiced;
- `speaking_rate`: syllable nuclei per second over the last `RATE_WINDOW_S`
  (`phantom_seance.syllables`), 0 in silence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from phantom_seance.spectrum import BANDS, FLOOR_DB, BandSpectrum
from phantom_seance.syllables import speaking_rate
from phantom_seance.voice import (
    CONTEXT_FRAMES,
    FRAME_S,
    FrameFeatures,
    detect_voice,
    features_of_tail,
    frame_hop,
    lookback,
    no_frames,
    periodic_frames,
    smooth,
    speech_evidence,
)

__all__ = ["BANDS", "Analyser", "Analysis", "detect_voice"]

RATE_WINDOW_S = 4.0
PITCH_FRAMES = 5
VOICE_DELAY_S = (CONTEXT_FRAMES // 2) * FRAME_S


@dataclass(frozen=True)
class Analysis:
    """What the analyser heard in the latest audio."""

    level_dbfs: float
    spectrum: np.ndarray
    voiced: bool
    pitch_hz: float | None
    speaking_rate: float


class Analyser:
    """Follows one mono stream at `samplerate`; keeps the few seconds its features need."""

    def __init__(self, samplerate: int) -> None:
        if samplerate < 8000:
            raise ValueError(
                f"the analyser needs a sample rate of at least 8000 Hz, got {samplerate}"
            )
        self.samplerate = samplerate
        self._hop = frame_hop(samplerate)
        self._spectrum = BandSpectrum(samplerate)
        self._keep = max(self._spectrum.size, lookback(samplerate)) + self._hop
        self._buffer = np.zeros(2 * self._keep + samplerate, dtype=np.float32)
        self._end = self._keep
        self._pending = 0
        self._frames = round(RATE_WINDOW_S / FRAME_S) + CONTEXT_FRAMES
        self._features = no_frames()
        self._last = Analysis(FLOOR_DB, np.full(BANDS, FLOOR_DB), False, None, 0.0)
        self._voice: tuple[bool, float | None, float] = (False, None, 0.0)

    def analyse(self, samples: np.ndarray) -> Analysis:
        """The analysis after `samples` (mono, the audio since the previous call)."""
        block = np.asarray(samples, dtype=np.float32)
        if block.ndim != 1:
            raise ValueError(f"the analyser wants mono samples (1-D), got shape {block.shape}")
        if len(block) == 0:
            return self._last
        for start in range(0, len(block), self.samplerate):
            self._append(block[start : start + self.samplerate])
        mean_square = float(np.mean(np.square(block, dtype=np.float64)))
        level = 10 * np.log10(mean_square) if mean_square > 0 else FLOOR_DB
        spectrum = self._spectrum.levels(self._buffer[: self._end])
        voiced, pitch, rate = self._voice
        self._last = Analysis(max(level, FLOOR_DB), spectrum, voiced, pitch, rate)
        return self._last

    def _append(self, block: np.ndarray) -> None:
        if self._end + len(block) > len(self._buffer):
            self._buffer[: self._keep] = self._buffer[self._end - self._keep : self._end]
            self._end = self._keep
        self._buffer[self._end : self._end + len(block)] = block
        self._end += len(block)
        self._pending += len(block)
        new_frames = self._pending // self._hop
        if new_frames:
            self._pending -= new_frames * self._hop
            history = self._buffer[: self._end - self._pending]
            fresh = features_of_tail(history, self.samplerate, new_frames)
            self._features = self._features.followed_by(fresh, self._frames)
            self._voice = self._judge(self._features)

    def _judge(self, features: FrameFeatures) -> tuple[bool, float | None, float]:
        decided = len(features) - CONTEXT_FRAMES // 2
        if decided <= 0:
            return False, None, 0.0
        voice = smooth(speech_evidence(features))[:decided]
        periodic = periodic_frames(features)[:decided]
        recent = periodic[-PITCH_FRAMES:]
        voiced = bool(voice[-1])
        pitch = (
            float(np.median(features.pitch_hz[:decided][-PITCH_FRAMES:][recent]))
            if voiced and recent.any()
            else None
        )
        window = round(RATE_WINDOW_S / FRAME_S)
        rate = speaking_rate(
            features.energy_db[:decided][-window:], (voice & periodic)[-window:], FRAME_S
        )
        return voiced, pitch, rate
