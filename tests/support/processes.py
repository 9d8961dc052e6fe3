"""Processes as Linux's /proc shows them: a process's children, and whether one still runs."""

from __future__ import annotations

import contextlib
from pathlib import Path


def children_of(pid: int) -> list[int]:
    """The children of `pid` (started by any of its threads), reaped or not."""
    found: list[int] = []
    for listing in Path(f"/proc/{pid}/task").glob("*/children"):
        with contextlib.suppress(OSError):  # the thread ended while we looked
            found += [int(child) for child in listing.read_text().split()]
    return found


def command_line(pid: int) -> str:
    """How `pid` was started, its arguments separated by spaces ("" once it has gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def start_time(pid: int) -> int | None:
    """When `pid` started (clock ticks after boot), None once it has ended: gone, or dead
    and waiting to be reaped. Compare it to tell a process from a later one with its id."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    state, started = fields[0], int(fields[19])
    return None if state in ("Z", "X") else started
