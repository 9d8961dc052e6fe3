"""The stand-ins for the microphone: a WAV file and the synthetic haunted room."""

from __future__ import annotations

import tracemalloc
import wave
from pathlib import Path

import numpy as np
import pytest

from phantom_seance.sources import BlockSource, SyntheticSource, WavSource, read_wav

RATE = 48_000


def write_wav(
    path: Path, samples: np.ndarray, rate: int, width: int = 2, channels: int = 1
) -> Path:
    scale = {1: 127, 2: 32767, 4: 2**31 - 1}[width]
    values = np.round(np.repeat(samples, channels) * scale)
    data = (values + 128).astype(np.uint8) if width == 1 else values.astype(f"<i{width}")
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(data.tobytes())
    return path


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.shape[0])))
    return float(np.fft.rfftfreq(samples.shape[0], 1 / rate)[spectrum.argmax()])


@pytest.mark.parametrize("width", [1, 2, 4])
def test_a_wav_file_is_read_as_mono_floats_at_its_level(tmp_path: Path, width: int) -> None:
    tone = 0.5 * np.sin(2 * np.pi * 300 * np.arange(RATE // 10) / RATE)
    samples, rate = read_wav(write_wav(tmp_path / "t.wav", tone, RATE, width, channels=2))
    assert rate == RATE
    np.testing.assert_allclose(samples, tone, atol=0.01)


def test_a_wav_file_at_another_rate_plays_at_its_pitch(tmp_path: Path) -> None:
    rate = 22_050
    tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)
    source = WavSource(write_wav(tmp_path / "t.wav", tone, rate), RATE)
    block = np.empty(RATE, dtype=np.float32)
    source.fill(block)
    assert dominant_frequency(block, RATE) == pytest.approx(440, abs=2)
    assert np.sqrt(np.mean(block**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_a_wav_source_loops_block_by_block(tmp_path: Path) -> None:
    ramp = np.arange(10) / 100
    source = WavSource(write_wav(tmp_path / "r.wav", ramp, RATE), RATE)
    block = np.empty(4, dtype=np.float32)
    played = []
    for _ in range(6):
        source.fill(block)
        played.append(block.copy())
    np.testing.assert_allclose(np.concatenate(played), np.tile(ramp, 3)[:24], atol=1e-4)


def test_a_file_that_is_not_a_wav_is_refused_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio")
    with pytest.raises(ValueError, match=r"notes\.wav is not a PCM WAV file"):
        WavSource(bad, RATE)
    empty = write_wav(tmp_path / "empty.wav", np.zeros(0), RATE)
    with pytest.raises(ValueError, match="holds no audio"):
        WavSource(empty, RATE)


def test_the_sources_fill_blocks_without_allocating(tmp_path: Path) -> None:
    wav = write_wav(tmp_path / "t.wav", np.zeros(1000), RATE)
    block = np.empty(256, dtype=np.float32)
    for source in (WavSource(wav, RATE), SyntheticSource(RATE, seed=1)):
        assert isinstance(source, BlockSource)
        source.fill(block)
        tracemalloc.start()
        for _ in range(50):
            source.fill(block)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < block.nbytes


@pytest.fixture(scope="module")
def room() -> np.ndarray:
    source = SyntheticSource(RATE, seed=11)
    return source.samples


def test_the_haunted_room_is_the_same_under_one_seed_and_differs_under_another(
    room: np.ndarray,
) -> None:
    np.testing.assert_array_equal(SyntheticSource(RATE, seed=11).samples, room)
    assert not np.array_equal(SyntheticSource(RATE, seed=12).samples, room)


def test_the_haunted_room_is_a_quiet_drone_with_air_and_murmurs(room: np.ndarray) -> None:
    rms = float(np.sqrt(np.mean(room**2)))
    assert 10 ** (-45 / 20) < rms < 10 ** (-25 / 20)  # audible, well below full scale
    assert np.abs(room).max() < 0.5
    spectrum = np.abs(np.fft.rfft(room)) ** 2
    frequency = np.fft.rfftfreq(room.shape[0], 1 / RATE)
    low = spectrum[frequency < 200].sum()
    assert low > 0.5 * spectrum.sum()  # mostly a low drone
    assert spectrum[(frequency > 1000) & (frequency < 4000)].sum() > 1e-3 * spectrum.sum()
    window = RATE // 10  # the murmurs make some tenths of a second louder than the rest
    levels = np.sqrt(np.mean(room[: room.shape[0] // window * window].reshape(-1, window) ** 2, 1))
    assert levels.max() > 1.5 * np.median(levels)


def test_the_haunted_room_loops_without_a_click(room: np.ndarray) -> None:
    steps = np.abs(np.diff(room))
    seam = abs(float(room[0] - room[-1]))
    assert seam < 4 * np.percentile(steps, 99)
