"""The audit log under real faults: a writer killed with SIGKILL, a full disk, two writer
processes at once, `phantom audit verify` run as a process on a tampered log, and an
attacker who rewrites a copy of the whole data folder with every key it holds."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from phantom_gui.audit.chain import (
    CANONICAL_SQL,
    HEAD_LABEL,
    SEAL_LABEL,
    Checkpoint,
    RecordHasher,
    genesis_mac,
)
from phantom_gui.audit.keys import SealingKey
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


# -- an attacker with a copy of the data folder ---------------------------------------------------

EDITED = 321
"""The old record the attacker rewrites (sealed long before the copy was taken)."""


def _write_a_log(data: Path, keep: Path) -> Path:
    """A log as the app leaves it: a run, a thousand readings, the run completed, the epoch
    sealed; its verification key saved outside the data folder. Returns the key file."""
    storage = AuditStorage(data / "audit")
    storage.set_config("checkpoint_every", 100)
    storage.save_audit({"id": "brew-1", "kind": "brew", "name": "Pumpkin Elixir"})
    storage.append_events(
        [{"type": "sensor_reading", "audit_id": "brew-1", "data": {"n": n}} for n in range(1000)]
    )
    storage.update_audit("brew-1", {"status": "completed"})
    storage.seal()
    key = storage.new_verification_key
    assert key is not None
    keep.mkdir()
    (keep / "verification.key").write_text(key.to_text())
    storage.verification_key_taken()
    storage.close()
    return keep / "verification.key"


def _rewrite_and_rebuild(root: Path, rebuild_from: int) -> None:
    """What someone holding a copy of the data folder can do with Phantom's own code: change
    record EDITED and the run's status, then recompute every MAC from `rebuild_from` on and
    re-sign every seal after it and the head, with the only key the folder holds."""
    keys = [path.name for path in root.iterdir() if "key" in path.name]
    assert keys == ["audit.sealing-key"], keys  # the verification key is not there
    sealing = SealingKey.read(root / "audit.sealing-key")
    assert sealing is not None
    hasher = RecordHasher(sealing.key)
    with sqlite3.connect(root / "audit.sqlite3") as raw:
        raw.execute("UPDATE events SET data = ? WHERE seq = ?", ('{"n": "forged"}', EDITED))
        raw.execute("UPDATE audits SET status = 'failed' WHERE id = 'brew-1'")
        [(last_run_record, data)] = raw.execute(
            "SELECT seq, data FROM events WHERE topic = 'audit/run' ORDER BY seq DESC LIMIT 1"
        )
        run = json.loads(data)
        run["run"]["status"] = "failed"
        raw.execute("UPDATE events SET data = ? WHERE seq = ?", (json.dumps(run), last_run_record))
        if rebuild_from == 1:
            chain_id = raw.execute("SELECT value FROM meta WHERE key = 'chain_id'").fetchone()[0]
            mac = genesis_mac(sealing.key, chain_id)
        else:
            mac = raw.execute(
                "SELECT mac FROM events WHERE seq = ?", (rebuild_from - 1,)
            ).fetchone()[0]
        rows = raw.execute(
            f"SELECT seq, {CANONICAL_SQL} FROM events WHERE seq >= ? ORDER BY seq", (rebuild_from,)
        ).fetchall()
        for seq, text in rows:
            mac = hasher.record(mac, text)
            raw.execute("UPDATE events SET mac = ? WHERE seq = ?", (mac, seq))
        seals = raw.execute("SELECT epoch, seq FROM seals WHERE seq >= ?", (rebuild_from,))
        for epoch, seq in seals.fetchall():
            [(sealed_mac,)] = raw.execute("SELECT mac FROM events WHERE seq = ?", (seq,))
            seal = Checkpoint.make(sealing.key, SEAL_LABEL, seq, sealed_mac, epoch)
            raw.execute(
                "UPDATE seals SET mac = ?, signature = ? WHERE epoch = ?",
                (seal.mac, seal.signature, epoch),
            )
    head = Checkpoint.make(sealing.key, HEAD_LABEL, rows[-1][0], mac, sealing.epoch)
    (root / "audit.head.json").write_text(head.to_json())


@pytest.mark.parametrize("rebuild_from", [EDITED, 1], ids=["from-the-edit", "whole-chain"])
def test_an_attacker_who_rebuilds_a_copied_log_is_found_with_the_verification_key(
    tmp_path: Path, rebuild_from: int
) -> None:
    key = _write_a_log(tmp_path / "data", tmp_path / "kept-by-the-owner")
    stolen = tmp_path / "stolen"
    shutil.copytree(tmp_path / "data", stolen)
    _rewrite_and_rebuild(stolen / "audit", rebuild_from)

    def verify(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "phantom_gui",
                "audit",
                "verify",
                *args,
                "--data-dir",
                str(stolen),
            ],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
        )

    # Without the verification key the rebuilt copy may pass: everything the folder holds
    # agrees. Verify does not vouch for it, though: it says what it could not authenticate.
    unkeyed = verify()
    assert unkeyed.returncode == 0, unkeyed.stdout + unkeyed.stderr
    assert "checked without the verification key" in unkeyed.stdout
    assert "could not be authenticated" in unkeyed.stdout

    # With the key kept outside, the first rewritten record is named.
    keyed = verify("--key", str(key))
    assert keyed.returncode == 1, keyed.stdout + keyed.stderr
    assert keyed.stdout.startswith(f"TAMPERED at record {rebuild_from}: ")
    assert "MAC mismatch" in keyed.stdout

    # ...and the owner's own copy still verifies with it.
    own = subprocess.run(
        [PHANTOM, "audit", "verify", "--key", str(key), "--data-dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert (own.returncode, own.stdout) == (0, "OK: 1,002 records verified\n")
