"""A spectrum in log-frequency bands, from a Hann-windowed FFT.

The power of FFT bin k, scaled by Parseval so that the bins sum to the window's mean square,
is P_k = c_k·|X_k|² / (N·Σw²) (c_k = 2 except at DC and Nyquist). Bin k spans
[f_k − Δf/2, f_k + Δf/2]; a band [lo, hi) takes from each bin the share of that span it
overlaps, so a band narrower than a bin still gets its part of the power. The band's level
is 10·log10(power) in dBFS, on the same scale as 20·log10(RMS): a signal whose power lies in
one band reads its RMS level there. Bands above Nyquist read `FLOOR_DB`.
"""

from __future__ import annotations

import numpy as np

BANDS = 48
LOW_HZ = 40.0
HIGH_HZ = 16000.0
FLOOR_DB = -120.0


def band_edges() -> np.ndarray:
    """The `BANDS + 1` edges in Hz, equally spaced in log frequency from LOW_HZ to HIGH_HZ."""
    return np.geomspace(LOW_HZ, HIGH_HZ, BANDS + 1)


class BandSpectrum:
    """Turns the latest `size` samples into `BANDS` levels in dBFS; `size` fits the rate."""

    def __init__(self, samplerate: int) -> None:
        self.size = 1 << int(np.ceil(np.log2(0.085 * samplerate)))
        self._window = np.hanning(self.size)
        bin_width = samplerate / self.size
        centres = np.fft.rfftfreq(self.size, 1 / samplerate)
        edges = band_edges()
        overlap = np.minimum(centres[:, None] + bin_width / 2, edges[None, 1:]) - np.maximum(
            centres[:, None] - bin_width / 2, edges[None, :-1]
        )
        share = np.clip(overlap / bin_width, 0.0, 1.0)
        scale = np.full(len(centres), 2.0)
        scale[0] = 1.0
        if self.size % 2 == 0:
            scale[-1] = 1.0
        self._weights = share * (scale / (self.size * np.sum(self._window**2)))[:, None]

    def levels(self, latest: np.ndarray) -> np.ndarray:
        """The band levels of the last `size` samples of `latest` (zero-padded when shorter)."""
        frame = np.zeros(self.size)
        tail = np.asarray(latest[-self.size :], dtype=np.float64)
        frame[self.size - len(tail) :] = tail
        power = np.abs(np.fft.rfft(frame * self._window)) ** 2
        band_power = power @ self._weights
        with np.errstate(divide="ignore"):
            levels = 10 * np.log10(band_power)
        return np.asarray(np.maximum(levels, FLOOR_DB))
