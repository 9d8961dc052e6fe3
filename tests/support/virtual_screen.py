"""An Xvfb virtual screen, started on a free display and stopped by PID."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 15.0


@dataclass
class VirtualScreen:
    """A running Xvfb server and the display name clients use to reach it."""

    process: subprocess.Popen[bytes]
    display: str

    @classmethod
    def start(cls, size: str = "1600x1000x24") -> VirtualScreen:
        """Start Xvfb on the first free display (Xvfb picks it and reports it)."""
        binary = shutil.which("Xvfb")
        if binary is None:
            raise RuntimeError("Xvfb is not installed: run scripts/setup.sh as root first")
        read_end, write_end = os.pipe()
        process = subprocess.Popen(
            [binary, "-displayfd", str(write_end), "-screen", "0", size, "-nolisten", "tcp"],
            pass_fds=(write_end,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_end)
        try:
            number = _read_line(read_end, START_TIMEOUT_S)
        finally:
            os.close(read_end)
        if not number:
            process.kill()
            process.wait()
            raise RuntimeError(f"Xvfb did not report a display within {START_TIMEOUT_S} s")
        return cls(process, f":{number}")

    def stop(self) -> None:
        """Stop the server by its PID and reap it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def screenshot(self, path: Path) -> Path:
        """Save the whole screen as a PNG at `path`."""
        xwd = path.with_suffix(".xwd")
        subprocess.run(
            ["xwd", "-root", "-silent", "-display", self.display, "-out", str(xwd)], check=True
        )
        subprocess.run(["convert", f"xwd:{xwd}", str(path)], check=True)
        xwd.unlink()
        return path

    def window_ids(self, title: str) -> list[str]:
        """The ids of mapped windows whose title is exactly `title`."""
        result = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", f"^{title}$"],
            env={**os.environ, "DISPLAY": self.display},
            capture_output=True,
            text=True,
        )
        return result.stdout.split()


def _read_line(fd: int, timeout: float) -> str:
    """Read up to a newline (Xvfb writes the display number, then a newline)."""
    deadline = time.monotonic() + timeout
    received = b""
    while not received.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(0.0, remaining))
        chunk = os.read(fd, 32) if ready else b""
        if not chunk:
            return ""
        received += chunk
    return received.decode().strip()
