"""A broker of the app's own: `mosquitto` in the foreground on a free loopback port.

mosquitto is started as a child of the app (`start_program`), so it ends with the app,
even one killed with ``kill -9`` on Linux (see `phantom_gui.core.children`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from phantom_gui.core.children import reap, start_program
from phantom_gui.mqtt.config import ConnectionConfig

LOOPBACK = "127.0.0.1"
SYSTEM_FOLDERS = ("/usr/sbin", "/usr/local/sbin")
"""Where packages put mosquitto when it is not on a user's PATH."""
INSTALL_HINT = (
    "install Mosquitto (Debian/Ubuntu: apt install mosquitto; Fedora: dnf install mosquitto; "
    "macOS: brew install mosquitto; Windows: https://mosquitto.org/download/)"
)
START_ATTEMPTS = 3
MAX_QUEUED_MESSAGES = 100_000
"""QoS 1 messages mosquitto queues for a subscriber that falls behind before it drops
them (its default, 1000, loses messages in bursts)."""
POLL_S = 0.05


class MosquittoNotFound(RuntimeError):
    """There is no mosquitto program to start."""


def find_mosquitto() -> Path:
    """The mosquitto program on PATH or in the system folders, else `MosquittoNotFound`."""
    found = shutil.which("mosquitto") or shutil.which(
        "mosquitto", path=os.pathsep.join(SYSTEM_FOLDERS)
    )
    if found is None:
        raise MosquittoNotFound(f"no mosquitto program on PATH or in /usr/sbin: {INSTALL_HINT}")
    return Path(found)


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port on `host` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def general_settings() -> list[str]:
    """Configuration lines of every mosquitto the app or its tests start: nothing kept on
    disk, a log on standard error, and (when started as root) no switch to another user."""
    lines = ["persistence false", "log_dest stderr", "log_type error", "log_type warning"]
    if hasattr(os, "getuid"):
        import pwd

        lines.append(f"user {pwd.getpwuid(os.getuid()).pw_name}")
    return lines


@dataclass
class MosquittoProcess:
    """A mosquitto started in the foreground with a config file, as a child of the app;
    stopped by its PID."""

    process: subprocess.Popen[bytes]
    log_file: Path

    @classmethod
    def start(
        cls,
        binary: Path,
        config: Sequence[str],
        folder: Path,
        ports: Sequence[int],
        timeout: float = 10.0,
    ) -> MosquittoProcess:
        """Write `config` to `folder`, start mosquitto, and return once each of `ports` on
        the loopback accepts connections; raise `RuntimeError` with its log otherwise."""
        config_file = folder / "mosquitto.conf"
        config_file.write_text("\n".join(config) + "\n", encoding="utf-8")
        log_file = folder / "mosquitto.log"
        with log_file.open("ab") as log:
            process = start_program(
                [str(binary), "-c", str(config_file)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        broker = cls(process, log_file)
        try:
            broker._wait_for(ports, timeout)
        except BaseException:
            broker.stop()
            raise
        return broker

    def _wait_for(self, ports: Sequence[int], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        waiting = list(ports)
        while waiting:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited with code {self.process.returncode}: {self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"mosquitto did not listen within {timeout:g} s: {self.log_tail()}"
                )
            try:
                socket.create_connection((LOOPBACK, waiting[0]), timeout=POLL_S).close()
            except OSError:
                time.sleep(POLL_S)
            else:
                waiting.pop(0)

    def log_tail(self, lines: int = 5) -> str:
        """The last lines mosquitto wrote."""
        text = self.log_file.read_text(encoding="utf-8", errors="replace").strip()
        return " | ".join(text.splitlines()[-lines:]) or "(no output)"

    @property
    def running(self) -> bool:
        """Whether the process is still alive."""
        return self.process.poll() is None

    def stop(self) -> None:
        """Terminate it, kill it if it does not end in time, reap it (see `reap`)."""
        reap(self.process, terminate=True)

    def kill(self) -> None:
        """Kill it at once (as a crash would) and reap it."""
        self.process.kill()
        reap(self.process)


class EmbeddedBroker:
    """The broker the app starts when none is configured: anonymous, loopback only."""

    host = LOOPBACK

    def __init__(self, folder: Path, process: MosquittoProcess, port: int) -> None:
        self._folder = folder
        self._process = process
        self.port = port

    @classmethod
    def start(cls, timeout: float = 10.0) -> EmbeddedBroker:
        """Start mosquitto on a free port; `MosquittoNotFound` says what to install."""
        binary = find_mosquitto()
        folder = Path(tempfile.mkdtemp(prefix="phantom-broker-"))
        attempts_left = START_ATTEMPTS
        while True:
            port = free_port()
            config = [
                f"listener {port} {LOOPBACK}",
                "allow_anonymous true",
                f"max_queued_messages {MAX_QUEUED_MESSAGES}",
                *general_settings(),
            ]
            try:
                process = MosquittoProcess.start(binary, config, folder, [port], timeout)
            except RuntimeError:  # another program may have taken the port meanwhile
                attempts_left -= 1
                if not attempts_left:
                    shutil.rmtree(folder, ignore_errors=True)
                    raise
            else:
                return cls(folder, process, port)

    def connection_config(
        self, connection_id: str = "embedded", name: str = "Embedded broker"
    ) -> ConnectionConfig:
        """A connection to this broker."""
        return ConnectionConfig(id=connection_id, name=name, host=self.host, port=self.port)

    @property
    def running(self) -> bool:
        """Whether mosquitto is still alive."""
        return self._process.running

    def stop(self) -> None:
        """Stop mosquitto by its PID and remove its folder."""
        self._process.stop()
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> EmbeddedBroker:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _error: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        self.stop()
