"""The haunts' voices sound like speech: syllables at a speaking pace, voiced with a pitch
in the human range, each voice in its own register, repeatable from a seed."""

from __future__ import annotations

import numpy as np
import pytest

from phantom_seance.dsp import detect_voice
from phantom_seance.synth import MAX_S, MIN_S, VOICES, speak

RATE = 48_000
FRAME_S = 0.02


def _frames(samples: np.ndarray, samplerate: int, seconds: float) -> np.ndarray:
    size = int(seconds * samplerate)
    count = len(samples) // size
    return samples[: count * size].reshape(count, size).astype(np.float64)


def _pitch(frame: np.ndarray, samplerate: int) -> tuple[float, float]:
    """The autocorrelation pitch of one frame in 60-450 Hz, and its strength (0 to 1)."""
    frame = frame - frame.mean()
    correlation = np.fft.irfft(np.abs(np.fft.rfft(frame, 2 * len(frame))) ** 2)[: len(frame)]
    shortest, longest = samplerate // 450, samplerate // 60
    lag = shortest + int(np.argmax(correlation[shortest:longest]))
    return samplerate / lag, float(correlation[lag] / correlation[0])


def _pitches(samples: np.ndarray, samplerate: int) -> tuple[np.ndarray, int]:
    """The pitch of every clearly periodic window among the loud ones (40 ms, hop 20 ms),
    and how many loud windows there were."""
    window, hop = int(0.04 * samplerate), int(FRAME_S * samplerate)
    loud = 0.3 * np.sqrt(np.mean(samples.astype(np.float64) ** 2))
    pitches = []
    windows = 0
    for start in range(0, len(samples) - window, hop):
        frame = samples[start : start + window].astype(np.float64)
        if np.sqrt(np.mean(frame**2)) < loud:
            continue
        windows += 1
        pitch, strength = _pitch(frame, samplerate)
        if strength > 0.6:
            pitches.append(pitch)
    return np.array(pitches), windows


def _syllable_rate(samples: np.ndarray, samplerate: int) -> float:
    """Syllables per second: rises of the 10 ms loudness (smoothed over 50 ms) through
    half its peak, per second of the span between the first and the last."""
    loudness = np.sqrt(np.mean(_frames(samples, samplerate, 0.01) ** 2, axis=1))
    smooth = np.convolve(loudness, np.ones(5) / 5, mode="same")
    above = smooth > 0.5 * smooth.max()
    onsets = np.flatnonzero(above[1:] & ~above[:-1]) + 1
    if above[0]:
        onsets = np.concatenate([[0], onsets])
    offsets = np.flatnonzero(~above[1:] & above[:-1]) + 1
    span_s = (offsets[-1] - onsets[0]) * 0.01 if len(offsets) else len(above) * 0.01
    return len(onsets) / span_s


@pytest.mark.parametrize("voice_model", sorted(VOICES))
def test_each_voice_speaks_in_syllables_at_a_speaking_pace(voice_model: str) -> None:
    rates = [
        _syllable_rate(speak(voice_model, np.random.default_rng(seed), RATE), RATE)
        for seed in range(12)
    ]
    assert 2.5 <= float(np.median(rates)) <= 7.0, rates


@pytest.mark.parametrize("voice_model", sorted(VOICES))
def test_each_voice_is_voiced_with_a_human_pitch(voice_model: str) -> None:
    for seed in range(6):
        samples = speak(voice_model, np.random.default_rng(seed), RATE)
        pitches, windows = _pitches(samples, RATE)
        assert len(pitches) >= 0.4 * windows, (seed, len(pitches), windows)
        assert 70 <= float(np.median(pitches)) <= 400, (seed, np.median(pitches))


def test_the_voices_speak_in_different_registers() -> None:
    def median_pitch(voice_model: str) -> float:
        pitches = [
            np.median(_pitches(speak(voice_model, np.random.default_rng(s), RATE), RATE)[0])
            for s in range(6)
        ]
        return float(np.median(pitches))

    assert median_pitch("wraith") < median_pitch("lament") < median_pitch("imp")


@pytest.mark.parametrize("samplerate", [16_000, 44_100, 48_000])
@pytest.mark.parametrize("voice_model", sorted(VOICES))
def test_an_utterance_is_mono_float32_normalised_below_full_scale(
    voice_model: str, samplerate: int
) -> None:
    for seed in range(5):
        samples = speak(voice_model, np.random.default_rng(seed), samplerate)
        assert samples.dtype == np.float32 and samples.ndim == 1
        assert MIN_S <= len(samples) / samplerate <= MAX_S
        assert np.all(np.isfinite(samples))
        assert 0.5 < float(np.max(np.abs(samples))) < 1.0


def test_one_seed_says_the_same_and_another_seed_something_else() -> None:
    first = speak("imp", np.random.default_rng(7), RATE)
    again = speak("imp", np.random.default_rng(7), RATE)
    other = speak("imp", np.random.default_rng(8), RATE)
    assert np.array_equal(first, again)
    assert len(first) != len(other) or not np.array_equal(first, other)


def test_an_unknown_voice_model_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown voice model 'ghoul'.*imp"):
        speak("ghoul", np.random.default_rng(0), RATE)


@pytest.mark.parametrize("voice_model", sorted(VOICES))
def test_the_seances_own_voice_detector_hears_each_voice_and_not_the_silence_around_it(
    voice_model: str,
) -> None:
    """Half a second of silence, an utterance at -7 dBFS, half a second of silence: most of
    the utterance's 20 ms frames are voice, none of the silence's."""
    frame = RATE // 50
    silence = np.zeros(RATE // 2, dtype=np.float32)
    for seed in range(3):
        utterance = 0.5 * speak(voice_model, np.random.default_rng(seed), RATE)
        voice = detect_voice(np.concatenate([silence, utterance, silence]), RATE)
        first, count = len(silence) // frame, len(utterance) // frame
        assert voice[first : first + count].mean() >= 0.4
        assert not voice[: first - 5].any() and not voice[first + count + 15 :].any()
