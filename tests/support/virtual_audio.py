"""A PulseAudio daemon with a null sink, the virtual sound card of the audio tests.

The daemon runs in the foreground in a folder of its own (its ``XDG_RUNTIME_DIR`` and
``HOME``), with one sink, ``vsink`` at 48 kHz, whose monitor source hears everything played
into the sink: a loopback from the output to the input. A keep-alive ``pacat`` keeps a
low-latency stream open, without which the first stream stalls for about two seconds.

PortAudio reaches the daemon through ALSA's pulse plugin (``libasound2-plugins``): once the
daemon runs, ``sounddevice.query_devices()`` lists two ALSA devices, ``pulse`` and
``default`` (both go to the daemon's default sink and its monitor), 32 channels in and out.
Without a running daemon it lists none. PortAudio reads the device list when it starts, so
a process that imported sounddevice earlier must rescan (`phantom_seance.audio.list_devices`).

Both processes are stopped by PID; `vanish` kills the daemon, as a device unplugged.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

DEVICE = "pulse"
"""The sounddevice name of the virtual device, for input and output alike."""
SAMPLERATE = 48_000
START_TIMEOUT_S = 15.0


@dataclass
class VirtualAudio:
    """A running PulseAudio daemon with a null sink, and its keep-alive stream."""

    folder: Path
    daemon: subprocess.Popen[bytes]
    keep_alive: subprocess.Popen[bytes] | None = None
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def socket(self) -> Path:
        return self.folder / "native"

    @classmethod
    def start(cls, folder: Path) -> VirtualAudio:
        """Start the daemon in `folder`; return once it accepts clients."""
        binary = shutil.which("pulseaudio")
        if binary is None:
            raise RuntimeError("pulseaudio is not installed: run scripts/setup.sh as root first")
        folder.mkdir(parents=True, exist_ok=True)
        socket = folder / "native"
        environment = {"PULSE_SERVER": f"unix:{socket}"}
        private = {**os.environ, "XDG_RUNTIME_DIR": str(folder), "HOME": str(folder)}
        daemon = subprocess.Popen(
            [
                binary,
                "--daemonize=no",
                "-n",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "--log-target=stderr",
                "-L",
                f"module-null-sink sink_name=vsink rate={SAMPLERATE}",
                "-L",
                f"module-native-protocol-unix auth-anonymous=1 socket={socket}",
            ],
            env={**private, **environment},
            stdout=subprocess.DEVNULL,
            stderr=(folder / "pulseaudio.log").open("wb"),
        )
        audio = cls(folder, daemon, environment=environment)
        try:
            audio._wait_until(lambda: audio._pactl("info") != "")
            audio.keep_alive = subprocess.Popen(
                ["pacat", "--latency-msec=20", "/dev/zero"],
                env={**os.environ, **environment},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            audio._wait_until(lambda: audio._pactl("list", "short", "sink-inputs").strip() != "")
        except BaseException:
            audio.stop()
            raise
        return audio

    def _pactl(self, *arguments: str) -> str:
        """pactl's output ("" when it fails, as before the daemon accepts clients)."""
        done = subprocess.run(
            ["pactl", *arguments],
            env={**os.environ, **self.environment},
            capture_output=True,
            text=True,
        )
        return done.stdout if done.returncode == 0 else ""

    def _wait_until(self, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.daemon.poll() is not None:
                log = (self.folder / "pulseaudio.log").read_text(errors="replace")
                raise RuntimeError(f"pulseaudio exited with {self.daemon.returncode}:\n{log}")
            if ready():
                return
            time.sleep(0.05)
        raise RuntimeError(f"pulseaudio was not ready within {START_TIMEOUT_S} s")

    @contextmanager
    def in_environment(self) -> Iterator[None]:
        """Clients of this process reach the daemon while inside (libpulse reads the
        environment each time it connects)."""
        previous = {key: os.environ.get(key) for key in self.environment}
        os.environ.update(self.environment)
        try:
            yield
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def vanish(self) -> None:
        """Kill the daemon, as a sound card pulled out: its clients lose the device."""
        _end(self.daemon, kill=True)

    def stop(self) -> None:
        """Stop the keep-alive stream and the daemon by their PIDs, and reap them."""
        if self.keep_alive is not None:
            _end(self.keep_alive)
        _end(self.daemon)


def _end(process: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    if process.poll() is not None:
        return
    if kill:
        process.kill()
    else:
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
