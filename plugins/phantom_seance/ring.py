"""A mono ring buffer whose storage is written twice, so that every read is contiguous.

The audio callback writes each block at its place in the first half of the storage and
again one capacity further on; any run of up to `capacity` frames ending (or starting)
anywhere then lies in one contiguous slice, which readers take as a view, without copying
or concatenating. Writing allocates nothing (callback-safe); one writer and any number of
readers may use it from different threads, since a reader only looks at frames whose
writing has finished (`written` is advanced after the copy).
"""

from __future__ import annotations

import numpy as np


class AudioRing:
    """The latest `capacity_frames` of a mono float32 signal."""

    def __init__(self, capacity_frames: int) -> None:
        if capacity_frames <= 0:
            raise ValueError(f"a ring holds at least one frame, not {capacity_frames}")
        self.capacity = capacity_frames
        self._storage = np.zeros(2 * capacity_frames, dtype=np.float32)
        self.written = 0
        """Frames ever written (a reader's position is a value of this counter)."""

    def write(self, block: np.ndarray) -> None:
        """Append `block` (1-D); of a block longer than the ring only its end is kept."""
        frames = block.shape[0]
        capacity = self.capacity
        if frames > capacity:
            self.written += frames - capacity
            block = block[frames - capacity :]
            frames = capacity
        start = self.written % capacity
        head = min(frames, capacity - start)
        storage = self._storage
        storage[start : start + head] = block[:head]
        storage[start + capacity : start + capacity + head] = block[:head]
        if head < frames:
            storage[: frames - head] = block[head:]
            storage[capacity : capacity + frames - head] = block[head:]
        self.written += frames

    def latest(self, frames: int) -> np.ndarray:
        """A read-only view of the last `frames` frames (zeros before the first write).

        The view stays valid until `capacity - frames` more frames have been written.
        """
        if not 0 <= frames <= self.capacity:
            raise ValueError(f"can read 0 to {self.capacity} frames, not {frames}")
        end = self.written % self.capacity + self.capacity
        view = self._storage[end - frames : end]
        view.flags.writeable = False
        return view

    def read_since(self, position: int, max_frames: int) -> tuple[np.ndarray, int]:
        """The frames written from `position` on (at most `max_frames`), as a read-only
        view, and the position to read from next time.

        A reader that fell more than `capacity` frames behind resumes at the oldest frame
        still held; it lost `next_position - len(view) - position` frames.
        """
        written = self.written
        if not 0 <= position <= written:
            raise ValueError(f"position {position} is outside 0..{written} (frames written)")
        position = max(position, written - self.capacity)
        frames = min(written - position, max_frames, self.capacity)
        start = position % self.capacity
        view = self._storage[start : start + frames]
        view.flags.writeable = False
        return view, position + frames
