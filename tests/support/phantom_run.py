"""The real `phantom` process on a virtual screen, driven with xdotool."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from support.virtual_screen import VirtualScreen

PHANTOM = str(Path(sys.executable).with_name("phantom"))


class PhantomRun:
    """One run of the real app under the virtual screen, with a shared data folder."""

    def __init__(self, screen: VirtualScreen, data: Path, *args: str) -> None:
        self.screen = screen
        self.args = ["--data-dir", str(data), *args]
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

    def wait_for(self, text: str, times: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.count(text) < times:
            assert time.monotonic() < deadline, f"{text!r} not logged {times} times"
            time.sleep(0.1)

    def quit(self, process: subprocess.Popen[str]) -> None:
        self.keys("ctrl+q")
        _, err = process.communicate(timeout=15)
        assert process.returncode == 0, err
        assert err == ""
