"""Voice activity on espeak-ng speech, against noises, tones and music at the same level."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from phantom_seance.dsp import detect_voice

from support.speech import (
    DISTRACTORS,
    Scene,
    SpeechCorpus,
    at_rms,
    mix_at_snr,
    speech_rms,
)

RATES = (8000, 16000, 22050, 44100, 48000)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> SpeechCorpus:
    return SpeechCorpus(tmp_path_factory.mktemp("speech"))


def scores(scene: Scene) -> tuple[float, float, float]:
    """(accuracy, precision, recall) of detect_voice's frames against the scene's labels."""
    found = detect_voice(scene.samples, scene.samplerate)
    truth = scene.voice[: len(found)]
    hits = float(np.sum(found & truth))
    return (
        float(np.mean(found == truth)),
        hits / max(float(found.sum()), 1.0),
        hits / float(truth.sum()),
    )


@pytest.mark.parametrize("samplerate", RATES)
def test_speech_in_silence_is_found_and_the_pauses_are_not(
    corpus: SpeechCorpus, samplerate: int
) -> None:
    accuracy, precision, recall = scores(corpus.scene(samplerate, seed=0))
    assert recall >= 0.9, f"recall {recall:.3f}"
    assert precision >= 0.9, f"precision {precision:.3f}"
    assert accuracy >= 0.9, f"accuracy {accuracy:.3f}"


@pytest.mark.parametrize("samplerate", (16000, 48000))
@pytest.mark.parametrize("kind", sorted(DISTRACTORS))
def test_noise_tones_and_music_as_loud_as_speech_are_not_voice(
    corpus: SpeechCorpus, samplerate: int, kind: str
) -> None:
    scene = corpus.scene(samplerate, seed=1, utterances=3)
    distractor = at_rms(DISTRACTORS[kind](len(scene.samples), samplerate), speech_rms(scene))
    found = detect_voice(distractor, samplerate)
    assert found.mean() <= 0.02, f"{kind}: {found.mean():.1%} of its frames called voice"


@pytest.mark.parametrize(
    ("kind", "snr_db", "least_accuracy"),
    [
        ("white noise", 20, 0.93),
        ("white noise", 10, 0.9),
        ("pink noise", 10, 0.9),
        ("chord", 10, 0.9),
        ("melody", 10, 0.85),
        ("steady tone", 20, 0.85),
    ],
)
def test_speech_is_found_in_a_noisy_or_musical_room(
    corpus: SpeechCorpus, kind: str, snr_db: float, least_accuracy: float
) -> None:
    scene = corpus.scene(16000, seed=2)
    noise = DISTRACTORS[kind](len(scene.samples), 16000)
    accuracy, precision, _ = scores(mix_at_snr(scene, noise, snr_db))
    assert accuracy >= least_accuracy, f"accuracy {accuracy:.3f}"
    assert precision >= 0.9, f"precision {precision:.3f}"


def test_silence_is_never_voice() -> None:
    assert not detect_voice(np.zeros(48000, np.float32), 48000).any()


@pytest.mark.parametrize("samplerate", RATES)
def test_one_flag_per_whole_20_ms_frame(samplerate: int) -> None:
    samples = np.zeros(samplerate + samplerate // 100, np.float32)
    flags = detect_voice(samples, samplerate)
    assert flags.dtype == np.bool_
    assert len(flags) == 50


def test_less_than_a_frame_gives_no_flags() -> None:
    assert len(detect_voice(np.zeros(100, np.float32), 16000)) == 0


def test_stereo_input_is_refused_with_its_shape() -> None:
    with pytest.raises(ValueError, match=r"mono.*\(16000, 2\)"):
        detect_voice(np.zeros((16000, 2), np.float32), 16000)


def test_a_rate_below_8_khz_is_refused() -> None:
    with pytest.raises(ValueError, match="4000"):
        detect_voice(np.zeros(4000, np.float32), 4000)


def test_cached_speech_is_reused(corpus: SpeechCorpus) -> None:
    first = corpus.speak("Knock once for yes.")
    files = sorted(Path(corpus.cache_dir).iterdir())
    assert np.array_equal(first, corpus.speak("Knock once for yes."))
    assert sorted(Path(corpus.cache_dir).iterdir()) == files
