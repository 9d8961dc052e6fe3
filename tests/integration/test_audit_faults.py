"""The audit log under real faults: a writer killed with SIGKILL, a full disk, two writer
processes at once, and `phantom audit verify` run as a process on a tampered log."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from phantom_gui.audit.storage import AuditStorage

WRITER = Path(__file__).resolve().parents[1] / "support" / "audit_writer.py"
PHANTOM = str(Path(sys.executable).with_name("phantom"))
TIMEOUT_S = 20


def writer(*args: str | Path | int) -> subprocess.Popen[str]:
    """Start the helper writer process (see tests/support/audit_writer.py)."""
    return subprocess.Popen(
        [sys.executable, str(WRITER), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[str]]]:
    """Writer processes the test starts; any still running at the end are killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=TIMEOUT_S)


def reopened(root: Path) -> AuditStorage:
    return AuditStorage(root)


@pytest.mark.parametrize("acknowledgements", [1, 8, 40])
def test_a_writer_killed_mid_stream_loses_no_acknowledged_record(
    tmp_path: Path, children: list[subprocess.Popen[str]], acknowledgements: int
) -> None:
    root = tmp_path / "audit"
    child = writer("ack", root, 100_000, 250)
    children.append(child)
    assert child.stdout is not None
    acknowledged: list[int] = []
    while len(acknowledged) < acknowledgements:
        line = child.stdout.readline()
        assert line.startswith("committed "), (line, child.stderr and child.stderr.read())
        acknowledged.append(int(line.split()[1]))
    os.kill(child.pid, signal.SIGKILL)  # mid-stream: it is writing the next batches
    assert child.wait(TIMEOUT_S) == -signal.SIGKILL
    # Acknowledgements it printed before dying but we had not read yet count too.
    acknowledged += [int(line.split()[1]) for line in child.stdout if line.startswith("committed")]

    storage = reopened(root)
    try:
        last = storage.last_seq()
        assert last >= acknowledged[-1]
        assert storage.seq_range() == (1, last)
        assert storage.count_events() == last  # no holes
        report = storage.verify()
        assert report.ok, str(report)
        assert report.checked == last
        # The payloads are what was written: the n-th event of the run carries n.
        ns = [event["data"]["n"] for event in storage.iter_events()]
        assert ns == list(range(last))
        storage.append_event({"type": "haunt", "audit_id": "after-the-crash"})
        assert storage.verify().ok
    finally:
        storage.close()


def test_a_full_disk_is_an_os_error_and_loses_nothing_committed(tmp_path: Path) -> None:
    root = tmp_path / "audit"
    limit = 2_000_000  # bytes any one file may grow to in the child (RLIMIT_FSIZE)
    result = subprocess.run(
        [sys.executable, str(WRITER), "fill", str(root), str(limit)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    committed_line, error_line = result.stdout.splitlines()
    assert committed_line == "committed 500"
    word, errno_text, message = error_line.split(" ", 2)
    assert word == "oserror" and int(errno_text) > 0
    assert str(root / "audit.sqlite3") in message

    storage = reopened(root)
    try:
        before = storage.get_events(audit_id="before")
        assert [event["data"]["n"] for event in before] == list(range(500))
        assert [event["seq"] for event in before] == list(range(1, 501))
        report = storage.verify()
        assert report.ok, str(report)
        # Whole batches of the filling run went in, or none of one did.
        assert (storage.count_events() - 500) % 200 == 0
        assert all(os.path.getsize(p) <= limit for p in root.iterdir())
        storage.append_event({"type": "haunt", "audit_id": "after-the-disk-was-freed"})
        assert storage.verify().ok
    finally:
        storage.close()


def test_two_writer_processes_at_once_lose_nothing(
    tmp_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    root = tmp_path / "audit"  # new: they also race to create the log and its key
    go = tmp_path / "go"
    batches, size = 20, 500
    for tag in ("left", "right"):
        children.append(writer("race", root, batches, size, tag, go))
    time.sleep(0.3)  # let both start Python and wait on the go file
    go.touch()
    for child in children:
        _, err = child.communicate(timeout=TIMEOUT_S)
        assert child.returncode == 0, err

    storage = reopened(root)
    try:
        total = 2 * batches * size
        assert storage.count_events() == total
        assert storage.seq_range() == (1, total)
        for tag in ("left", "right"):
            ns = [event["data"]["n"] for event in storage.get_events(audit_id=tag)]
            assert ns == list(range(batches * size))  # each writer's order kept
        report = storage.verify()
        assert report.ok and report.checked == total, str(report)
    finally:
        storage.close()


def test_the_verify_command_finds_a_tampered_record(tmp_path: Path) -> None:
    storage = AuditStorage(tmp_path / "data" / "audit")
    storage.append_events([{"type": "haunt", "audit_id": "r", "data": {"n": n}} for n in range(50)])
    storage.close()

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PHANTOM, "audit", "verify", "--data-dir", str(tmp_path / "data")],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )

    clean = verify()
    assert (clean.returncode, clean.stderr) == (0, "")
    assert clean.stdout.startswith("OK: 50 records verified\nchecked without the verification key")
    raw = sqlite3.connect(storage.database_path)
    raw.execute("UPDATE events SET data = '{\"n\": 0}' WHERE seq = 17")
    raw.commit()
    raw.close()
    tampered = verify()
    assert tampered.returncode == 1, tampered.stderr
    assert tampered.stdout.startswith("TAMPERED at record 17:")
