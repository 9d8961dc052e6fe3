"""Voice activity per 20 ms frame: speech told apart from steady noise and from music.

Each frame i (samples [i·hop, (i+1)·hop), hop = 20 ms) is looked at through the span of
about 40 ms that ends with it, and gives four features:

- energy_db = 10·log10(mean x²) of the frame;
- periodicity and pitch from YIN over 70–400 Hz (`pitch.track_pitch`): voiced speech is
  periodic with a pitch in that range, noise is not;
- flux: how much the spectral envelope moved since the previous frame, the RMS over
  `FLUX_BANDS` log bands (100 Hz–4 kHz) of the change of their level-normalised dB,
  each band floored at `FLUX_FLOOR_DB` below the frame's loudest band;
- pitch glide: |log2(f_i / f_{i−1})| between consecutive periodic frames.

Speech differs from its look-alikes in its context of about 300 ms (`CONTEXT_FRAMES`):
it mixes periodic and aperiodic frames (noise has no periodic frames; a held tone, a chord
or a tune has nearly only periodic ones), its formants move through its vowels (the median
flux of its periodic frames is high, while a note keeps its timbre so a tune's flux stays
near zero except at its note onsets), and its pitch glides (a note's pitch holds). A frame
is evidence of speech when it is loud enough, periodic, and its context shows
`MIN_VOICED` to `MAX_VOICED_SHARE` periodic frames whose median flux reaches `MIN_FLUX_DB`
or whose median glide reaches `MIN_GLIDE_OCT`. Voice is then the evidence widened by a
hangover (`HANGOVER_FRAMES` after, `ONSET_FRAMES` before), so the consonants and short
pauses of speech around its vowels count as speech, and isolated evidence frames under
`MIN_RUN_FRAMES` are dropped.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from phantom_seance.pitch import PITCH_MAX_HZ, PITCH_MIN_HZ, span, track_pitch

FRAME_S = 0.02
FLUX_BANDS = 16
FLUX_LOW_HZ = 100.0
FLUX_HIGH_HZ = 4000.0
FLUX_FLOOR_DB = 50.0
SILENCE_DB = -60.0
PERIODIC = 0.6
CONTEXT_FRAMES = 15
MIN_VOICED = 3
MAX_VOICED_SHARE = 0.9
MIN_FLUX_DB = 2.0
MIN_GLIDE_OCT = 0.01
HANGOVER_FRAMES = 8
ONSET_FRAMES = 3
MIN_RUN_FRAMES = 2


@dataclass(frozen=True)
class FrameFeatures:
    """The features of consecutive 20 ms frames (one entry per frame in each array)."""

    energy_db: np.ndarray
    periodicity: np.ndarray
    pitch_hz: np.ndarray
    bands_db: np.ndarray

    def __len__(self) -> int:
        return len(self.energy_db)

    def followed_by(self, later: FrameFeatures, keep: int) -> FrameFeatures:
        """These frames then `later`'s, only the last `keep` of them."""
        return FrameFeatures(
            np.concatenate([self.energy_db, later.energy_db])[-keep:],
            np.concatenate([self.periodicity, later.periodicity])[-keep:],
            np.concatenate([self.pitch_hz, later.pitch_hz])[-keep:],
            np.concatenate([self.bands_db, later.bands_db])[-keep:],
        )


def no_frames() -> FrameFeatures:
    return FrameFeatures(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros((0, FLUX_BANDS)))


def frame_hop(samplerate: int) -> int:
    return round(FRAME_S * samplerate)


def lookback(samplerate: int) -> int:
    """Samples of history a frame's features need before its end."""
    window, _, lag_hi = span(samplerate)
    return max(window + lag_hi, frame_hop(samplerate))


def frame_features(samples: np.ndarray, samplerate: int) -> FrameFeatures:
    """The features of each whole 20 ms frame of `samples` (earlier audio taken as silence)."""
    hop = frame_hop(samplerate)
    count = len(samples) // hop
    need = lookback(samplerate)
    padded = np.concatenate([np.zeros(need, np.float32), np.asarray(samples, np.float32)])
    return features_of_tail(padded, samplerate, count)


def features_of_tail(history: np.ndarray, samplerate: int, count: int) -> FrameFeatures:
    """Features of the last `count` frames of `history`, which ends at a frame boundary and
    holds `lookback(samplerate)` samples before the first of them."""
    hop = frame_hop(samplerate)
    need = lookback(samplerate)
    ends = len(history) - hop * np.arange(count - 1, -1, -1)
    spans = np.lib.stride_tricks.sliding_window_view(history, need)[ends - need]
    frames = spans[:, need - hop :].astype(np.float64)
    energy_db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    track = track_pitch(spans, samplerate)
    return FrameFeatures(energy_db, track.periodicity, track.pitch_hz, _bands_db(spans, samplerate))


def _bands_db(spans: np.ndarray, samplerate: int) -> np.ndarray:
    window, weights = _band_weights(spans.shape[1], samplerate)
    power = np.abs(np.fft.rfft(spans * window, axis=1)) ** 2
    return np.asarray(10 * np.log10(power @ weights + 1e-12))


