"""The real `phantom` process killed with SIGKILL leaves no child behind: not the Cauldron's
embedded mosquitto, not its MQTT network process, not a sandboxed plugin's process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phantom_gui.core.settings import Settings
from phantom_gui.plugins.host_settings import PluginHostSettings

from support.processes import children_of, command_line, start_time

pytestmark = [pytest.mark.e2e]

SANDBOX_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "sandbox_plugins"
CHILDREN = {
    "mosquitto": "bin/mosquitto ",
    "network process": "-m phantom_gui.mqtt.network_process",
    "sandboxed plugin": "-m phantom_gui.plugins.child",
}
"""The children expected, and how each one's command line reads."""
START_DEADLINE_S = 30.0
END_DEADLINE_S = 5.0


def _descendants(pid: int) -> dict[int, int | None]:
    """Every process below `pid`, with its start time."""
    found: dict[int, int | None] = {}
    waiting = children_of(pid)
    while waiting:
        child = waiting.pop()
        found[child] = start_time(child)
        waiting += children_of(child)
    return found


def test_phantom_killed_with_sigkill_takes_every_child_with_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Settings(data / "settings.json").save(
        PluginHostSettings(active=("phantom_cauldron", "sandbox_echo"))
    )
    command = [sys.executable, "-m", "phantom_gui", "--headless", "--data-dir", str(data)]
    with (tmp_path / "stderr").open("w") as stderr:
        app = subprocess.Popen([*command, "--plugin-dir", str(SANDBOX_PLUGINS)], stderr=stderr)
    try:
        deadline = time.monotonic() + START_DEADLINE_S
        while True:
            children = _descendants(app.pid)
            started = {
                kind: [pid for pid in children if text in command_line(pid) + " "]
                for kind, text in CHILDREN.items()
            }
            if all(started.values()):
                break
            assert app.poll() is None, (tmp_path / "stderr").read_text()
            assert time.monotonic() < deadline, f"not every child started: {started}"
            time.sleep(0.1)
    finally:
        os.kill(app.pid, signal.SIGKILL)
        app.wait()

    deadline = time.monotonic() + END_DEADLINE_S
    while left := {
        pid: command_line(pid)
        for pid, started_at in children.items()
        if started_at is not None and start_time(pid) == started_at
    }:
        assert time.monotonic() < deadline, f"children outlived phantom: {left}"
        time.sleep(0.05)
