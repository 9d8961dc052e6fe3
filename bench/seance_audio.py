"""The séance's audio callback: how much of each block period it takes, on a real stream.

Run from the repository root (pulseaudio must be installed; the script starts its own
daemon with a null sink, as the audio tests do, and stops it by PID)::

    .venv/bin/python bench/seance_audio.py            # 3 repeats of 10 s per figure (~1 min)
    .venv/bin/python bench/seance_audio.py --quick    # 2 repeats of 4 s per figure

Measured at 48 kHz, 256-frame blocks (a 5.33 ms period), on one duplex stream on the
null sink (device ``pulse``): the p99 of the callback's own duration (timed inside the
callback with perf_counter) as a percentage of the block period,

- baseline: a bare sounddevice callback that only copies the input block into a
  preallocated buffer and writes silence to the output;
- the engine's callback: input into the twice-written ring, the next block of the output
  mix into the stream (`AudioEngine`), with its xrun counts.

Runs of the two are interleaved so a burst of noise on the machine hits both alike; each
figure is the median over the repeats. The script always exits 0: the figures are for
humans, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from report import Row, goal_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from phantom_seance.audio import AudioEngine, StreamConfig, list_devices, sounddevice_module

from support.virtual_audio import DEVICE, VirtualAudio

SAMPLERATE = 48_000
BLOCK = 256
PERIOD_S = BLOCK / SAMPLERATE


def bare_stream_p99(seconds: float) -> tuple[float, int]:
    """p99 callback duration (s) of a copy-only duplex callback, and its xrun count."""
    sd = sounddevice_module()
    durations = np.zeros(int(seconds * SAMPLERATE / BLOCK) + 1000)
    kept = np.zeros(BLOCK, dtype=np.float32)
    count = [0, 0]

    def callback(indata, outdata, frames, _time, status):  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        if status:
            count[1] += 1
        kept[:] = indata[:, 0]
        outdata.fill(0.0)
        if count[0] < durations.shape[0]:
            durations[count[0]] = time.perf_counter() - began
        count[0] += 1

    with sd.Stream(
        device=(DEVICE, DEVICE),
        samplerate=SAMPLERATE,
        blocksize=BLOCK,
        channels=(1, 2),
        dtype="float32",
        callback=callback,
    ):
        time.sleep(seconds)
    return float(np.percentile(durations[: min(count[0], durations.shape[0])], 99)), count[1]


def engine_p99(seconds: float) -> tuple[float, int]:
    """p99 callback duration (s) of the engine's duplex callback, and its xrun count."""
    with AudioEngine(StreamConfig(DEVICE, DEVICE, SAMPLERATE, BLOCK)) as engine:
        engine.start()
        if not engine.on_device:
            raise RuntimeError(f"the engine did not open the virtual device: {engine.reason}")
        voice = (0.2 * np.sin(2 * np.pi * 220 * np.arange(SAMPLERATE) / SAMPLERATE)).astype(
            np.float32
        )
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:  # a voice each second, the GUI side's work
            engine.mixer.play(voice)
            engine.poll_events()
            time.sleep(1.0)
        stats = engine.stats
        return stats.duration_percentile(99), stats.overflows + stats.underflows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 repeats of 4 s")
    options = parser.parse_args()
    repeats, seconds = (2, 4.0) if options.quick else (3, 10.0)
    folder = Path(tempfile.mkdtemp(prefix="phantom-bench-pulse-"))
    audio = VirtualAudio.start(folder)
    results: dict[str, list[tuple[float, int]]] = {"bare": [], "engine": []}
    try:
        with audio.in_environment():
            list_devices(rescan=True)
            for _ in range(repeats):
                results["bare"].append(bare_stream_p99(seconds))
                results["engine"].append(engine_p99(seconds))
    finally:
        audio.stop()
    figures = {
        f"{name}_p99": 100 * statistics.median(p99 for p99, _ in runs) / PERIOD_S
        for name, runs in results.items()
    }
    figures |= {f"{name}_xruns": float(sum(x for _, x in runs)) for name, runs in results.items()}
    rows = [
        Row("bare copy-only callback, p99", "bare_p99", "% of block"),
        Row(
            "engine callback (ring + mix), p99",
            "engine_p99",
            "% of block",
            "bare_p99",
            "bare callback",
            max_value=10.0,
        ),
        Row("bare callback, xruns in all runs", "bare_xruns", "xruns"),
        Row("engine, xruns in all runs", "engine_xruns", "xruns"),
    ]
    table, _, _ = goal_table(rows, figures)
    print(
        f"séance audio callback at {SAMPLERATE} Hz, {BLOCK}-frame blocks "
        f"({1000 * PERIOD_S:.2f} ms), {repeats} × {seconds:g} s per figure, device {DEVICE!r}"
    )
    print(table)


if __name__ == "__main__":
    main()
