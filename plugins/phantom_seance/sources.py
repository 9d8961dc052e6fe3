"""Sources that stand in for the microphone: a WAV file, and a synthetic haunted room.

A source fills the next block in place, allocating nothing, so the audio callback (or the
thread that paces the séance when there is no device) can call it. Both sources here play
a buffer prepared when they are made, in a loop.
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

SYNTHETIC_LOOP_S = 24.0
"""The haunted room repeats itself after this long."""


@runtime_checkable
class BlockSource(Protocol):
    """Where the séance's input comes from when it is not the microphone."""

    def fill(self, out: np.ndarray) -> None:
        """Write the next `len(out)` frames into `out` (1-D float32), allocating nothing."""


class LoopedSamples:
    """A mono float32 buffer played over and over, block by block."""

    def __init__(self, samples: np.ndarray) -> None:
        if samples.ndim != 1 or samples.shape[0] == 0:
            raise ValueError(f"a loop needs mono samples, not an array of {samples.shape}")
        self.samples = np.ascontiguousarray(samples, dtype=np.float32)
        self._position = 0

    def fill(self, out: np.ndarray) -> None:
        samples = self.samples
        length = samples.shape[0]
        done = 0
        wanted = out.shape[0]
        while done < wanted:
            step = min(wanted - done, length - self._position)
            out[done : done + step] = samples[self._position : self._position + step]
            done += step
            self._position = (self._position + step) % length


class WavSource(LoopedSamples):
    """A WAV file (8, 16, 24 or 32-bit PCM, any channels and rate) played as if it were the
    microphone: mixed down to mono and resampled to `samplerate` when it is loaded."""

    def __init__(self, path: Path, samplerate: int) -> None:
        self.path = path
        super().__init__(resample(*read_wav(path), samplerate))


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """The mono float32 samples of a PCM WAV file, and its rate.

    Raises ValueError naming the file and what is wrong with it (OSError if unreadable).
    """
    try:
        with wave.open(str(path), "rb") as reader:
            width = reader.getsampwidth()
            channels = reader.getnchannels()
            rate = reader.getframerate()
            raw = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"{path} is not a PCM WAV file ({exc})") from exc
    if not raw:
        raise ValueError(f"{path} holds no audio")
    return _pcm_to_float(raw, width, path).reshape(-1, channels).mean(axis=1), rate


def _pcm_to_float(raw: bytes, width: int, path: Path) -> np.ndarray:
    if width == 1:
        return (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if width == 3:
        triples = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        values = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        values = np.where(values >= 1 << 23, values - (1 << 24), values)
        return values.astype(np.float32) / float(1 << 23)
    if width == 4:
        return (np.frombuffer(raw, dtype="<i4").astype(np.float64) / 2**31).astype(np.float32)
    raise ValueError(f"{path} has {8 * width}-bit samples; 8, 16, 24 or 32-bit PCM is read")


def resample(samples: np.ndarray, rate: int, samplerate: int) -> np.ndarray:
    """`samples` at `rate` brought to `samplerate` (linear interpolation, after a moving
    average that keeps a downsampled signal from folding its highs back)."""
    if rate == samplerate:
        return samples.astype(np.float32)
    if rate > samplerate:
        width = round(rate / samplerate)
        if width > 1:
            samples = np.convolve(samples, np.full(width, 1.0 / width), mode="same")
    frames = max(1, round(samples.shape[0] * samplerate / rate))
    times = np.arange(frames) * (rate / samplerate)
    resampled: np.ndarray = np.interp(times, np.arange(samples.shape[0]), samples)
    return resampled.astype(np.float32)


class SyntheticSource(LoopedSamples):
    """A haunted room, made up and seeded: a low drone that swells and fades, air moving,
    and now and then a murmur of voices behind the wall."""

    def __init__(self, samplerate: int, seed: int) -> None:
        super().__init__(haunted_room(samplerate, seed))


def haunted_room(samplerate: int, seed: int, seconds: float = SYNTHETIC_LOOP_S) -> np.ndarray:
    """`seconds` of the haunted room, seamless when looped."""
    random = np.random.default_rng(seed)
    frames = round(samplerate * seconds)
    time = np.arange(frames) / samplerate
    room = 0.03 * _drone(time, seconds, random) + 0.012 * _air(frames, samplerate, random)
    for _ in range(int(random.integers(3, 6))):
        _add_murmur(room, samplerate, random)
    return room.astype(np.float32)


def _drone(time: np.ndarray, seconds: float, random: np.random.Generator) -> np.ndarray:
    """Low partials whose frequencies and swells are whole cycles of the loop (no seam)."""
    root = round(float(random.uniform(40.0, 60.0)) * seconds) / seconds
    drone = np.zeros_like(time)
    for partial, level in ((1.0, 1.0), (1.5, 0.5), (2.0, 0.35), (3.01, 0.15)):
        frequency = round(root * partial * seconds) / seconds
        swell = 0.6 + 0.4 * np.sin(
            2 * np.pi * int(random.integers(1, 4)) * time / seconds + random.uniform(0, 2 * np.pi)
        )
        drone += level * swell * np.sin(2 * np.pi * frequency * time + random.uniform(0, 2 * np.pi))
    return drone / 2.0


def _air(frames: int, samplerate: int, random: np.random.Generator) -> np.ndarray:
    """Pink-ish noise rolled off above 3 kHz, shaped in the frequency domain (circular, so
    the loop has no seam), normalised to unit RMS."""
    spectrum = np.fft.rfft(random.standard_normal(frames))
    frequency = np.fft.rfftfreq(frames, 1.0 / samplerate)
    spectrum /= np.sqrt(np.maximum(frequency, 20.0))
    spectrum /= 1.0 + (frequency / 3000.0) ** 2
    air: np.ndarray = np.fft.irfft(spectrum, n=frames)
    return air / float(np.sqrt(np.mean(air**2)))


VOWELS = ((730.0, 1090.0), (530.0, 1840.0), (300.0, 870.0), (570.0, 840.0), (400.0, 2000.0))
"""First two formants (Hz) of a few vowels, for the murmurs."""


def _add_murmur(room: np.ndarray, samplerate: int, random: np.random.Generator) -> None:
    """Add a muffled voice of a few syllables at a random place (wrapping around)."""
    frames = round(samplerate * random.uniform(1.0, 2.5))
    time = np.arange(frames) / samplerate
    pitch = random.uniform(90.0, 160.0) * (1.0 + 0.08 * np.sin(2 * np.pi * 0.7 * time))
    phase = np.cumsum(pitch / samplerate)
    pulses = 2.0 * (phase % 1.0) - 1.0 + 0.3 * random.standard_normal(frames)
    spectrum = np.fft.rfft(pulses)
    frequency = np.fft.rfftfreq(frames, 1.0 / samplerate)
    first, second = VOWELS[int(random.integers(len(VOWELS)))]
    envelope = sum(1.0 / (1.0 + ((frequency - f) / 90.0) ** 2) for f in (first, second))
    voice = np.fft.irfft(spectrum * envelope / (1.0 + (frequency / 1500.0) ** 2), n=frames)
    syllables = np.clip(np.sin(2 * np.pi * random.uniform(3.0, 5.0) * time), 0.0, None) ** 2
    fade = np.sin(np.pi * time / time[-1])
    voice *= syllables * fade / max(float(np.sqrt(np.mean(voice**2))), 1e-9)
    start = int(random.integers(room.shape[0]))
    where = (start + np.arange(frames)) % room.shape[0]
    room[where] += random.uniform(0.02, 0.05) * voice
