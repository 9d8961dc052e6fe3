"""The twice-written ring buffer and the output mixer."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from phantom_seance.mixer import OutputMixer
from phantom_seance.ring import AudioRing


def ramp(start: int, frames: int) -> np.ndarray:
    return np.arange(start, start + frames, dtype=np.float32)


def test_latest_is_a_contiguous_view_of_the_last_frames_across_the_wrap() -> None:
    ring = AudioRing(10)
    for start in range(0, 37, 3):
        ring.write(ramp(start, 3))
    latest = ring.latest(10)
    np.testing.assert_array_equal(latest, ramp(29, 10))
    assert latest.flags.c_contiguous and latest.base is not None  # a view, not a copy
    assert not latest.flags.writeable


def test_a_block_longer_than_the_ring_keeps_its_end() -> None:
    ring = AudioRing(4)
    ring.write(ramp(0, 10))
    assert ring.written == 10
    np.testing.assert_array_equal(ring.latest(4), ramp(6, 4))


def test_a_reader_gets_every_frame_once() -> None:
    ring = AudioRing(16)
    position, read = 0, []
    for start in range(0, 100, 7):
        ring.write(ramp(start, 7))
        view, position = ring.read_since(position, 5)
        read.append(view.copy())
        view, position = ring.read_since(position, 5)
        read.append(view.copy())
    np.testing.assert_array_equal(np.concatenate(read), ramp(0, 105))


def test_a_reader_that_fell_behind_resumes_at_the_oldest_frame_held() -> None:
    ring = AudioRing(8)
    ring.write(ramp(0, 20))
    view, position = ring.read_since(0, 100)
    np.testing.assert_array_equal(view, ramp(12, 8))
    assert position == 20


def test_reading_outside_the_written_range_is_refused() -> None:
    ring = AudioRing(8)
    with pytest.raises(ValueError, match="outside"):
        ring.read_since(3, 1)
    with pytest.raises(ValueError, match="0 to 8"):
        ring.latest(9)


def test_writing_a_block_allocates_no_array() -> None:
    ring = AudioRing(48_000)
    block = np.ones(4096, dtype=np.float32)
    ring.write(block)
    tracemalloc.start()
    for _ in range(50):
        ring.write(block)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < block.nbytes


def test_a_voice_played_is_taken_after_the_lead_and_cleared_behind() -> None:
    mixer = OutputMixer(1000, 1.0, lead_s=0.01)
    block = np.empty(4, dtype=np.float32)
    mixer.take(block)
    delay = mixer.play(np.ones(6, dtype=np.float32), gain=0.5)
    assert delay == pytest.approx(0.01)  # 10 frames ahead of the play head
    taken = []
    for _ in range(6):
        mixer.take(block)
        taken.append(block.copy())
    heard = np.concatenate(taken)
    np.testing.assert_array_equal(heard, np.r_[np.zeros(10), np.full(6, 0.5), np.zeros(8)])
    mixer.take(block)  # the mix wraps around without what was played before
    assert mixer.taken == 32


def test_voices_that_overlap_are_added() -> None:
    mixer = OutputMixer(100, 1.0, lead_s=0.0)
    mixer.play(np.ones(3, dtype=np.float32))
    mixer.play(np.ones(3, dtype=np.float32), gain=2.0)
    block = np.empty(3, dtype=np.float32)
    mixer.take(block)
    np.testing.assert_array_equal(block, [3.0, 3.0, 3.0])


def test_a_voice_starts_at_least_two_blocks_ahead_of_the_play_head() -> None:
    mixer = OutputMixer(1000, 1.0, lead_s=0.0)
    mixer.take(np.empty(50, dtype=np.float32))
    assert mixer.play(np.ones(1, dtype=np.float32)) == pytest.approx(0.1)


def test_a_voice_longer_than_the_mix_is_refused_with_its_length() -> None:
    mixer = OutputMixer(1000, 1.0)
    with pytest.raises(ValueError, match="longer than the mix holds"):
        mixer.play(np.ones(2000, dtype=np.float32))
    with pytest.raises(ValueError, match="one channel"):
        mixer.play(np.ones((10, 2), dtype=np.float32))


def test_taking_a_block_allocates_no_array() -> None:
    mixer = OutputMixer(48_000, 2.0)
    mixer.play(np.ones(48_000, dtype=np.float32))
    block = np.empty(256, dtype=np.float32)
    mixer.take(block)
    tracemalloc.start()
    for _ in range(50):
        mixer.take(block)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < block.nbytes
