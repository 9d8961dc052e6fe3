"""Every figure of the séance, each part in a process of its own.

Run from the repository root::

    .venv/bin/python bench/seance.py            # the full runs (~4 min)
    .venv/bin/python bench/seance.py --quick    # shorter runs (~1.5 min)

1. the audio callback's p99 as a share of the block period, against a bare copy-only
   callback (`bench/seance_audio.py`);
2. the analysis cost per frame, against a bare FFT of the frame, and the voice
   detector's accuracy (`bench/voice_activity.py`);
3. the shadow realm's fps with 10k motes against a bare vispy `Markers` scene, and the
   frames a loud input takes to show (`bench/seance_scene.py`);
4. below: a loud input block to the frame the realm is given (in ticks of the séance's
   60 Hz clock; add (3)'s frames for the picture), and a haunt's voice from decision to
   the output device.

A loud block is written into the input ring of an engine running on its stand-in (as
the callback writes a block); the séance's ticks are counted until the frame it makes
for the realm is 20 dB louder than before.

A haunt's voice is measured on a real duplex stream on a PulseAudio null sink (started
here, as the audio tests start it, and stopped by PID), 48 kHz, 256-frame blocks. For
each manifestation:

- synthesis: `synth.speak` for the haunt's voice model;
- decision to the output device, as the stream reports it: the synthesis, the mixer's
  lead (the blocks it keeps ahead of the play head) and the output latency PortAudio
  reports for the stream;
- decision to heard, through the loopback: from the decision until the voice's first
  loud sample arrives on the input, which hears the sink's monitor. This adds the input
  side's latency, so it bounds the glass-to-glass figure from above.

The script always exits 0: the figures are for humans, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from report import Row, goal_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from phantom_seance.audio import AudioEngine, StreamConfig, list_devices
from phantom_seance.haunts import default_haunts
from phantom_seance.run import SeanceRun
from phantom_seance.synth import speak

from support.virtual_audio import DEVICE, VirtualAudio

BENCH = Path(__file__).resolve().parent
PARTS = ("seance_audio.py", "voice_activity.py", "seance_scene.py")

SAMPLERATE = 48_000
BLOCK = 256
LOUD = 0.05
"""An input sample above this is the voice arriving (the null sink is silent otherwise)."""


def haunt_latencies(repeats: int) -> dict[str, float]:
    """Median milliseconds of each stage over `repeats` manifestations, one haunt after
    another, on a stream already running (the virtual device must be up)."""
    rng = np.random.default_rng(13)
    haunts = default_haunts()
    synthesis, to_output, heard = [], [], []
    with AudioEngine(StreamConfig(DEVICE, DEVICE, SAMPLERATE, BLOCK)) as engine:
        engine.start()
        if not engine.on_device:
            raise RuntimeError(f"the engine did not open the virtual device: {engine.reason}")
        _wait(lambda: engine.stats.blocks > 400, 15.0)
        for index in range(repeats):
            haunt = haunts[index % len(haunts)]
            position = engine.input_ring.written
            decided = time.perf_counter()
            voice = 0.5 * speak(haunt.voice_model, rng, SAMPLERATE)
            synthesised = time.perf_counter()
            to_output.append(synthesised - decided + engine.mixer.play(voice))
            arrived = _first_loud_sample(engine, position, 5.0)
            synthesis.append(synthesised - decided)
            heard.append(arrived - decided)
            time.sleep(len(voice) / SAMPLERATE + 0.3)
            engine.poll_events()
    return {
        "synthesis_ms": 1000 * statistics.median(synthesis),
        "to_output_ms": 1000 * statistics.median(to_output),
        "heard_ms": 1000 * statistics.median(heard),
    }


def _first_loud_sample(engine: AudioEngine, position: int, timeout: float) -> float:
    """The perf_counter time at which the first loud input sample after `position` came
    in: when it was seen, less the samples that came after it in the same read."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        samples, next_position = engine.input_ring.read_since(position, SAMPLERATE)
        seen = time.perf_counter()
        loud = np.flatnonzero(np.abs(samples) > LOUD)
        if loud.size:
            return seen - (len(samples) - loud[0]) / SAMPLERATE
        position = next_position
        time.sleep(0.0005)
    raise RuntimeError("the haunt's voice never reached the input through the loopback")


def _wait(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("the stream did not start")
        time.sleep(0.01)


def block_to_frame_ticks(repeats: int) -> float:
    """Median ticks from a loud block's arrival to a frame 20 dB louder (1: the next tick)."""
    loud = np.full(BLOCK, 0.5, dtype=np.float32)
    counts = []
    with AudioEngine(StreamConfig(None, None, SAMPLERATE, BLOCK), enabled=False) as engine:
        engine.start()
        run = SeanceRun(engine, lambda topic, data: None, seed=5)
        try:
            for _ in range(repeats):
                for _ in range(30):
                    run.tick(time.monotonic())
                    time.sleep(1 / 60)
                quiet = run.frame.level_dbfs
                engine.input_ring.write(loud)
                ticks = 0
                while run.frame.level_dbfs < quiet + 20 and ticks < 60:
                    run.tick(time.monotonic())
                    ticks += 1
                counts.append(ticks)
        finally:
            run.close()
    return float(statistics.median(counts))


HAUNT_ROWS = [
    Row("synthesis of the voice (synth.speak)", "synthesis_ms", "ms"),
    Row("decision to the output device, as the stream reports", "to_output_ms", "ms"),
    Row("decision to heard on the input, through the loopback", "heard_ms", "ms"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    quick = parser.parse_args().quick
    for part in PARTS:
        print(f"\n## {part}", flush=True)
        subprocess.run([sys.executable, str(BENCH / part), *(["--quick"] if quick else [])])
    repeats = 6 if quick else 15
    ticks = block_to_frame_ticks(repeats)
    print(f"\n## a loud input block to the realm's frame: {ticks:g} tick(s) (median of {repeats})")
    print(f"\n## a haunt's voice, median of {repeats} manifestations", flush=True)
    audio = VirtualAudio.start(Path(tempfile.mkdtemp(prefix="phantom-bench-pulse-")))
    try:
        with audio.in_environment():
            list_devices(rescan=True)
            figures = haunt_latencies(repeats)
    finally:
        audio.stop()
    table, _, _ = goal_table(HAUNT_ROWS, figures)
    print(table)


if __name__ == "__main__":
    main()
