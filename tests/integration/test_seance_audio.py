"""The séance's audio engine on a real (virtual) device: a PulseAudio null sink, whose
monitor hears what is played into it; and without one."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from phantom_seance.audio import (
    AudioEngine,
    EngineEvent,
    EngineEventKind,
    StreamConfig,
    list_devices,
)
from phantom_seance.sources import WavSource

from support.virtual_audio import DEVICE, SAMPLERATE, VirtualAudio

BLOCK = 256
PULSE = StreamConfig(DEVICE, DEVICE, SAMPLERATE, BLOCK)
REPO = Path(__file__).resolve().parents[2]


def run_for(
    engine: AudioEngine, seconds: float, until: Callable[[], bool] = lambda: False
) -> list[EngineEvent]:
    """Poll the engine's events as the GUI would, for `seconds` or until `until()`."""
    events: list[EngineEvent] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not until():
        events += engine.poll_events()
        time.sleep(0.05)
    return events + engine.poll_events()


def level_at(samples: np.ndarray, frequency: float) -> float:
    """The amplitude of the components of `samples` within 20 Hz of `frequency`, from
    their energy in a Hann-windowed spectrum (Parseval, so a tone between bins counts)."""
    window = np.hanning(samples.shape[0])
    energy = np.abs(np.fft.rfft(samples * window)) ** 2
    bins = np.fft.rfftfreq(samples.shape[0], 1 / SAMPLERATE)
    near = np.abs(bins - frequency) <= 20
    return float(np.sqrt(4 * energy[near].sum() / (samples.shape[0] * np.sum(window**2))))


@pytest.mark.audio
def test_the_virtual_device_is_listed() -> None:
    names = [device.name for device in list_devices(rescan=True)]
    assert DEVICE in names


@pytest.mark.audio
def test_a_duplex_stream_runs_30_s_at_48_khz_block_256_without_xruns() -> None:
    """Not one xrun once the stream has settled (PulseAudio may drop a block or two while a
    new stream's buffers fill; those are counted apart, as settling)."""
    list_devices(rescan=True)
    with AudioEngine(PULSE) as engine:
        engine.start()
        events = run_for(engine, 30.0)
        assert engine.on_device, engine.reason
        stats = engine.stats
    assert [event.kind for event in events] == [EngineEventKind.STARTED]
    assert (stats.overflows, stats.underflows) == (0, 0)
    assert stats.blocks > 0.8 * 30 * SAMPLERATE / BLOCK  # it ran in real time, block by block
    assert engine.input_ring.written == stats.blocks * BLOCK


