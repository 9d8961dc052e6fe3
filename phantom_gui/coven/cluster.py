"""The local cluster of headless workers: where it lives, its state file, and the
supervisor seen from outside (`start_supervisor`, `read_status`, `stop_supervisor`).

A cluster lives in ``<data>/coven``: the supervisor keeps `STATE_FILE` there (written
atomically on every change) and each worker ``k`` its own data folder
``workers/<k>``, so that no two processes share an audit log or a settings file.
A pid is trusted only while its process still has the start time recorded with it,
so that a later process that happens to get the same pid is never taken for it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from phantom_gui.core.atomic import write_atomically

STATE_FILE = "cluster.json"
SUPERVISOR_LOG = "supervisor.log"
SUPERVISOR_MODULE = "phantom_gui.coven.supervisor"
STOP_GRACE_S = 10.0
"""How long a worker may take to stop after SIGTERM before it is killed."""
EXIT_ALREADY_RUNNING = 3
"""The supervisor's exit code when another one already runs the cluster."""


class ClusterError(RuntimeError):
    """A cluster command could not do what was asked; the message says why."""


class WorkerState(BaseModel):
    """One worker as the supervisor last saw it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    index: int
    data_dir: str
    pid: int | None = None
    """None while the worker waits to be restarted."""
    started_ticks: int | None = None
    started_at: float | None = None
    """Wall-clock time (seconds since the epoch) of the current process's start."""
    restarts: int = 0
    last_exit: int | None = None
    """The exit code of the worker's previous process (negative: the signal that ended it)."""


class ClusterState(BaseModel):
    """The state file: the supervisor and its workers."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    supervisor_pid: int
    supervisor_ticks: int | None = None
    started_at: float
    plugins: tuple[str, ...] = ()
    workers: tuple[WorkerState, ...] = ()


@dataclass(frozen=True)
class ClusterPaths:
    """The folder of a cluster and the files in it."""

    root: Path

    @classmethod
    def of(cls, data_dir: Path) -> ClusterPaths:
        """The cluster of the data folder `data_dir`."""
        return cls(data_dir / "coven")

    @property
    def state_file(self) -> Path:
        return self.root / STATE_FILE

    @property
    def log_file(self) -> Path:
        return self.root / SUPERVISOR_LOG

    def worker_dir(self, index: int) -> Path:
        """The data folder of worker `index`."""
        return self.root / "workers" / str(index)

    def read(self) -> ClusterState | None:
        """The state file, or None when there is none; a damaged one is a `ClusterError`."""
        try:
            text = self.state_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            return ClusterState.model_validate_json(text)
        except ValidationError as error:
            raise ClusterError(f"{self.state_file} is damaged: {error}") from None

    def write(self, state: ClusterState) -> None:
        """Replace the state file with `state`, whole or not at all."""
        write_atomically(self.state_file, state.model_dump_json(indent=2) + "\n")


def process_ticks(pid: int) -> int | None:
    """When `pid` started (clock ticks after boot, from Linux's /proc), None where that
    cannot be read (another OS) or the process has ended (gone or a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


def is_alive(pid: int | None, ticks: int | None) -> bool:
    """Whether the process `pid` that started at `ticks` still runs (not a later one)."""
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    now = process_ticks(pid)
    if sys.platform == "linux":
        return now is not None and (ticks is None or now == ticks)
    return True


@dataclass(frozen=True)
class ProcessStatus:
    """One process of the cluster as `phantom coven status` shows it."""

    worker: int | None
    """The worker's index; None for the supervisor."""
    pid: int | None
    alive: bool
    uptime_s: float | None
    restarts: int = 0
    last_exit: int | None = None

    @property
    def name(self) -> str:
        return "supervisor" if self.worker is None else f"worker {self.worker}"


def read_status(
    paths: ClusterPaths, clock: Callable[[], float] = time.time
) -> list[ProcessStatus] | None:
    """The supervisor then each worker, checked against the live processes; None when
    there is no cluster here."""
    state = paths.read()
    if state is None:
        return None
    now = clock()
    supervisor_alive = is_alive(state.supervisor_pid, state.supervisor_ticks)
    found = [
        ProcessStatus(
            None,
            state.supervisor_pid,
            supervisor_alive,
            now - state.started_at if supervisor_alive else None,
        )
    ]
    for worker in state.workers:
        alive = is_alive(worker.pid, worker.started_ticks)
        uptime = now - worker.started_at if alive and worker.started_at is not None else None
        found.append(
            ProcessStatus(
                worker.index,
                worker.pid,
                alive,
                uptime,
                worker.restarts,
                worker.last_exit,
            )
        )
    return found


def running_supervisor(paths: ClusterPaths) -> int | None:
    """The pid of the supervisor running this cluster, None when none runs."""
    state = paths.read()
    if state is None or not is_alive(state.supervisor_pid, state.supervisor_ticks):
        return None
    return state.supervisor_pid


def start_supervisor(
    paths: ClusterPaths,
    workers: int,
    plugins: Sequence[str] = (),
    extra_args: Sequence[str] = (),
    *,
    timeout_s: float = 30.0,
) -> ClusterState:
    """Start the supervisor in its own session (it outlives the terminal) and wait until
    it has started its `workers`; refuses when a supervisor already runs here."""
    if workers < 1:
        raise ClusterError(f"--workers must be at least 1, not {workers}")
    running = running_supervisor(paths)
    if running is not None:
        raise ClusterError(f"a coven cluster already runs here (supervisor pid {running})")
    paths.root.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", SUPERVISOR_MODULE, "--plugins", ",".join(plugins)]
    command += [str(paths.root), str(workers), "--", *extra_args]
    with paths.log_file.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout_s
    while True:
        state = paths.read()
        if (
            state is not None
            and state.supervisor_pid == process.pid
            and all(worker.pid is not None for worker in state.workers)
        ):
            return state
        exit_code = process.poll()
        if exit_code == EXIT_ALREADY_RUNNING:
            raise ClusterError(f"a coven cluster already runs here (see {paths.state_file})")
        if exit_code is not None:
            raise ClusterError(f"the supervisor exited with code {exit_code}: see {paths.log_file}")
        if time.monotonic() > deadline:
            raise ClusterError(
                f"the supervisor (pid {process.pid}) started no workers within {timeout_s:g} s: "
                f"see {paths.log_file}"
            )
        time.sleep(0.05)


def stop_supervisor(paths: ClusterPaths, *, timeout_s: float = STOP_GRACE_S + 20.0) -> list[int]:
    """SIGTERM the supervisor, which stops its workers, and wait until every process of
    the cluster has gone; return the pids stopped. Raises `ClusterError` when none runs."""
    state = paths.read()
    if state is None or not is_alive(state.supervisor_pid, state.supervisor_ticks):
        raise ClusterError("no coven cluster runs here")
    processes = [(state.supervisor_pid, state.supervisor_ticks)] + [
        (worker.pid, worker.started_ticks) for worker in state.workers if worker.pid is not None
    ]
    os.kill(state.supervisor_pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while any(is_alive(pid, ticks) for pid, ticks in processes):
        if time.monotonic() > deadline:
            left = [str(pid) for pid, ticks in processes if is_alive(pid, ticks)]
            raise ClusterError(f"still running after {timeout_s:g} s: pid {', '.join(left)}")
        time.sleep(0.05)
    return [pid for pid, _ in processes if pid is not None]
