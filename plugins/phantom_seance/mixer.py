"""The output mix: voices added on the GUI side, taken block by block by the audio callback.

The mix is a preallocated ring of `seconds` of samples. `take` copies the block that is due
into the device's buffer and zeroes it behind itself; `play` adds a voice a little ahead of
the block being taken (`lead_s`, and at least two of the latest blocks), so the callback
never reads a block the GUI thread is still adding to, without any lock between them.
"""

from __future__ import annotations

import numpy as np

DEFAULT_LEAD_S = 0.02
"""How far ahead of the block being taken a new voice starts (as a minimum)."""


class OutputMixer:
    """What the speakers will play: the sum of the voices that are due."""

    def __init__(self, samplerate: int, seconds: float, lead_s: float = DEFAULT_LEAD_S) -> None:
        if samplerate <= 0 or seconds <= 0:
            raise ValueError(f"a mix needs a positive rate and length, not {samplerate}, {seconds}")
        self.samplerate = samplerate
        self.capacity = round(samplerate * seconds)
        self._mix = np.zeros(self.capacity, dtype=np.float32)
        self._lead = round(samplerate * lead_s)
        self._last_block = 0
        self.taken = 0
        """Frames ever taken by the output (the play head)."""
        self.output_latency_s = 0.0
        """Seconds between `take` and the speakers (the engine sets it from its stream)."""

    def play(self, samples: np.ndarray, gain: float = 1.0) -> float:
        """Add a mono voice to the mix; return the seconds until it starts sounding.

        Raises ValueError for a voice that is not 1-D or longer than the mix can hold.
        """
        if samples.ndim != 1:
            raise ValueError(f"a voice is one channel of samples, not an array of {samples.shape}")
        lead = max(self._lead, 2 * self._last_block)
        frames = samples.shape[0]
        if frames > self.capacity - lead:
            raise ValueError(
                f"a voice of {frames / self.samplerate:.2f} s is longer than the mix holds "
                f"({(self.capacity - lead) / self.samplerate:.2f} s)"
            )
        start = (self.taken + lead) % self.capacity
        head = min(frames, self.capacity - start)
        self._mix[start : start + head] += gain * samples[:head]
        if head < frames:
            self._mix[: frames - head] += gain * samples[head:]
        return lead / self.samplerate + self.output_latency_s

    def take(self, out: np.ndarray) -> None:
        """Fill `out` (1-D) with the block that is due and clear it from the mix."""
        frames = out.shape[0]
        self._last_block = frames
        start = self.taken % self.capacity
        head = min(frames, self.capacity - start)
        mix = self._mix
        out[:head] = mix[start : start + head]
        mix[start : start + head] = 0.0
        if head < frames:
            out[head:] = mix[: frames - head]
            mix[: frames - head] = 0.0
        self.taken += frames
