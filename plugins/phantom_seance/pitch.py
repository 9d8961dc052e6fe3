"""Periodicity and pitch of short frames, after YIN (de Cheveigné and Kawahara, 2002).

For a frame x of W samples and a lag τ, the difference function is

    d(τ) = Σ_{j<W} (x_j − x_{j+τ})² = e(0) + e(τ) − 2 r(τ),

with e(τ) = Σ_{j<W} x_{j+τ}² (from a running sum of squares) and r(τ) = Σ_{j<W} x_j x_{j+τ}
(a cross-correlation through the FFT). Its cumulative mean normalised form is

    d'(τ) = d(τ) · τ / Σ_{k=1..τ} d(k),   d'(0) = 1.

A periodic frame has d' near 0 at its period; noise keeps d' near 1. The period is the first
lag in the search range where d' dips under `YIN_THRESHOLD` (its local minimum), else the
global minimum; parabolic interpolation refines it. `periodicity = 1 − d'(period)`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PITCH_MIN_HZ = 70.0
PITCH_MAX_HZ = 400.0
YIN_THRESHOLD = 0.2
WINDOW_S = 0.025


@dataclass(frozen=True)
class PitchTrack:
    """Per frame: `periodicity` in [0, 1] (1 = perfectly periodic) and `pitch_hz`."""

    periodicity: np.ndarray
    pitch_hz: np.ndarray


def span(samplerate: int) -> tuple[int, int, int]:
    """(window, shortest lag, longest lag) in samples; a frame needs window + longest lag."""
    return (
        round(WINDOW_S * samplerate),
        max(2, int(samplerate / PITCH_MAX_HZ)),
        int(np.ceil(samplerate / PITCH_MIN_HZ)),
    )


def track_pitch(frames: np.ndarray, samplerate: int) -> PitchTrack:
    """YIN on each row of `frames` (rows of at least window + longest lag samples)."""
    window, lag_lo, lag_hi = span(samplerate)
    rows = np.asarray(frames, dtype=np.float64)[:, : window + lag_hi]
    rows = rows - rows.mean(axis=1, keepdims=True)
    size = 1 << int(np.ceil(np.log2(window + lag_hi + window)))
    head = np.fft.rfft(rows[:, :window], size)
    whole = np.fft.rfft(rows, size)
    cross = np.fft.irfft(np.conj(head) * whole, size)[:, : lag_hi + 1]
    squares = np.concatenate([np.zeros((len(rows), 1)), np.cumsum(rows**2, axis=1)], axis=1)
    energy = squares[:, window : window + lag_hi + 1] - squares[:, : lag_hi + 1]
    diff = np.maximum(energy[:, :1] + energy - 2 * cross, 0.0)
    cumulative = np.cumsum(diff[:, 1:], axis=1)
    lags = np.arange(1, lag_hi + 1)
    normalised = np.ones_like(diff)
    normalised[:, 1:] = diff[:, 1:] * lags / np.maximum(cumulative, 1e-12)
    search = normalised[:, lag_lo : lag_hi + 1]
    below = search < YIN_THRESHOLD
    first = np.where(below.any(axis=1), below.argmax(axis=1), search.argmin(axis=1))
    index = _descend(search, first)
    best = search[np.arange(len(search)), index]
    period = lag_lo + index + _parabola_offset(search, index)
    pitch = np.where(period > 0, samplerate / np.maximum(period, 1e-9), 0.0)
    return PitchTrack(np.clip(1.0 - best, 0.0, 1.0), pitch)


def _descend(curve: np.ndarray, start: np.ndarray) -> np.ndarray:
    """From each start index, walk right while the curve keeps falling (to its local minimum)."""
    index = start.copy()
    rows = np.arange(len(curve))
    last = curve.shape[1] - 1
    for _ in range(curve.shape[1]):
        step = (index < last) & (curve[rows, np.minimum(index + 1, last)] < curve[rows, index])
        if not step.any():
            break
        index += step
    return index


def _parabola_offset(curve: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Sub-sample offset of the minimum of the parabola through index−1, index, index+1."""
    rows = np.arange(len(curve))
    inner = (index > 0) & (index < curve.shape[1] - 1)
    left = curve[rows, np.maximum(index - 1, 0)]
    mid = curve[rows, index]
    right = curve[rows, np.minimum(index + 1, curve.shape[1] - 1)]
    denominator = left - 2 * mid + right
    offset = np.where(
        np.abs(denominator) > 1e-12,
        0.5 * (left - right) / np.where(denominator == 0, 1, denominator),
        0.0,
    )
    return np.where(inner, np.clip(offset, -0.5, 0.5), 0.0)
