"""Haunt packs in the real `phantom` process: loaded from the menu, remembered, disabled."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from support.phantom_run import PHANTOM, PhantomRun
from support.virtual_screen import VirtualScreen

CANDLE = Path(__file__).resolve().parents[1] / "fixtures" / "ui_plugins" / "phantom_candle"
ACTIVE_LINE = "plugin phantom_candle: loading → active"

pytestmark = [pytest.mark.e2e, pytest.mark.screen]


def test_a_plugin_loaded_from_the_menu_comes_back_and_a_disabled_one_does_not(
    virtual_screen: VirtualScreen, tmp_path: Path
) -> None:
    plugins = tmp_path / "plugins"
    shutil.copytree(CANDLE, plugins / CANDLE.name)
    run = PhantomRun(virtual_screen, tmp_path / "data", "--plugin-dir", str(plugins))

    first = run.start()
    # Haunt Packs: Cauldron, Coven, Séance, Test › Candle
    run.keys("alt+h", "Down", "Down", "Down", "Right", "Return")
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