@functools.cache
def _band_weights(size: int, samplerate: int) -> tuple[np.ndarray, np.ndarray]:
    """The Hann window and the (bins × FLUX_BANDS) matrix that averages bins into bands."""
    freqs = np.fft.rfftfreq(size, 1 / samplerate)
    edges = np.geomspace(FLUX_LOW_HZ, min(FLUX_HIGH_HZ, 0.45 * samplerate), FLUX_BANDS + 1)
    which = np.searchsorted(edges, freqs) - 1
    inside = (which >= 0) & (which < FLUX_BANDS)
    weights = np.zeros((len(freqs), FLUX_BANDS))
    weights[np.flatnonzero(inside), which[inside]] = 1.0
    return np.hanning(size), weights / np.maximum(weights.sum(axis=0), 1.0)


def periodic_frames(features: FrameFeatures) -> np.ndarray:
    """Frames that are loud and periodic with a pitch in the range of the voice."""
    loud = features.energy_db > SILENCE_DB
    pitched = (features.pitch_hz >= PITCH_MIN_HZ) & (features.pitch_hz <= PITCH_MAX_HZ)
    return np.asarray(loud & pitched & (features.periodicity >= PERIODIC))


def speech_evidence(features: FrameFeatures) -> np.ndarray:
    """Frames that are loud, periodic and whose context looks like speech (module docstring)."""
    periodic = periodic_frames(features)
    bands = features.bands_db - features.bands_db.max(axis=1, keepdims=True)
    bands = np.maximum(bands, -FLUX_FLOOR_DB)
    flux = np.zeros(len(bands))
    flux[1:] = np.sqrt(np.mean(np.diff(bands, axis=0) ** 2, axis=1))
    glide = np.zeros(len(bands))
    safe = np.maximum(features.pitch_hz, 1.0)
    glide[1:] = np.abs(np.log2(safe[1:] / safe[:-1]))
    pair = np.zeros(len(bands), bool)
    pair[1:] = periodic[1:] & periodic[:-1]
    voiced_count = _window_sum(periodic.astype(float))
    flux_median = _window_median(np.where(pair, flux, np.nan))
    glide_median = _window_median(np.where(pair, glide, np.nan))
    speechlike = (
        (voiced_count >= MIN_VOICED)
        & (voiced_count <= MAX_VOICED_SHARE * CONTEXT_FRAMES)
        & ((flux_median >= MIN_FLUX_DB) | (glide_median >= MIN_GLIDE_OCT))
    )
    return periodic & speechlike


def smooth(evidence: np.ndarray) -> np.ndarray:
    """Evidence runs under `MIN_RUN_FRAMES` dropped, the rest widened by onset and hangover."""
    kept = evidence.copy()
    edges = np.flatnonzero(np.diff(np.concatenate([[0], evidence.astype(np.int8), [0]])))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        if stop - start < MIN_RUN_FRAMES:
            kept[start:stop] = False
    voice = kept.copy()
    for shift in range(1, HANGOVER_FRAMES + 1):
        voice[shift:] |= kept[:-shift]
    for shift in range(1, ONSET_FRAMES + 1):
        voice[:-shift] |= kept[shift:]
    return voice


def detect_voice(samples: np.ndarray, samplerate: int) -> np.ndarray:
    """True for each whole 20 ms frame of mono `samples` that holds speech."""
    signal = np.asarray(samples, dtype=np.float32)
    if signal.ndim != 1:
        raise ValueError(f"detect_voice wants mono samples (1-D), got shape {signal.shape}")
    if samplerate < 8000:
        raise ValueError(f"detect_voice needs a sample rate of at least 8000 Hz, got {samplerate}")
    if len(signal) < frame_hop(samplerate):
        return np.zeros(0, dtype=bool)
    return smooth(speech_evidence(frame_features(signal, samplerate)))


def _window_sum(values: np.ndarray) -> np.ndarray:
    half = CONTEXT_FRAMES // 2
    padded = np.concatenate([np.zeros(half), values, np.zeros(half)])
    cumulative = np.concatenate([[0.0], np.cumsum(padded)])
    return np.asarray(cumulative[CONTEXT_FRAMES:] - cumulative[:-CONTEXT_FRAMES])


def _window_median(values: np.ndarray) -> np.ndarray:
    """Median of the non-NaN values in each centred context window (0 where none)."""
    half = CONTEXT_FRAMES // 2
    padded = np.concatenate([np.full(half, np.nan), values, np.full(half, np.nan)])
    windows = np.sort(np.lib.stride_tricks.sliding_window_view(padded, CONTEXT_FRAMES), axis=1)
    present = np.sum(~np.isnan(windows), axis=1)
    rows = np.arange(len(values))
    upper = windows[rows, present // 2]
    lower = windows[rows, np.maximum(present - 1, 0) // 2]
    return np.where(present > 0, (upper + lower) / 2, 0.0)
