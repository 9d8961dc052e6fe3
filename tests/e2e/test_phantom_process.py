"""The real `phantom` process, driven from outside as a user would."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from PySide6.QtGui import QColor, QImage

from phantom_gui import __version__

from support.virtual_screen import VirtualScreen

PHANTOM = str(Path(sys.executable).with_name("phantom"))
WINDOW_DEADLINE_S = 10.0
NOBODY = 65534

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
    assert code == 0
    # With no window, the first run tells on stderr where the audit log's verification
    # key went (the system keyring, or a file beside the data folder) and nothing else.
    [notice] = err.splitlines()
    assert notice.startswith("phantom: ") and "verification key" in notice
    entries = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert {entry["level"] for entry in entries} <= {"DEBUG", "INFO", "WARNING", "ERROR"}
    assert ("INFO", "MURMUR") in {(entry["level"], entry["spooky_level"]) for entry in entries}


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


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder that other users may enter (pytest's own are private to us)."""
    folder = Path(tempfile.mkdtemp(prefix="phantom-e2e-"))
    folder.chmod(0o755)
    yield folder
    for path in (folder, *folder.rglob("*")):
        if path.is_dir():
            path.chmod(0o755)
    shutil.rmtree(folder)


def _as_someone_else() -> list[str]:
    """The command prefix that runs Phantom as an ordinary user (permissions do not stop
    root); none when the tests run as one already."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root, and util-linux's setpriv is not installed")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def _run_with_data_dir(data_dir: Path, prefix: Sequence[str] = ()) -> CompletedProcess[str]:
    return subprocess.run(
        [*prefix, PHANTOM, "--headless", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=30,
    )


def _assert_says_what_and_why(result: CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "[Errno" not in result.stderr
    assert "To fix it," in result.stderr and "--data-dir" in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr


def test_a_data_dir_inside_a_file_says_the_file_is_in_the_way(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    result = _run_with_data_dir(blocker / "data")
    _assert_says_what_and_why(
        result,
        f"cannot use the data folder {blocker / 'data'}",
        f"{blocker} is a file, not a folder",
        f"move {blocker} out of the way",
    )
    assert blocker.read_text() == ""


def test_a_data_dir_whose_parent_cannot_be_created_names_the_missing_folder() -> None:
    result = _run_with_data_dir(Path("/proc/phantom-nowhere/data"))
    _assert_says_what_and_why(
        result,
        "cannot use the data folder /proc/phantom-nowhere/data",
        "/proc/phantom-nowhere does not exist and cannot be created in /proc",
        "create /proc/phantom-nowhere/data yourself",
    )


def test_a_data_dir_in_a_folder_of_someone_else_says_permission_denied(shared_tmp: Path) -> None:
    locked = shared_tmp / "locked"
    locked.mkdir(mode=0o555)
    result = _run_with_data_dir(locked / "data", _as_someone_else())
    _assert_says_what_and_why(result, f"you may not create folders in {locked} (Permission denied)")
    assert not (locked / "data").exists()


def test_a_data_dir_that_is_not_writable_says_so(shared_tmp: Path) -> None:
    read_only = shared_tmp / "read-only"
    for folder in (read_only, read_only / "logs", read_only / "plugins"):
        folder.mkdir(mode=0o755)
    read_only.chmod(0o555)
    result = _run_with_data_dir(read_only, _as_someone_else())
    _assert_says_what_and_why(
        result, f"cannot use the data folder {read_only}: you may not write in it"
    )


def test_qt_warnings_reach_the_json_log_with_their_category(
    virtual_screen: VirtualScreen, tmp_path: Path
) -> None:
    """Qt warns about a bad rounding policy while the app starts: the warning goes to the
    log file (standard level names), not to standard error."""
    os.environ["QT_SCALE_FACTOR_ROUNDING_POLICY"] = "Haunted"
    try:
        process = _start(["--data-dir", str(tmp_path / "data")], virtual_screen.display)
    finally:
        del os.environ["QT_SCALE_FACTOR_ROUNDING_POLICY"]
    _wait_for_window(virtual_screen, process)
    process.send_signal(signal.SIGTERM)
    code, _, err = _finish(process)
    assert (code, err) == (0, "")
    log_file = tmp_path / "data" / "logs" / "phantom.log.jsonl"
    entries = [json.loads(line) for line in log_file.read_text().splitlines()]
    [qt_warning] = [entry for entry in entries if "Haunted" in entry["message"]]
    assert qt_warning["level"] == "WARNING" and qt_warning["spooky_level"] == "WAIL"
    assert qt_warning["logger"] == "phantom.qt"
    assert qt_warning["qt_category"] == "default"
    assert "Unknown scale factor rounding policy" in qt_warning["message"]
