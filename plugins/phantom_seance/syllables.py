"""Syllable nuclei from the energy envelope, and the speaking rate they give.

The envelope is each 20 ms frame's energy in dB, smoothed by a 3-frame moving mean. A
nucleus candidate is a local maximum of the envelope on a voiced, periodic frame (a vowel).
Going through the candidates in time order, a candidate is a new syllable when the envelope
dips at least `PROMINENCE_DB` below both it and the previous syllable's peak between them;
otherwise the two are one syllable, whose peak is the higher. The speaking rate is the
number of nuclei over the span looked at, in syllables per second (pauses included).
"""

from __future__ import annotations

import numpy as np

PROMINENCE_DB = 2.0


def syllable_nuclei(energy_db: np.ndarray, speech: np.ndarray) -> np.ndarray:
    """Indices of the frames that are syllable nuclei; `speech` marks voiced, periodic frames."""
    if len(energy_db) < 3:
        return np.zeros(0, dtype=int)
    envelope = np.convolve(np.pad(energy_db, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    rising = envelope[1:-1] >= envelope[:-2]
    falling = envelope[1:-1] > envelope[2:]
    candidates = np.flatnonzero(rising & falling & speech[1:-1]) + 1
    peaks: list[int] = []
    for index in candidates:
        if not peaks:
            peaks.append(int(index))
            continue
        last = peaks[-1]
        dip = float(envelope[last : index + 1].min())
        if min(envelope[last], envelope[index]) - dip >= PROMINENCE_DB:
            peaks.append(int(index))
        elif envelope[index] > envelope[last]:
            peaks[-1] = int(index)
    return np.asarray(peaks, dtype=int)


def speaking_rate(energy_db: np.ndarray, speech: np.ndarray, frame_s: float) -> float:
    """Syllables per second over the frames given."""
    if len(energy_db) == 0:
        return 0.0
    return len(syllable_nuclei(energy_db, speech)) / (len(energy_db) * frame_s)
