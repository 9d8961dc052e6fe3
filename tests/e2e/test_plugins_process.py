"""Haunt packs in the real `phantom` process: loaded from the menu, remembered, disabled."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.virtual_screen import VirtualScreen

PHANTOM = str(Path(sys.executable).with_name("phantom"))
CANDLE = Path(__file__).resolve().parents[1] / "fixtures" / "ui_plugins" / "phantom_candle"
ACTIVE_LINE = "plugin phantom_candle: loading → active"

pytestmark = [pytest.mark.e2e, pytest.mark.screen]


class PhantomRun:
    """One run of the real app under the virtual screen, with a shared data folder."""

    def __init__(self, screen: VirtualScreen, data: Path, plugins: Path) -> None:
        self.screen = screen
        self.args = ["--data-dir", str(data), "--plugin-dir", str(plugins)]
        self.log = data / "logs" / "phantom.log.jsonl"
        self.env = {**os.environ, "DISPLAY": screen.display}
        self.env.pop("QT_QPA_PLATFORM", None)

    def count(self, text: str) -> int:
        return self.log.read_text().count(text) if self.log.exists() else 0

    def start(self) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [PHANTOM, *self.args], env=self.env, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 10
        while not self.screen.window_ids("Phantom"):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "no Phantom window within 10 s"
            time.sleep(0.1)
        return process

    def keys(self, *keys: str) -> None:
        window = self.screen.window_ids("Phantom")[0]
        subprocess.run(["xdotool", "windowfocus", "--sync", window], env=self.env, check=True)
        for key in keys:
            subprocess.run(["xdotool", "key", "--clearmodifiers", key], env=self.env, check=True)
            time.sleep(0.3)

    def wait_for(self, text: str, times: int) -> None:
        deadline = time.monotonic() + 10
        while self.count(text) < times:
            assert time.monotonic() < deadline, f"{text!r} not logged {times} times"
            time.sleep(0.1)

    def quit(self, process: subprocess.Popen[str]) -> None:
        self.keys("ctrl+q")
        _, err = process.communicate(timeout=15)
        assert process.returncode == 0, err
        assert err == ""


def test_a_plugin_loaded_from_the_menu_comes_back_and_a_disabled_one_does_not(
    virtual_screen: VirtualScreen, tmp_path: Path
) -> None:
    plugins = tmp_path / "plugins"
    shutil.copytree(CANDLE, plugins / CANDLE.name)
    run = PhantomRun(virtual_screen, tmp_path / "data", plugins)

    first = run.start()
    run.keys("alt+h", "Right", "Return")
    run.wait_for(ACTIVE_LINE, 1)
    virtual_screen.screenshot(tmp_path / "candle-loaded.png")
    run.quit(first)

    second = run.start()
    run.wait_for(ACTIVE_LINE, 2)
    virtual_screen.screenshot(tmp_path / "candle-restored.png")
    run.quit(second)

    disable = subprocess.run(
        [PHANTOM, *run.args, "plugin", "disable", "phantom_candle"],
        capture_output=True,
        text=True,
    )
    assert disable.returncode == 0, disable.stderr
    third = run.start()
    run.wait_for("plugin phantom_candle: discovered → disabled", 1)
    time.sleep(1.0)
    run.quit(third)
    assert run.count(ACTIVE_LINE) == 2
