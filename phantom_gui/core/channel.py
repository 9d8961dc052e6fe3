"""The channel between the app and a child process of its own: pickled values over pipes.

Each value travels as one frame, its pickle preceded by its length (`HEADER`), and a
batch is simply a list sent as one value, so a burst costs one write and one read.

Why pipes of our own and not `multiprocessing`'s connections: the same two pipes (the
child's standard input and output) exist on every OS and let a child be any module run
as ``python -m`` that imports only what it needs (a `multiprocessing` child re-imports
the app's main module); the frames are read from a buffer, so many small frames cost one
read (a `multiprocessing` connection makes two reads per frame); and the end of the
pipe from the app, whose only write end the app holds, is how a child learns that the
app has gone (see `phantom_gui.core.children`).

A write blocks while the pipe is full: a reader that falls behind slows the writer down
instead of growing a queue. Any thread may send; one thread receives.
"""

from __future__ import annotations

import os
import pickle
import selectors
import struct
import threading
from typing import Any

HEADER = struct.Struct("!I")
"""The length of the pickle that follows."""
READ_SIZE = 1 << 16
"""Bytes asked of the pipe per read (a pipe holds 64 KiB on Linux)."""


class UnreadableValue(ValueError):
    """A whole frame arrived but its pickle could not be loaded (the channel reads on)."""


class Channel:
    """Sends values on the `outgoing` pipe and receives them from the `incoming` one (both
    file descriptors, owned by the channel from now on)."""

    def __init__(self, incoming: int, outgoing: int) -> None:
        self._incoming = incoming
        self._outgoing = outgoing
        self._send_lock = threading.Lock()
        self._buffer = bytearray()
        self._start = 0
        """Where the next frame begins in `_buffer`."""
        self._selector: selectors.BaseSelector | None = None

    def send(self, value: object) -> None:
        """Send `value`; `OSError` once the other side has gone or the channel is closed."""
        self._write(pickle.dumps(value, pickle.HIGHEST_PROTOCOL))

    def send_batch(self, items: list[Any]) -> list[tuple[Any, Exception]]:
        """Send `items` as one list; an item that cannot be pickled is left out and returned
        with its error. `OSError` as for `send`."""
        try:
            data = pickle.dumps(items, pickle.HIGHEST_PROTOCOL)
        except Exception:
            sendable, dropped = [], []
            for item in items:
                try:
                    pickle.dumps(item, pickle.HIGHEST_PROTOCOL)
                except Exception as error:
                    dropped.append((item, error))
                else:
                    sendable.append(item)
            if sendable:
                self.send(sendable)
            return dropped
        self._write(data)
        return []

    def receive(self) -> Any:
        """The next value, waiting for it; `EOFError` at the end of the pipe, `UnreadableValue`
        for a frame that cannot be unpickled."""
        frame = self._next_frame()
        while frame is None:
            self._fill()
            frame = self._next_frame()
        try:
            return pickle.loads(frame)
        except Exception as error:  # pickle raises EOFError too, which is not the end here
            raise UnreadableValue(f"{type(error).__name__}: {error}") from error

    def poll(self, timeout: float | None = 0.0) -> bool:
        """Whether `receive` can go on without waiting for the other side, waiting up to
        `timeout` seconds (None: for ever) until it can. POSIX only: Windows cannot wait
        on a pipe with `selectors`."""
        if self._next_frame_size() is not None:
            return True
        if self._selector is None:
            self._selector = selectors.DefaultSelector()
            self._selector.register(self._incoming, selectors.EVENT_READ)
        return bool(self._selector.select(timeout))

    def close(self) -> None:
        """Close both pipes; the other side reads the end. Sends that follow raise `OSError`."""
        with self._send_lock:
            if self._outgoing >= 0:
                os.close(self._outgoing)
                self._outgoing = -1
        if self._selector is not None:
            self._selector.close()
            self._selector = None
        if self._incoming >= 0:
            os.close(self._incoming)
            self._incoming = -1

    def _write(self, data: bytes) -> None:
        frame = memoryview(HEADER.pack(len(data)) + data)
        with self._send_lock:
            if self._outgoing < 0:
                raise BrokenPipeError("the channel is closed")
            while frame:
                frame = frame[os.write(self._outgoing, frame) :]

    def _next_frame_size(self) -> int | None:
        """The size of the next frame, header included, if all of it is buffered."""
        available = len(self._buffer) - self._start
        if available < HEADER.size:
            return None
        size = HEADER.size + HEADER.unpack_from(self._buffer, self._start)[0]
        return size if available >= size else None

    def _next_frame(self) -> bytearray | None:
        size = self._next_frame_size()
        if size is None:
            return None
        start = self._start
        frame = self._buffer[start + HEADER.size : start + size]
        self._start = start + size
        return frame

    def _fill(self) -> None:
        """Read what the pipe has (at least one byte, waiting for it) into the buffer."""
        if self._incoming < 0:
            raise EOFError("the channel is closed")
        del self._buffer[: self._start]
        self._start = 0
        wanted = READ_SIZE
        if len(self._buffer) >= HEADER.size:
            wanted = max(
                wanted, HEADER.size + HEADER.unpack_from(self._buffer)[0] - len(self._buffer)
            )
        chunk = os.read(self._incoming, wanted)
        if not chunk:
            raise EOFError("the other side has closed the channel")
        self._buffer += chunk
