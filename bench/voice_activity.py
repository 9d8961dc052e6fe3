"""Voice activity accuracy on espeak-ng speech, and the analyser's cost per frame.

Run from the repository root: `.venv/bin/python bench/voice_activity.py [--quick]`.
Speech is made by espeak-ng into a temporary folder; labels come from the clean speech's
own energy envelope (tests/support/speech.py). Always exits 0.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from phantom_seance.dsp import Analyser, detect_voice

from support.speech import DISTRACTORS, SpeechCorpus, at_rms, mix_at_snr, speech_rms

SNRS = (20, 10, 5, 0)


def scores(found: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    truth = truth[: len(found)]
    hits = float(np.sum(found & truth))
    return (
        float(np.mean(found == truth)),
        hits / max(float(found.sum()), 1.0),
        hits / float(truth.sum()),
    )


def accuracy_tables(corpus: SpeechCorpus, samplerate: int, seeds: range) -> None:
    scenes = [corpus.scene(samplerate, seed=seed) for seed in seeds]
    seconds = sum(len(s.samples) for s in scenes) / samplerate
    print(f"\n### {samplerate} Hz, {len(scenes)} scenes, {seconds:.0f} s of audio\n")
    print("| signal | SNR dB | accuracy | precision | recall |")
    print("|---|---|---|---|---|")
    found = [detect_voice(s.samples, samplerate) for s in scenes]
    row = scores(
        np.concatenate(found),
        np.concatenate([s.voice[: len(f)] for s, f in zip(scenes, found, strict=True)]),
    )
    print(f"| speech in silence | clean | {row[0]:.3f} | {row[1]:.3f} | {row[2]:.3f} |")
    for kind, make in DISTRACTORS.items():
        for snr in SNRS:
            mixed = [mix_at_snr(s, make(len(s.samples), samplerate), snr) for s in scenes]
            found = [detect_voice(m.samples, samplerate) for m in mixed]
            truth = np.concatenate([m.voice[: len(f)] for m, f in zip(mixed, found, strict=True)])
            row = scores(np.concatenate(found), truth)
            print(f"| speech + {kind} | {snr} | {row[0]:.3f} | {row[1]:.3f} | {row[2]:.3f} |")
    print("\n| distractor alone, at the speech's RMS | frames called voice |")
    print("|---|---|")
    for kind, make in DISTRACTORS.items():
        called = np.concatenate(
            [
                detect_voice(at_rms(make(len(s.samples), samplerate), speech_rms(s)), samplerate)
                for s in scenes
            ]
        )
        print(f"| {kind} | {called.mean():.2%} |")


def analysis_cost(corpus: SpeechCorpus, repeats: int) -> None:
    samplerate, block = 48000, 800
    speech = corpus.scene(samplerate, seed=0, utterances=2).samples
    blocks = [speech[i : i + block] for i in range(0, len(speech) - block, block)]
    analyser_times, fft_times = [], []
    for _ in range(repeats):
        analyser = Analyser(samplerate)
        start = time.perf_counter()
        for piece in blocks:
            analyser.analyse(piece)
        analyser_times.append((time.perf_counter() - start) / len(blocks))
        start = time.perf_counter()
        for piece in blocks:
            np.fft.rfft(piece)
        fft_times.append((time.perf_counter() - start) / len(blocks))
    cost, bare = statistics.median(analyser_times), statistics.median(fft_times)
    print(f"\n### Analysis cost, 48 kHz, 1/60 s frames ({block} samples), median of {repeats}\n")
    print("| what | µs per frame | × bare rfft | share of a 16.7 ms frame |")
    print("|---|---|---|---|")
    print(f"| `np.fft.rfft(frame)` (baseline) | {bare * 1e6:.1f} | 1.0 | {bare / (1 / 60):.2%} |")
    share = cost / (1 / 60)
    print(f"| `Analyser.analyse(frame)` | {cost * 1e6:.1f} | {cost / bare:.0f} | {share:.2%} |")


def main() -> None:
    quick = "--quick" in sys.argv
    with tempfile.TemporaryDirectory() as folder:
        corpus = SpeechCorpus(Path(folder))
        seeds = range(2) if quick else range(6)
        for samplerate in (16000,) if quick else (16000, 48000):
            accuracy_tables(corpus, samplerate, seeds)
        analysis_cost(corpus, 3 if quick else 7)


if __name__ == "__main__":
    main()
