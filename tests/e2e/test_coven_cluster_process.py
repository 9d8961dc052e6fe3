"""`phantom coven up | down | status` as real processes: a supervisor in the background
runs real `phantom --headless` workers, restarts one killed with SIGKILL, stops them all
on `down`; workers given `--coven` join it on a real mosquitto and hear a `phantom coven
broadcast`; and `phantom --headless --plugins` runs only the plugins it names."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from phantom_gui.core.settings import Settings
from phantom_gui.coven.cluster import ClusterPaths, is_alive, process_ticks
from phantom_gui.plugins.host_settings import PluginHostSettings

from support.headless import exported, start_headless, stop, wait_for
from support.mosquitto import MosquittoBroker
from support.phantom_run import PHANTOM

pytestmark = pytest.mark.e2e

SECRET = "a-coven-secret-of-forty-bytes-or-more!!"
ONLINE = re.compile(r"coven lab: member (\S+) \(.*\) is online")


class Cluster:
    """`phantom coven ...` on one data folder; remembers every pid it saw so that the
    fixture can kill whatever is left, even when a test fails."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.seen: dict[int, int | None] = {}

    def run(self, action: str, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [PHANTOM, "coven", action, "--data-dir", str(self.data), *args],
            capture_output=True,
            text=True,
            timeout=90,
        )
        self.status()
        return result

    def status(self) -> list[dict[str, Any]] | None:
        state = ClusterPaths.of(self.data).read()
        if state is not None:
            self.seen.setdefault(state.supervisor_pid, state.supervisor_ticks)
            for worker in state.workers:
                if worker.pid is not None:
                    self.seen.setdefault(worker.pid, worker.started_ticks)
        result = subprocess.run(
            [PHANTOM, "coven", "status", "--json", "--data-dir", str(self.data)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        found: list[dict[str, Any]] | None = json.loads(result.stdout)
        return found

    def workers(self) -> list[dict[str, Any]]:
        found = self.status()
        assert found is not None, "no cluster"
        return found[1:]

    def until(self, condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"{what} within {timeout:g} s"
            time.sleep(0.2)

    def kill_leftovers(self) -> list[int]:
        left = [pid for pid, ticks in self.seen.items() if is_alive(pid, ticks)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        return left


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    made = Cluster(tmp_path / "data")
    yield made
    assert made.kill_leftovers() == [], "processes left behind"


def test_up_runs_workers_restarts_a_killed_one_and_down_stops_all(cluster: Cluster) -> None:
    up = cluster.run("up", "--workers", "2", "--", "--no-audio")
    assert up.returncode == 0, up.stderr
    supervisor, *workers = cluster.status() or []
    assert supervisor["alive"] and len(workers) == 2
    assert all(worker["alive"] and worker["restarts"] == 0 for worker in workers)
    pids = [worker["pid"] for worker in workers]
    assert all(process_ticks(pid) is not None for pid in pids)
    state = ClusterPaths.of(cluster.data).read()
    assert state is not None
    assert len({worker.data_dir for worker in state.workers}) == 2, "a data folder each"

    again = cluster.run("up", "--workers", "1")
    assert again.returncode == 2
    assert f"supervisor pid {supervisor['pid']}" in again.stderr

    os.kill(pids[0], signal.SIGKILL)
    cluster.until(
        lambda: cluster.workers()[0]["restarts"] == 1 and cluster.workers()[0]["alive"],
        "the killed worker restarted",
    )
    restarted, untouched = cluster.workers()
    assert restarted["pid"] != pids[0] and restarted["last_exit"] == -signal.SIGKILL
    assert untouched["pid"] == pids[1] and untouched["restarts"] == 0

    down = cluster.run("down")
    assert down.returncode == 0, down.stderr
    assert [pid for pid, ticks in cluster.seen.items() if is_alive(pid, ticks)] == []
    assert cluster.status() is None


def log_messages(data: Path) -> list[str]:
    """The messages of the log in the data folder `data`."""
    log = data / "logs" / "phantom.log.jsonl"
    lines = log.read_text().splitlines() if log.exists() else []
    return [json.loads(line).get("message", "") for line in lines]


def online_members(data: Path) -> set[str]:
    """The instances the member in `data` has logged coming online."""
    found = (ONLINE.search(message) for message in log_messages(data))
    return {match[1] for match in found if match}


def test_workers_join_a_coven_and_each_hears_a_broadcast(
    cluster: Cluster, mosquitto: MosquittoBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHANTOM_COVEN_SECRET", SECRET)
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    coven = ("--coven", "lab", "--coven-broker", f"mqtt://{mosquitto.host}:{mosquitto.port}")
    up = cluster.run("up", "--workers", "2", "--", "--no-audio", *coven)
    assert up.returncode == 0, up.stderr
    state = ClusterPaths.of(cluster.data).read()
    assert state is not None
    folders = [Path(worker.data_dir) for worker in state.workers]
    cluster.until(
        lambda: all(len(online_members(folder)) == 2 for folder in folders),
        "each worker sees itself and the other online",
    )

    sent = cluster.run("broadcast", "the moon is up", *coven)
    assert sent.returncode == 0, sent.stderr
    cluster.until(
        lambda: all(
            sum(m.endswith(": the moon is up") for m in log_messages(f)) == 1 for f in folders
        ),
        "each worker hears the broadcast",
    )
    status = cluster.run("status")
    assert status.returncode == 0
    for worker in state.workers:
        assert f"worker {worker.index}: pid {worker.pid} running" in status.stdout

    assert online_members(folders[0]) == online_members(folders[1])
    host = socket.gethostname()
    introduced = {re.sub(r"-[0-9a-f]{8}$", "", member) for member in online_members(folders[0])}
    assert introduced == {f"{host}-worker-0", f"{host}-worker-1", f"{host}-cli"}, (
        "the workers told apart by name, beside the broadcaster"
    )
    assert all(
        any("worker on" in message and "is online" in message for message in log_messages(f))
        for f in folders
    ), "their presence says worker"
    assert cluster.run("down").returncode == 0
    assert [pid for pid, ticks in cluster.seen.items() if is_alive(pid, ticks)] == []
    assert cluster.status() is None
    for folder in folders:
        heard = [r["data"] for r in exported(folder) if r["topic"] == "coven/broadcast"]
        assert [record["message"] for record in heard] == ["the moon is up"]


def test_status_and_down_without_a_cluster_say_so(cluster: Cluster) -> None:
    status = cluster.run("status")
    assert status.returncode == 1 and "no coven cluster" in status.stdout
    down = cluster.run("down")
    assert down.returncode == 2 and "no coven cluster runs here" in down.stderr


def test_a_killed_supervisor_takes_its_workers_and_is_reported_dead(cluster: Cluster) -> None:
    assert cluster.run("up", "--workers", "1", "--", "--no-audio").returncode == 0
    supervisor, worker = cluster.status() or []
    os.kill(supervisor["pid"], signal.SIGKILL)
    cluster.until(lambda: not any(p["alive"] for p in cluster.status() or []), "all gone")

    status = cluster.run("status")
    assert status.returncode == 1
    assert f"supervisor: pid {supervisor['pid']} not running" in status.stdout
    assert f"worker 0: pid {worker['pid']} not running" in status.stdout
    assert cluster.run("up", "--workers", "1").returncode == 0, "a stale state file is no bar"
    assert cluster.run("down").returncode == 0


def test_headless_plugins_runs_only_the_named_plugins(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    Settings(data / "settings.json").save(PluginHostSettings(active=("phantom_hub_monitor",)))
    log = data / "logs" / "phantom.log.jsonl"

    def activated() -> list[str]:
        lines = log.read_text().splitlines() if log.exists() else []
        return [json.loads(line)["message"] for line in lines if "loading → active" in line]

    process = start_headless(data, "--no-audio", "--plugins", "phantom_cauldron")
    try:
        wait_for(lambda: bool(activated()), process, "a plugin activated")
    finally:
        stop(process)
    assert activated() == ["plugin phantom_cauldron: loading → active"]

    unknown = start_headless(data, "--plugins", "phantom_cauldron,phantom_nothing")
    _, err = unknown.communicate(timeout=60)
    assert unknown.returncode == 2
    assert "no plugin phantom_nothing" in err and "known: " in err and "phantom_seance" in err
