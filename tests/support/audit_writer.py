"""A child process that writes the audit log, for the fault tests (kill -9, full disk, races).

    python audit_writer.py ack ROOT BATCHES SIZE       print "committed <last seq>" per batch
    python audit_writer.py fill ROOT LIMIT_BYTES       commit some, then write past RLIMIT_FSIZE
    python audit_writer.py race ROOT BATCHES SIZE TAG GO_FILE
                                                       wait for GO_FILE, open, append batches

Each line is flushed as soon as the batch it reports has been committed.
"""

from __future__ import annotations

import resource
import signal
import sys
import time
from pathlib import Path
from typing import Any

from phantom_gui.audit.storage import AuditStorage

PAYLOAD = "ectoplasm " * 20


def batch(tag: str, start: int, size: int, pad: str = PAYLOAD) -> list[dict[str, Any]]:
    """`size` events of the run `tag`, numbered from `start` in their data."""
    return [
        {
            "type": "sensor_reading",
            "audit_id": tag,
            "topic": f"sensor/{tag}",
            "source": "writer",
            "data": {"n": start + index, "pad": pad},
        }
        for index in range(size)
    ]


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def ack(root: Path, batches: int, size: int) -> None:
    storage = AuditStorage(root)
    for number in range(batches):
        result = storage.append_events(batch("ack", number * size, size))
        say(f"committed {result.last_seq}")


def fill(root: Path, limit: int) -> None:
    storage = AuditStorage(root)
    storage.set_config("checkpoint_every", 100)
    committed = storage.append_events(batch("before", 0, 500))
    say(f"committed {committed.last_seq}")
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    big = "x" * 4000
    for number in range(10_000):
        try:
            storage.append_events(batch("fill", number * 200, 200, pad=big))
        except OSError as exc:
            say(f"oserror {exc.errno} {exc}")
            return
    say("no error")
    sys.exit(1)


def race(root: Path, batches: int, size: int, tag: str, go: Path) -> None:
    deadline = time.monotonic() + 20
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("never told to go")
        time.sleep(0.001)
    storage = AuditStorage(root)
    for number in range(batches):
        storage.append_events(batch(tag, number * size, size))
    say(f"done {tag}")


def main(argv: list[str]) -> None:
    mode, root = argv[0], Path(argv[1])
    if mode == "ack":
        ack(root, int(argv[2]), int(argv[3]))
    elif mode == "fill":
        fill(root, int(argv[2]))
    elif mode == "race":
        race(root, int(argv[2]), int(argv[3]), argv[4], Path(argv[5]))
    else:
        sys.exit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
