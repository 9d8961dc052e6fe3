"""The real `phantom --headless` process for end-to-end tests: started with no screen and
every imported module listed, waited on, stopped with SIGTERM, its audit log read."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from phantom_gui.audit.database import DATABASE_NAME

PHANTOM = str(Path(sys.executable).with_name("phantom"))


def start_headless(
    data: Path, *options: str, env: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    """`phantom --headless --data-dir data *options`, without DISPLAY, listing each
    module it imports on stderr (`-X importtime`); `env` adds variables."""
    no_screen = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    no_screen.update(env or {})
    command = [sys.executable, "-X", "importtime", "-m", "phantom_gui", "--headless"]
    return subprocess.Popen(
        [*command, "--data-dir", str(data), *options],
        stderr=subprocess.PIPE,
        text=True,
        env=no_screen,
    )


def wait_for(
    condition: Callable[[], bool], process: subprocess.Popen[str], what: str, timeout: float = 30
) -> None:
    """Until `condition` holds; fails if the process ends first or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"{what} within {timeout:g} s"
        time.sleep(0.1)


def stop(process: subprocess.Popen[str]) -> list[str]:
    """SIGTERM, then the modules the process imported; it must have exited cleanly."""
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    return [line.rsplit("|", 1)[-1].strip() for line in err.splitlines() if "|" in line]


def recorded(data: Path, where: str, value: str) -> int:
    """Records whose column `where` (`type` or `topic`) is `value` in the running app's
    audit log (read-only, beside it; none while it is being made)."""
    database = data / "audit" / DATABASE_NAME
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
            row = connection.execute(f"SELECT count(*) FROM events WHERE {where} = ?", (value,))
            return int(row.fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def exported(data: Path) -> list[dict[str, Any]]:
    """Every record of the audit log, as `phantom audit export all` writes them."""
    result = subprocess.run(
        [PHANTOM, "audit", "export", "all", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]
