"""The analyser: level, spectrum, pitch, voice and speaking rate of a stream, block by block."""

from __future__ import annotations

import numpy as np
import pytest

from phantom_seance.dsp import BANDS, Analyser, Analysis
from phantom_seance.pitch import track_pitch
from phantom_seance.spectrum import FLOOR_DB, band_edges
from phantom_seance.syllables import syllable_nuclei
from phantom_seance.voice import detect_voice, frame_features, periodic_frames

from support.speech import (
    ESPEAK_RATE,
    SENTENCES,
    SpeechCorpus,
    pure_tone,
    resample,
    steady_tone,
    white_noise,
)

RATE = 48000
BLOCK = RATE // 60
SYLLABLES = (14, 14, 15, 14, 11, 17)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> SpeechCorpus:
    return SpeechCorpus(tmp_path_factory.mktemp("speech"))


def stream(samples: np.ndarray, samplerate: int = RATE, block: int = BLOCK) -> list[Analysis]:
    analyser = Analyser(samplerate)
    return [analyser.analyse(samples[i : i + block]) for i in range(0, len(samples), block)]


def utterance(corpus: SpeechCorpus, text: str, voice: str, speed: int = 175) -> np.ndarray:
    return resample(corpus.speak(text, voice, speed), ESPEAK_RATE, RATE)


def test_level_is_the_rms_in_dbfs() -> None:
    sine = 0.5 * pure_tone(BLOCK, RATE)
    assert Analyser(RATE).analyse(sine).level_dbfs == pytest.approx(
        20 * np.log10(0.5 / np.sqrt(2)), abs=0.1
    )
    assert Analyser(RATE).analyse(np.zeros(BLOCK, np.float32)).level_dbfs == FLOOR_DB


def test_a_sine_lights_its_own_band_and_the_bands_hold_its_power() -> None:
    analysis = stream(0.5 * pure_tone(RATE // 2, RATE, freq=1000.0))[-1]
    assert analysis.spectrum.shape == (BANDS,)
    loudest = int(np.argmax(analysis.spectrum))
    edges = band_edges()
    assert edges[loudest] <= 1000.0 < edges[loudest + 1]
    far = np.abs(np.arange(BANDS) - loudest) > 3
    assert analysis.spectrum[loudest] > analysis.spectrum[far].max() + 40
    total = 10 * np.log10(np.sum(10 ** (analysis.spectrum / 10)))
    assert total == pytest.approx(analysis.level_dbfs, abs=0.5)


def test_bands_above_nyquist_read_the_floor() -> None:
    analysis = stream(white_noise(8000, 8000) * 0.1, samplerate=8000, block=8000 // 60)[-1]
    above = band_edges()[:-1] >= 4000
    assert np.all(analysis.spectrum[above] == FLOOR_DB)
    assert np.all(analysis.spectrum[~above][1:] > -60)


def test_yin_finds_the_pitch_of_a_harmonic_tone() -> None:
    for freq in (80.0, 150.0, 390.0):
        rows = steady_tone(4000, 16000, freq=freq)[None, :]
        track = track_pitch(rows, 16000)
        assert track.pitch_hz[0] == pytest.approx(freq, rel=0.01)
        assert track.periodicity[0] > 0.9


def test_noise_is_not_periodic() -> None:
    track = track_pitch(white_noise(16000, 16000).reshape(20, 800), 16000)
    assert np.all(track.periodicity < 0.5)


def test_a_low_voice_and_a_high_voice_are_told_apart_by_pitch(corpus: SpeechCorpus) -> None:
    low = [a.pitch_hz for a in stream(utterance(corpus, SENTENCES[0], "en-us+m3")) if a.pitch_hz]
    high = [a.pitch_hz for a in stream(utterance(corpus, SENTENCES[0], "en+f3")) if a.pitch_hz]
    assert len(low) > 20 and len(high) > 20
    assert 80 < np.median(low) < 140
    assert 170 < np.median(high) < 280


def test_speech_is_voiced_and_the_silence_after_it_is_not(corpus: SpeechCorpus) -> None:
    speech = utterance(corpus, SENTENCES[2], "en-gb+m1")
    analyses = stream(np.concatenate([speech, np.zeros(RATE, np.float32)]))
    during = [a.voiced for a in analyses[30 : len(speech) // BLOCK]]
    assert np.mean(during) > 0.8
    assert not any(a.voiced for a in analyses[-30:])
    assert all(a.pitch_hz is None for a in analyses[-30:])


@pytest.mark.parametrize("make", [white_noise, steady_tone], ids=["noise", "tone"])
def test_a_stream_of_noise_or_a_tone_is_not_voiced(make) -> None:  # type: ignore[no-untyped-def]
    analyses = stream(0.1 * make(3 * RATE, RATE))
    assert sum(a.voiced for a in analyses) <= 2
    assert analyses[-1].speaking_rate == 0.0


def test_syllables_are_counted_within_a_third_of_the_truth(corpus: SpeechCorpus) -> None:
    counted, truth = 0, 0
    for text, syllables in zip(SENTENCES, SYLLABLES, strict=True):
        for voice in ("en-us+m3", "en+f3"):
            speech = utterance(corpus, text, voice)
            features = frame_features(speech, RATE)
            speaking = detect_voice(speech, RATE) & periodic_frames(features)
            counted += len(syllable_nuclei(features.energy_db, speaking))
            truth += syllables
    assert 0.67 * truth <= counted <= 1.33 * truth


def test_fast_speech_has_a_higher_speaking_rate_than_slow_speech(corpus: SpeechCorpus) -> None:
    def rate_after(speed: int) -> float:
        talk = np.concatenate(
            [utterance(corpus, text, "en-us+m3", speed) for text in SENTENCES[:3]]
        )
        return stream(talk[: 5 * RATE])[-1].speaking_rate

    slow, fast = rate_after(120), rate_after(240)
    assert 1.0 < slow < fast
    assert fast > 1.3 * slow


def test_silence_has_no_speaking_rate() -> None:
    assert stream(np.zeros(2 * RATE, np.float32))[-1].speaking_rate == 0.0


def test_the_result_does_not_depend_on_how_the_stream_is_cut(corpus: SpeechCorpus) -> None:
    speech = utterance(corpus, SENTENCES[4], "en+f3")
    small, large = stream(speech, block=BLOCK)[-1], stream(speech, block=RATE + 123)[-1]
    assert small.voiced == large.voiced
    assert small.pitch_hz == large.pitch_hz
    assert small.speaking_rate == large.speaking_rate


def test_an_empty_block_keeps_the_last_analysis() -> None:
    analyser = Analyser(RATE)
    last = analyser.analyse(0.1 * pure_tone(BLOCK, RATE))
    assert analyser.analyse(np.zeros(0, np.float32)) is last


def test_stereo_and_low_rates_are_refused_clearly() -> None:
    with pytest.raises(ValueError, match="mono"):
        Analyser(RATE).analyse(np.zeros((BLOCK, 2), np.float32))
    with pytest.raises(ValueError, match="8000"):
        Analyser(4000)


def test_the_analysis_is_frozen() -> None:
    analysis = Analyser(RATE).analyse(np.zeros(BLOCK, np.float32))
    with pytest.raises(AttributeError):
        analysis.voiced = True  # type: ignore[misc]
