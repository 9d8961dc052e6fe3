"""The audit log of a real `phantom` run: recorded, listed and verified from the command line."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

PHANTOM = str(Path(sys.executable).with_name("phantom"))

pytestmark = pytest.mark.e2e


def _phantom(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PHANTOM, *args], capture_output=True, text=True, timeout=60)


def _count(log: Path, text: str) -> int:
    return log.read_text().count(text) if log.exists() else 0


def _run_headless_once(data: Path) -> str:
    """Run phantom headless until it has started, stop it; return what it said on stderr."""
    log = data / "logs" / "phantom.log.jsonl"
    started_before = _count(log, "running headless")
    process = subprocess.Popen(
        [PHANTOM, "--headless", "--data-dir", str(data)], stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 15
    while _count(log, "running headless") == started_before:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "phantom did not start"
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    return err


def test_each_run_is_recorded_and_verifies_until_someone_edits_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first_run = _run_headless_once(data)
    assert _run_headless_once(data) == ""

    listing = _phantom("audit", "list", "--data-dir", str(data))
    assert listing.returncode == 0, listing.stderr
    sessions = [line for line in listing.stdout.splitlines() if "session" in line]
    assert len(sessions) == 2
    assert all("completed" in line for line in sessions)

    exported = _phantom("audit", "export", "all", "--format", "jsonl", "--data-dir", str(data))
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    topics = {record["topic"] for record in records}
    assert {"app/started", "app/stopping"} <= topics
    assert any(record["type"] == "plugin_lifecycle" for record in records)

    # The first run saved the verification key beside the data folder (there is no keyring
    # on the test machines) and said so on stderr and in its log.
    [key] = tmp_path.glob("phantom-audit-verification-*.key")
    assert str(key) in first_run
    assert str(key) in (data / "logs" / "phantom.log.jsonl").read_text()
    verified = _phantom("audit", "verify", "--key", str(key), "--data-dir", str(data))
    assert (verified.returncode, verified.stdout) == (0, f"OK: {len(records)} records verified\n")

    middle = records[len(records) // 2]["seq"]
    with sqlite3.connect(data / "audit" / "audit.sqlite3") as raw:
        raw.execute("UPDATE events SET data = '{\"forged\": true}' WHERE seq = ?", (middle,))
    tampered = _phantom("audit", "verify", "--key", str(key), "--data-dir", str(data))
    assert tampered.returncode == 1
    assert f"record {middle}" in tampered.stdout
    # Each session sealed its epoch when it stopped: without the key, that record cannot be
    # authenticated any more, and verify says so instead of vouching for it.
    unkeyed = _phantom("audit", "verify", "--data-dir", str(data))
    assert unkeyed.returncode == 0
    assert "could not be authenticated" in unkeyed.stdout
