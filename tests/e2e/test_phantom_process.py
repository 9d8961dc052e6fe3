"""The real `phantom` process, driven from outside as a user would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage

from phantom_gui import __version__

from support.virtual_screen import VirtualScreen

PHANTOM = str(Path(sys.executable).with_name("phantom"))
WINDOW_DEADLINE_S = 10.0

pytestmark = [pytest.mark.e2e, pytest.mark.screen]


def _start(args: list[str], display: str | None = None) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if key != "QT_QPA_PLATFORM"}
    if display:
        env["DISPLAY"] = display
    return subprocess.Popen(
        [PHANTOM, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_window(screen: VirtualScreen, process: subprocess.Popen[str]) -> list[str]:
    deadline = time.monotonic() + WINDOW_DEADLINE_S
    while time.monotonic() < deadline:
        assert process.poll() is None, f"phantom exited early: {process.communicate()}"
        windows = screen.window_ids("Phantom")
        if windows:
            return windows
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"no Phantom window within {WINDOW_DEADLINE_S} s: {process.communicate()}")


def _finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"phantom did not exit: {err}")
    return process.returncode, out, err


def _count_pixels_like(image: QImage, color: str, tolerance: int = 30) -> int:
    target = QColor(color)
    hits = 0
    for y in range(0, image.height(), 4):
        for x in range(0, image.width(), 4):
            pixel = image.pixelColor(x, y)
            if (
                abs(pixel.red() - target.red())
                + abs(pixel.green() - target.green())
                + abs(pixel.blue() - target.blue())
                <= tolerance
            ):
                hits += 1
    return hits


def test_phantom_shows_its_themed_window_and_exits_cleanly_when_closed(
    virtual_screen: VirtualScreen, tmp_path: Path
) -> None:
    process = _start(["--data-dir", str(tmp_path / "data")], virtual_screen.display)
    windows = _wait_for_window(virtual_screen, process)
    time.sleep(1.0)
    shot = virtual_screen.screenshot(tmp_path / "phantom-window.png")
    image = QImage(str(shot))
    assert not image.isNull()
    assert _count_pixels_like(image, "#15121c") > 10_000, "the dark theme is not on screen"
    assert _count_pixels_like(image, "#ff7a1a", tolerance=60) > 20, "no pumpkin title on screen"

    env = {**os.environ, "DISPLAY": virtual_screen.display}
    subprocess.run(["xdotool", "windowfocus", "--sync", windows[0]], env=env, check=True)
    subprocess.run(["xdotool", "key", "--clearmodifiers", "ctrl+q"], env=env, check=True)
    code, _, err = _finish(process)
    assert code == 0
    assert err == ""
    settings = json.loads((tmp_path / "data" / "settings.json").read_text())
    assert settings["sections"]["window"]["geometry"]


def test_phantom_exits_zero_on_sigterm_with_a_window(
    virtual_screen: VirtualScreen, tmp_path: Path
) -> None:
    process = _start(["--data-dir", str(tmp_path / "data")], virtual_screen.display)
    _wait_for_window(virtual_screen, process)
    process.send_signal(signal.SIGTERM)
    code, _, err = _finish(process)
    assert (code, err) == (0, "")


def test_headless_runs_until_sigterm_and_exits_zero(tmp_path: Path) -> None:
    process = _start(["--headless", "--data-dir", str(tmp_path / "data")])
    log_file = tmp_path / "data" / "logs" / "phantom.log.jsonl"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "running headless" not in (
        log_file.read_text() if log_file.exists() else ""
    ):
        assert process.poll() is None, process.communicate()
        time.sleep(0.05)
    assert process.poll() is None, "headless phantom should keep running"
    process.send_signal(signal.SIGTERM)
    code, _, err = _finish(process)
    assert (code, err) == (0, "")
    levels = {json.loads(line)["level"] for line in log_file.read_text().splitlines()}
    assert "MURMUR" in levels


def test_version_and_help() -> None:
    version = subprocess.run([PHANTOM, "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"phantom {__version__}"
    module = subprocess.run(
        [sys.executable, "-m", "phantom_gui", "--version"], capture_output=True, text=True
    )
    assert module.stdout == version.stdout
    usage = subprocess.run([PHANTOM, "--help"], capture_output=True, text=True, check=True)
    for option in ("--data-dir", "--config", "--headless", "--version"):
        assert option in usage.stdout


def test_an_unusable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    result = subprocess.run(
        [PHANTOM, "--headless", "--data-dir", str(blocker / "data")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert str(blocker) in result.stderr
