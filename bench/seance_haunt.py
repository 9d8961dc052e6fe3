"""How long a haunt's voice takes from the haunt's decision to the output device.

Measured on a real duplex stream on a PulseAudio null sink (started here, as the audio
tests start it, and stopped by PID), 48 kHz, 256-frame blocks. For each manifestation:

- synthesis: `synth.speak` for the haunt's voice model;
- to the output, as the stream reports it: the mixer's lead (the blocks it keeps ahead
  of the play head) plus the output latency PortAudio reports for the stream;
- decision to heard, through the loopback: from the decision until the voice's first
  loud sample arrives on the input, which hears the sink's monitor. This adds the input
  side's latency, so it bounds the glass-to-glass figure from above.

The script always exits 0: the figures are for humans, not a test.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from phantom_seance.audio import AudioEngine, StreamConfig
from phantom_seance.haunts import default_haunts
from phantom_seance.synth import speak

from support.virtual_audio import DEVICE

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
            to_output.append(engine.mixer.play(voice))
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