@pytest.mark.audio
def test_a_tone_played_on_the_output_is_heard_on_the_input() -> None:
    list_devices(rescan=True)
    with AudioEngine(PULSE) as engine:
        engine.start()
        run_for(engine, 15.0, until=lambda: engine.stats.blocks > engine.stats.settling_blocks)
        before = engine.input_ring.written
        time_s = np.arange(SAMPLERATE // 2) / SAMPLERATE
        delay = engine.mixer.play((0.5 * np.sin(2 * np.pi * 1000 * time_s)).astype(np.float32))
        run_for(engine, 10.0, until=lambda: engine.input_ring.written > before + SAMPLERATE)
        heard, _ = engine.input_ring.read_since(before, SAMPLERATE)
        heard = heard.copy()
    assert 0 < delay < 0.5
    loud = np.flatnonzero(np.abs(heard) > 0.25)
    assert loud.size, "the tone never reached the input"
    tone = heard[loud[0] : loud[0] + SAMPLERATE // 4]
    assert level_at(tone, 1000) == pytest.approx(0.5, rel=0.1)
    assert level_at(heard[: loud[0]], 1000) < 0.01  # silence before it started


def write_tone_wav(path: Path, frequency: float, rate: int, seconds: float) -> Path:
    """A stereo 16-bit WAV file of a tone, at `rate`."""
    time_s = np.arange(round(rate * seconds)) / rate
    tone = (0.4 * np.sin(2 * np.pi * frequency * time_s) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(np.repeat(tone, 2).tobytes())
    return path


@pytest.mark.audio
def test_a_wav_file_is_heard_as_the_microphone_while_the_output_plays(tmp_path: Path) -> None:
    wav = write_tone_wav(tmp_path / "tone.wav", 440.0, 22_050, 1.0)
    list_devices(rescan=True)
    with AudioEngine(PULSE, source=WavSource(wav, SAMPLERATE)) as engine:
        engine.start()
        run_for(engine, 10.0, until=lambda: engine.input_ring.written > SAMPLERATE)
        assert engine.on_device and engine.reason is None, engine.reason
        heard = engine.input_ring.latest(SAMPLERATE // 2).copy()
    assert level_at(heard, 440) == pytest.approx(0.4, rel=0.05)


@pytest.mark.audio
def test_a_device_that_vanishes_mid_stream_leaves_the_seance_on_the_synthetic_source(
    virtual_audio: VirtualAudio,
) -> None:
    list_devices(rescan=True)
    with AudioEngine(PULSE, seed=7) as engine:
        engine.start()
        run_for(engine, 15.0, until=lambda: engine.stats.blocks > engine.stats.settling_blocks)
        virtual_audio.vanish()
        events = run_for(engine, 15.0, until=lambda: not engine.on_device)
        kinds = [event.kind for event in events]
        assert EngineEventKind.DEVICE_LOST in kinds
        assert engine.running and not engine.on_device
        assert engine.reason is not None and "synthetic" in engine.reason
        written = engine.input_ring.written
        run_for(engine, 10.0, until=lambda: engine.input_ring.written > written + SAMPLERATE)
        room = engine.input_ring.latest(SAMPLERATE)
        assert np.sqrt(np.mean(room**2)) > 1e-3  # the synthetic room is heard, not silence


ENGINE_WITHOUT_DEVICE = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    from phantom_seance.audio import AudioEngine, StreamConfig, list_devices
    engine = AudioEngine(StreamConfig(), enabled=sys.argv[1] == "enabled", seed=3)
    engine.start()
    while engine.input_ring.written < 48000:
        time.sleep(0.05)
    room = engine.input_ring.latest(48000)
    events = engine.poll_events()
    print(json.dumps({
        "devices": [device.name for device in list_devices()],
        "on_device": engine.on_device,
        "reason": engine.reason,
        "events": [event.message for event in events],
        "rms": float(np.sqrt(np.mean(room ** 2))),
    }))
    engine.close()
    """
)

HIDE_PORTAUDIO = textwrap.dedent(
    """
    import ctypes.util
    _find_library = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None if "portaudio" in name else _find_library(name)
    """
)


def engine_without_device(
    tmp_path: Path, *, enabled: bool = True, env: dict[str, str] | None = None
) -> dict[str, object]:
    """Run an engine in a child process and report what it says."""
    import os

    done = subprocess.run(
        [sys.executable, "-c", ENGINE_WITHOUT_DEVICE, "enabled" if enabled else "disabled"],
        env={**os.environ, "PULSE_SERVER": f"unix:{tmp_path}/no-daemon", **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_with_no_device_the_engine_plays_the_synthetic_room_and_says_why(tmp_path: Path) -> None:
    """No PulseAudio daemon to reach and, on the test machines, no sound card."""
    report = engine_without_device(tmp_path)
    assert report["devices"] == []
    assert report["on_device"] is False
    assert "no input device" in str(report["reason"])
    assert report["events"] == [report["reason"]]
    assert float(report["rms"]) > 1e-3


def test_without_portaudio_the_engine_plays_the_synthetic_room_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(HIDE_PORTAUDIO)
    report = engine_without_device(tmp_path, env={"PYTHONPATH": str(tmp_path / "site")})
    assert report["on_device"] is False
    assert "PortAudio could not be loaded" in str(report["reason"])
    assert "libportaudio2" in str(report["reason"])
    assert float(report["rms"]) > 1e-3


def test_with_audio_turned_off_the_engine_never_opens_a_device(tmp_path: Path) -> None:
    report = engine_without_device(tmp_path, enabled=False)
    assert report["on_device"] is False
    assert "--no-audio" in str(report["reason"])
    assert float(report["rms"]) > 1e-3


def test_a_portaudio_that_hangs_at_exit_does_not_keep_the_app_from_quitting() -> None:
    """PortAudio's termination waits forever for a stream whose device vanished; here it
    is made to hang (the one fake), and the process still exits, promptly and cleanly."""
    script = (
        "import time\n"
        "from phantom_seance.audio import sounddevice_module\n"
        "sounddevice_module()._terminate = lambda: time.sleep(3600)\n"
    )
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert child.returncode == 0, child.stderr
