"""The supervisor's restarts, with real short-lived processes and a clock the test moves:
a worker that keeps exiting waits longer each time, and the state file says so."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from phantom_gui.core.resilience import Backoff
from phantom_gui.coven.cluster import ClusterPaths, WorkerState
from phantom_gui.coven.supervisor import Supervisor


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def exits_with_3(command: Sequence[str], data_dir: Path) -> subprocess.Popen[bytes]:
    assert "--headless" in command and str(data_dir) in command
    return subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])


def test_a_failing_worker_is_restarted_later_each_time(tmp_path: Path) -> None:
    paths = ClusterPaths(tmp_path / "coven")
    paths.root.mkdir()
    clock = Clock()
    backoff = Backoff(base=1.0, factor=2.0, maximum=30.0)
    supervisor = Supervisor(
        paths, 1, ["phantom_cauldron"], backoff=backoff, launch=exits_with_3, clock=clock
    )

    def worker() -> WorkerState:
        state = paths.read()
        assert state is not None
        return state.workers[0]

    def until_exited() -> None:
        while worker().pid is not None:
            supervisor.check()

    supervisor.start()
    first = worker().pid
    assert first is not None
    until_exited()
    assert (worker().restarts, worker().last_exit) == (0, 3)
    clock.now += 0.9
    supervisor.check()
    assert worker().pid is None, "still waiting out the first delay (1 s)"
    clock.now += 0.1
    supervisor.check()
    assert worker().pid not in (None, first) and worker().restarts == 1

    until_exited()
    clock.now += 1.9
    supervisor.check()
    assert worker().pid is None, "the second delay is 2 s"
    clock.now += 0.1
    supervisor.check()
    assert worker().restarts == 2
    supervisor.stop()
    assert paths.read() is None
