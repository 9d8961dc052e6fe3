"""The Séance without a window: `phantom --headless --no-audio` with the Séance remembered
runs a séance on the synthetic room and records it as an audit run, found afterwards with
`phantom audit`; no sound device, no screen, and no Qt module imported."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phantom_gui.audit.database import DATABASE_NAME
from phantom_gui.core.settings import Settings
from phantom_gui.plugins.host_settings import PluginHostSettings

PHANTOM = str(Path(sys.executable).with_name("phantom"))

pytestmark = pytest.mark.e2e


def levels_recorded(data: Path) -> int:
    database = data / "audit" / DATABASE_NAME
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            row = connection.execute("SELECT count(*) FROM events WHERE topic = 'seance/level'")
            return int(row.fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_headless_the_remembered_seance_records_a_seance_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    Settings(data / "settings.json").save(PluginHostSettings(active=("phantom_seance",)))
    no_screen = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    process = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "phantom_gui", "--headless", "--no-audio",
         "--seed", "7", "--data-dir", str(data)],
        stderr=subprocess.PIPE,
        text=True,
        env=no_screen,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while levels_recorded(data) < 4:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the séance's levels were not recorded in 60 s"
            time.sleep(0.2)
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    imported = [line.rsplit("|", 1)[-1].strip() for line in err.splitlines() if "|" in line]
    assert "phantom_seance.run" in imported, "the imports were listed"
    qt = ("PySide6", "shiboken6", "qasync", "vispy", "phantom_seance._qt")
    assert not [name for name in imported if name.startswith(qt)]
    assert "sounddevice" not in imported, "--no-audio opens no sound device"

    exported = subprocess.run(
        [PHANTOM, "audit", "export", "all", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert exported.returncode == 0, exported.stderr
    records = [json.loads(line) for line in exported.stdout.splitlines()]
    [started] = [
        r for r in records if r["type"] == "audit_started" and r["data"]["kind"] == "seance"
    ]
    seance_run = started["audit_id"]
    assert started["data"]["seed"] == 7
    levels = [r for r in records if r["topic"] == "seance/level"]
    assert levels and all(r["audit_id"] == seance_run for r in levels)
    assert {"level_dbfs", "voiced", "spectrum", "overflows", "underflows", "at"} <= set(
        levels[0]["data"]
    )
    engine = [r["data"] for r in records if r["topic"] == "seance/engine"]
    assert engine and "--no-audio" in engine[0]["message"]
    assert any(r["type"] == "audit_completed" and r["audit_id"] == seance_run for r in records)
