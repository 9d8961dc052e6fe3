"""The Séance without a window: `phantom --headless --no-audio` with the Séance remembered
runs a séance on the synthetic room and records it as an audit run, found afterwards with
`phantom audit`; no sound device, no screen, and no Qt module imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from phantom_gui.core.settings import Settings
from phantom_gui.plugins.host_settings import PluginHostSettings

from support.headless import exported, recorded, start_headless, stop, wait_for

pytestmark = pytest.mark.e2e


def test_headless_the_remembered_seance_records_a_seance_run(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    Settings(data / "settings.json").save(PluginHostSettings(active=("phantom_seance",)))
    process = start_headless(data, "--no-audio", "--seed", "7")
    try:
        wait_for(
            lambda: recorded(data, "topic", "seance/level") >= 4,
            process,
            "the séance's levels recorded",
            timeout=60,
        )
    finally:
        imported = stop(process)
    assert "phantom_seance.run" in imported, "the imports were listed"
    qt = ("PySide6", "shiboken6", "qasync", "vispy", "phantom_seance._qt")
    assert not [name for name in imported if name.startswith(qt)]
    assert "sounddevice" not in imported, "--no-audio opens no sound device"

    records = exported(data)
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
