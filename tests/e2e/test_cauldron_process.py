"""The embedded default in the real `phantom` process: no broker configured, the Cauldron
loaded from the menu shows the simulated cauldron's readings."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from phantom_gui.audit.storage import AuditStorage

from support.phantom_run import PhantomRun
from support.virtual_screen import VirtualScreen

pytestmark = [pytest.mark.e2e, pytest.mark.screen]

ACTIVE_LINE = "plugin phantom_cauldron: loading → active"
SIMULATED_QUANTITIES = {"temperature", "humidity", "ph", "mystical_energy"}


def test_with_no_broker_the_cauldron_charts_a_simulated_cauldron_within_seconds(
    virtual_screen: VirtualScreen, tmp_path: Path
) -> None:
    run = PhantomRun(virtual_screen, tmp_path / "data")
    process = run.start()
    run.keys("alt+h", "Right", "Return")
    run.wait_for(ACTIVE_LINE, 1)
    loaded_at = time.time()
    time.sleep(5.0)
    virtual_screen.screenshot(tmp_path / "cauldron-simulated.png")
    run.quit(process)

    storage = AuditStorage(tmp_path / "data" / "audit")
    readings = storage.get_events(event_type="sensor_reading")
    storage.close()
    assert {reading["data"]["type"] for reading in readings} >= SIMULATED_QUANTITIES
    assert min(reading["data"]["timestamp"] for reading in readings) < loaded_at + 5.0
    faults = [e for e in storage.get_events() if e["topic"] == "cauldron/simulator/faults"]
    assert faults and faults[0]["data"]["faults"]
