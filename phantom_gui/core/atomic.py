"""Files written whole or not at all: a temporary file beside the target, fsynced, renamed.

A crash or a full disk halfway leaves the old file (or none) in place, never a torn one.
The temporary file is readable by its owner only (as `tempfile.mkstemp` makes it), and
the finished file keeps that mode.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO


@contextmanager
def atomic_text_file(path: Path) -> Iterator[TextIO]:
    """A UTF-8 text handle to write `path` through; the file appears when the block ends
    without an error, and is left as it was when the block raises."""
    with _atomic(path, exclusive=False) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        yield text
        text.flush()
        text.detach()


def write_atomically(path: Path, data: bytes | str, *, exclusive: bool = False) -> None:
    """Replace `path` with `data` (text is written as UTF-8).

    `exclusive` refuses to replace a file that exists (`FileExistsError`), so that two
    processes creating the same file at once keep the first one's.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with _atomic(path, exclusive=exclusive) as handle:
        handle.write(payload)


@contextmanager
def _atomic(path: Path, *, exclusive: bool) -> Iterator[BinaryIO]:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            _link_new(Path(temp), path)
        else:
            os.replace(temp, path)
        _sync_directory(path.parent)
    finally:
        Path(temp).unlink(missing_ok=True)


def _link_new(temp: Path, path: Path) -> None:
    """Give the finished `temp` the name `path`, refusing if `path` exists."""
    try:
        os.link(temp, path)
    except FileExistsError:
        raise
    except OSError:  # no hard links on this file system (FAT): copy into a new file
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(temp.read_bytes())
            handle.flush()
            os.fsync(handle.fileno())


def _sync_directory(folder: Path) -> None:
    """Make the rename itself durable (where the OS lets a folder be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
