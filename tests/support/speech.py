"""Speech made offline by espeak-ng, and the noises and tones to test voice activity against.

`SpeechCorpus(cache_dir)` speaks sentences in several voices and speeds with
`espeak-ng -w file.wav`, caching each WAV by its text, voice and speed. `scene()` places
utterances in silence and labels each 20 ms frame from the clean speech's own energy
envelope; `mix_at_snr` adds a noise at a stated SNR. The distractors (`white_noise`,
`pink_noise`, `steady_tone`, `chord`, `melody`) are plain numpy, scaled by `at_rms`.
"""

from __future__ import annotations

import hashlib
import itertools
import subprocess
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ESPEAK_RATE = 22050
FRAME_S = 0.02

SENTENCES = (
    "The candles flicker while the spirits whisper in the dark.",
    "Is anybody there? Knock once for yes and twice for no.",
    "We gathered around the old table to call the restless dead.",
    "Something cold just brushed against my shoulder, did you feel it?",
    "Please speak to us, we mean you no harm tonight.",
    "The medium closed her eyes and began to hum a forgotten song.",
)
VOICES = ("en-us+m3", "en+f3", "en-gb+m1", "en-us+f2", "en+klatt2")
SPEEDS = (130, 175, 220)


@dataclass(frozen=True)
class Scene:
    """A test signal and what it holds: `voice[i]` is True where frame i holds speech."""

    samples: np.ndarray
    samplerate: int
    voice: np.ndarray


class SpeechCorpus:
    """espeak-ng speech, cached as WAV files under `cache_dir`."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        cache_dir.mkdir(parents=True, exist_ok=True)

    def speak(self, text: str, voice: str = VOICES[0], speed: int = 175) -> np.ndarray:
        """The utterance as float32 mono at `ESPEAK_RATE`, peak-normalised to 0.5."""
        key = hashlib.sha256(f"{voice}|{speed}|{text}".encode()).hexdigest()[:16]
        path = self.cache_dir / f"{key}.wav"
        if not path.exists():
            partial = path.with_suffix(".part.wav")
            subprocess.run(
                ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(partial), text],
                check=True,
                capture_output=True,
                timeout=60,
            )
            partial.rename(path)
        with wave.open(str(path), "rb") as wav:
            assert wav.getframerate() == ESPEAK_RATE and wav.getnchannels() == 1
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        samples = pcm.astype(np.float32) / 32768.0
        return samples * np.float32(0.5 / max(float(np.abs(samples).max()), 1e-9))

    def scene(
        self,
        samplerate: int,
        seed: int = 0,
        utterances: int = 6,
        gap_s: tuple[float, float] = (0.6, 1.6),
    ) -> Scene:
        """Utterances in varied voices and speeds, separated by silent gaps of random length."""
        rng = np.random.default_rng(seed)
        pieces: list[np.ndarray] = [np.zeros(int(rng.uniform(*gap_s) * ESPEAK_RATE), np.float32)]
        for index in range(utterances):
            text = SENTENCES[(seed + index) % len(SENTENCES)]
            voice = VOICES[(seed + index) % len(VOICES)]
            speed = SPEEDS[(seed + 2 * index) % len(SPEEDS)]
            pieces.append(self.speak(text, voice, speed))
            pieces.append(np.zeros(int(rng.uniform(*gap_s) * ESPEAK_RATE), np.float32))
        clean = resample(np.concatenate(pieces), ESPEAK_RATE, samplerate)
        return Scene(clean, samplerate, energy_labels(clean, samplerate))


def energy_labels(clean: np.ndarray, samplerate: int, floor_db: float = -40.0) -> np.ndarray:
    """Frames whose energy is within `floor_db` of the loudest frame, pauses under 200 ms filled.

    Short pauses (stop closures, between words) count as speech, as a listener hears them."""
    hop = round(FRAME_S * samplerate)
    count = len(clean) // hop
    frames = clean[: count * hop].reshape(count, hop).astype(np.float64)
    energy_db = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    loud = energy_db > energy_db.max() + floor_db
    return fill_gaps(loud, max_gap=round(0.2 / FRAME_S))


def fill_gaps(mask: np.ndarray, max_gap: int) -> np.ndarray:
    """`mask` with runs of False up to `max_gap` long between two True frames set True."""
    filled = mask.copy()
    on = np.flatnonzero(mask)
    for left, right in itertools.pairwise(on):
        if 1 < right - left <= max_gap + 1:
            filled[left:right] = True
    return filled


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Band-limited resampling through the FFT (the spectrum cut or padded at Nyquist)."""
    if rate_in == rate_out:
        return samples.astype(np.float32)
    count_out = round(len(samples) * rate_out / rate_in)
    spectrum = np.fft.rfft(samples.astype(np.float64))
    bins_out = count_out // 2 + 1
    resized = np.zeros(bins_out, dtype=complex)
    keep = min(bins_out, len(spectrum))
    resized[:keep] = spectrum[:keep]
    out = np.fft.irfft(resized, count_out) * (count_out / len(samples))
    return out.astype(np.float32)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))


