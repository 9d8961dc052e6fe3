"""The supervisor of a local cluster: runs N ``phantom --headless`` workers, restarts one
that exits with a growing delay (`Backoff`), keeps the state file, and on SIGTERM stops
them all (SIGTERM, SIGKILL after a grace) and exits.

Run as ``python -m phantom_gui.coven.supervisor --plugins IDS CLUSTER_DIR N -- ARGS``
(`cluster.start_supervisor` does). The workers die with it, even by ``kill -9``
(`phantom_gui.core.children`), and only one supervisor runs a cluster at a time (a lock
on a file in its folder).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from phantom_gui.core.children import reap, start_program
from phantom_gui.core.paths import AppPaths
from phantom_gui.core.resilience import Backoff
from phantom_gui.core.settings import Settings
from phantom_gui.coven.cluster import (
    EXIT_ALREADY_RUNNING,
    STOP_GRACE_S,
    ClusterPaths,
    ClusterState,
    WorkerState,
    process_ticks,
)
from phantom_gui.coven.settings import CovenSettings

log = logging.getLogger("phantom.coven.supervisor")

RESTART_BACKOFF = Backoff(base=0.5, factor=2.0, maximum=30.0)
STABLE_S = 60.0
"""A worker that ran this long before exiting is restarted after the shortest delay again."""
POLL_S = 0.1
LOCK_FILE = "supervisor.lock"

Launcher = Callable[[Sequence[str], Path], "subprocess.Popen[bytes]"]
"""Starts a worker's command with its data folder; returns its process."""


def launch_worker(command: Sequence[str], data_dir: Path) -> subprocess.Popen[bytes]:
    """Start a worker that dies with the supervisor, its output appended to a file in its
    data folder."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "worker.log").open("ab") as output:
        return start_program(
            command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
        )


def introduce(data_dir: Path, index: int) -> None:
    """Name a worker whose folder has no coven member name yet ``<host>-worker-<index>``,
    with the presence role ``worker``, so that a coven tells the workers apart and offers
    them to run evolutions; a name the user gave is kept."""
    settings = Settings(AppPaths.resolve(data_dir).config_file)
    coven = settings.load(CovenSettings)
    if coven.member_name is None:
        name = f"{coven.own_name}-worker-{index}"
        settings.save(coven.model_copy(update={"member_name": name, "role": "worker"}))


@dataclass
class _Worker:
    index: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    ticks: int | None = None
    started_at: float | None = None
    restarts: int = 0
    failures: int = 0
    """Exits in a row after a short run: how far the restart delay has grown."""
    started_mono: float = 0.0
    restart_at: float | None = None
    last_exit: int | None = None

    def state(self) -> WorkerState:
        return WorkerState(
            index=self.index,
            data_dir=str(self.data_dir),
            pid=None if self.process is None else self.process.pid,
            started_ticks=self.ticks,
            started_at=self.started_at,
            restarts=self.restarts,
            last_exit=self.last_exit,
        )


class Supervisor:
    """Keeps `workers` headless Phantoms running in `paths`' worker folders."""

    def __init__(
        self,
        paths: ClusterPaths,
        workers: int,
        plugins: Sequence[str] = (),
        extra_args: Sequence[str] = (),
        *,
        backoff: Backoff = RESTART_BACKOFF,
        launch: Launcher = launch_worker,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._paths = paths
        self._plugins = tuple(plugins)
        self._extra = tuple(extra_args)
        self._backoff = backoff
        self._launch = launch
        self._clock = clock
        self._workers = [_Worker(k, paths.worker_dir(k)) for k in range(workers)]
        self._started_at = time.time()

    def command(self, worker: _Worker) -> list[str]:
        """The worker's ``phantom --headless`` command line."""
        command = [sys.executable, "-m", "phantom_gui", "--headless"]
        command += ["--data-dir", str(worker.data_dir)]
        if self._plugins:
            command += ["--plugins", ",".join(self._plugins)]
        return [*command, *self._extra]

    def start(self) -> None:
        """Start every worker and write the state."""
        for worker in self._workers:
            self._start(worker)
        self._save()

    def check(self) -> None:
        """Note the workers that exited and restart those whose delay is over."""
        now = self._clock()
        changed = False
        for worker in self._workers:
            if worker.process is not None and worker.process.poll() is not None:
                self._exited(worker, now)
                changed = True
            if (
                worker.process is None
                and worker.restart_at is not None
                and now >= worker.restart_at
            ):
                worker.restarts += 1
                self._start(worker)
                changed = True
        if changed:
            self._save()

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM every worker, kill those still there after `grace_s`, forget the state."""
        running = [w.process for w in self._workers if w.process is not None]
        for process in running:
            if process.poll() is None:
                process.terminate()
        for process in running:
            exit_code = reap(process, grace_s=grace_s)
            log.info("worker pid %d stopped (exit %d)", process.pid, exit_code)
        self._paths.state_file.unlink(missing_ok=True)

    def _start(self, worker: _Worker) -> None:
        introduce(worker.data_dir, worker.index)
        worker.process = self._launch(self.command(worker), worker.data_dir)
        worker.ticks = process_ticks(worker.process.pid)
        worker.started_at = time.time()
        worker.started_mono = self._clock()
        worker.restart_at = None
        log.info("worker %d started, pid %d", worker.index, worker.process.pid)

    def _exited(self, worker: _Worker, now: float) -> None:
        assert worker.process is not None
        worker.last_exit = reap(worker.process)
        if now - worker.started_mono >= STABLE_S:
            worker.failures = 0
        delay = self._backoff.delay(worker.failures)
        worker.failures += 1
        log.warning(
            "worker %d (pid %d) exited with %d; restart in %.1f s",
            worker.index,
            worker.process.pid,
            worker.last_exit,
            delay,
        )
        worker.process = None
        worker.ticks = None
        worker.restart_at = now + delay

    def _save(self) -> None:
        self._paths.write(
            ClusterState(
                supervisor_pid=os.getpid(),
                supervisor_ticks=process_ticks(os.getpid()),
                started_at=self._started_at,
                plugins=self._plugins,
                workers=tuple(worker.state() for worker in self._workers),
            )
        )


def run(supervisor: Supervisor, stopping: threading.Event) -> None:
    """Start the workers, watch them until `stopping` is set, then stop them."""
    supervisor.start()
    try:
        while not stopping.wait(POLL_S):
            supervisor.check()
    finally:
        supervisor.stop()


def _lock(paths: ClusterPaths) -> IO[bytes] | None:
    """Hold the cluster's lock for as long as the returned file stays open; None when
    another supervisor holds it."""
    handle = (paths.root / LOCK_FILE).open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def main(argv: Sequence[str] | None = None) -> int:
    """The supervisor process; returns its exit code."""
    parser = argparse.ArgumentParser(prog="phantom-coven-supervisor")
    parser.add_argument("cluster_dir", type=Path)
    parser.add_argument("workers", type=int)
    parser.add_argument("--plugins", default="")
    parser.add_argument("extra", nargs="*")
    options = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    paths = ClusterPaths(options.cluster_dir)
    lock = _lock(paths)
    if lock is None:
        log.error("another supervisor runs the cluster in %s", paths.root)
        return EXIT_ALREADY_RUNNING
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda *_: stopping.set())
    plugins = [plugin for plugin in options.plugins.split(",") if plugin]
    with contextlib.closing(lock):
        run(Supervisor(paths, options.workers, plugins, options.extra), stopping)
    log.info("supervisor stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