def at_rms(samples: np.ndarray, target: float) -> np.ndarray:
    """`samples` scaled to RMS `target`."""
    return (samples * (target / max(rms(samples), 1e-12))).astype(np.float32)


def speech_rms(scene: Scene) -> float:
    """The RMS of the scene's speech frames only (the level an SNR is stated against)."""
    hop = round(FRAME_S * scene.samplerate)
    frames = scene.samples[: len(scene.voice) * hop].reshape(len(scene.voice), hop)
    return rms(frames[scene.voice])


def mix_at_snr(scene: Scene, noise: np.ndarray, snr_db: float) -> Scene:
    """The scene with `noise` added so that speech RMS / noise RMS is `snr_db`."""
    noise = at_rms(noise[: len(scene.samples)], speech_rms(scene) / 10 ** (snr_db / 20))
    return Scene((scene.samples + noise).astype(np.float32), scene.samplerate, scene.voice)


def white_noise(count: int, samplerate: int, seed: int = 1) -> np.ndarray:
    del samplerate
    return np.random.default_rng(seed).standard_normal(count).astype(np.float32)


def pink_noise(count: int, samplerate: int, seed: int = 2) -> np.ndarray:
    """Noise whose power falls as 1/f (white noise shaped in the frequency domain)."""
    del samplerate
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(count))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    spectrum[0] = 0
    return np.fft.irfft(spectrum, count).astype(np.float32)


def _harmonic(freq: float, count: int, samplerate: int, partials: int = 6) -> np.ndarray:
    t = np.arange(count) / samplerate
    tone = np.zeros(count)
    for k in range(1, partials + 1):
        if k * freq < samplerate / 2:
            tone += np.sin(2 * np.pi * k * freq * t) / k
    return tone


def steady_tone(count: int, samplerate: int, freq: float = 220.0) -> np.ndarray:
    """A held note: a 220 Hz fundamental with five overtones falling as 1/k."""
    return _harmonic(freq, count, samplerate).astype(np.float32)


def pure_tone(count: int, samplerate: int, freq: float = 1000.0) -> np.ndarray:
    return np.sin(2 * np.pi * freq * np.arange(count) / samplerate).astype(np.float32)


def chord(count: int, samplerate: int) -> np.ndarray:
    """A held A-minor triad (A3, C4, E4), each note with overtones."""
    notes = (220.0, 261.63, 329.63)
    return sum(_harmonic(f, count, samplerate) for f in notes).astype(np.float32)  # type: ignore[union-attr]


def melody(count: int, samplerate: int, seed: int = 3, note_s: float = 0.3) -> np.ndarray:
    """A tune of notes from A minor, each with a 10 ms attack and an exponential decay."""
    rng = np.random.default_rng(seed)
    scale = 220.0 * 2 ** (np.array([0, 2, 3, 5, 7, 8, 10, 12, 14, 15]) / 12)
    length = round(note_s * samplerate)
    envelope = np.minimum(np.arange(length) / (0.01 * samplerate), 1.0) * np.exp(
        -np.arange(length) / (0.4 * length)
    )
    notes = [
        _harmonic(rng.choice(scale), length, samplerate) * envelope
        for _ in range(count // length + 1)
    ]
    return np.concatenate(notes)[:count].astype(np.float32)


DISTRACTORS: dict[str, Callable[[int, int], np.ndarray]] = {
    "white noise": white_noise,
    "pink noise": pink_noise,
    "steady tone": steady_tone,
    "pure tone": pure_tone,
    "chord": chord,
    "melody": melody,
}
