"""Evolutions in a real worker process: the spare worker started in advance, progress on
the hub, cancel, same result as in-process, recorded in a real audit log with a phase per
generation, no worker left after close or after the app is killed."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from phantom_cauldron.evolution.job import EvolutionJob, run_job
from phantom_cauldron.evolution.progress import (
    EvolutionFinished,
    EvolutionSettings,
    GenerationProgress,
)
from phantom_cauldron.evolution.runs import EvolutionRuns
from phantom_cauldron.recipes.catalogue import load_catalogue
from phantom_cauldron.recipes.effects import Conditions
from phantom_gui.audit.service import AuditService
from phantom_gui.audit.storage import AuditStorage
from phantom_gui.core.hub import EventHub

from support.processes import start_time

CONDITIONS = Conditions(temperature=60.0, humidity=40.0, ph=6.2, mystical_energy=55.0)
CATALOGUE = tuple(load_catalogue().values())
SETTINGS = EvolutionSettings(population=40, generations=12, seed=11)
END_DEADLINE_S = 10.0
APP_WITH_A_SPARE = """
import sys
from phantom_cauldron.evolution.runs import EvolutionRuns
runs = EvolutionRuns(print, print, ())
runs.prepare()
print(runs.spare.pid, flush=True)
sys.stdin.read()
"""


class Listener:
    """Every evolution event the hub publishes, and the end of a run."""

    def __init__(self, hub: EventHub) -> None:
        self.generations: list[tuple[GenerationProgress, dict[str, Any]]] = []
        self.finished: asyncio.Future[EvolutionFinished] = (
            asyncio.get_running_loop().create_future()
        )
        hub.on("cauldron/evolution/#").subscribe(self.heard)

    def heard(self, event: Any) -> None:
        if isinstance(event.data, GenerationProgress):
            self.generations.append((event.data, dict(event.metadata)))
        elif isinstance(event.data, EvolutionFinished) and not self.finished.done():
            self.finished.set_result(event.data)


def on_loop(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test on a fresh asyncio loop, with a time limit."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(test(*args, **kwargs), 60))

    return wrapper


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def ends(pid: int) -> None:
    """Wait until the process `pid` has ended (it was started before this is called)."""
    started = start_time(pid)
    deadline = time.monotonic() + END_DEADLINE_S
    while started is not None and start_time(pid) == started:
        assert time.monotonic() < deadline, f"process {pid} is still running"
        await asyncio.sleep(0.05)


def service(hub: EventHub, audit: AuditService | None = None) -> EvolutionRuns:
    loop = asyncio.get_running_loop()
    open_run = None
    if audit is not None:

        def open_run(kind: str, name: str, **info: Any) -> Any:
            return audit.open_run(kind, name, source="phantom_cauldron", **info)

    publish = functools.partial(hub.publish, source="phantom_cauldron")
    return EvolutionRuns(publish, loop.call_soon_threadsafe, CATALOGUE, open_run)


@on_loop
async def test_progress_per_generation_and_same_winner_as_in_process() -> None:
    hub = EventHub()
    listener = Listener(hub)
    runs = service(hub)
    run = runs.start(SETTINGS, lambda: CONDITIONS)
    pid = runs.runs[run].child.pid
    finished = await listener.finished
    assert [p.record.gen for p, _ in listener.generations] == list(range(13))
    assert all(p.run == run for p, _ in listener.generations)
    assert [m["phase"] for _, m in listener.generations] == list(range(13))
    assert gone(pid)
    runs.close()

    here = run_job(EvolutionJob(run, SETTINGS, CONDITIONS, CATALOGUE), lambda _: None)
    assert finished.best is not None and here.best is not None
    assert finished.best.model_dump() == here.best.model_dump()
    assert [r.id for r in finished.hall_of_fame] == [r.id for r in here.hall_of_fame]
    assert finished.lineage == here.lineage
    known = {node.id for node in finished.lineage}
    assert set(finished.best.lineage) <= known


@on_loop
async def test_cancel_stops_within_one_generation_and_leaves_no_process() -> None:
    hub = EventHub()
    listener = Listener(hub)
    runs = service(hub)
    settings = SETTINGS.model_copy(update={"generations": 500, "resample_every": 3})
    started: list[str] = []

    def conditions() -> Conditions:
        if started:  # the worker waits for these after generation 3: cancel it there
            runs.cancel(started[0])
        return CONDITIONS

    started.append(runs.start(settings, conditions))
    pid = runs.runs[started[0]].child.pid
    finished = await listener.finished
    assert finished.cancelled and finished.error is None
    assert [p.record.gen for p, _ in listener.generations] == [0, 1, 2, 3]
    assert gone(pid)
    assert not runs.runs
    runs.close()


def recording_audit(hub: EventHub, folder: Path) -> AuditService:
    """An audit log in `folder`, recording the evolutions' events, started on the loop."""
    audit = AuditService(AuditStorage(folder), hub, None)
    audit.start("test", asyncio.get_running_loop())
    assert audit.recorder is not None
    audit.recorder.record("cauldron/evolution/#")
    return audit


@on_loop
async def test_the_run_is_in_the_audit_log_with_its_hall_of_fame(tmp_path: Path) -> None:
    hub = EventHub()
    listener = Listener(hub)
    audit = recording_audit(hub, tmp_path / "audit")
    runs = service(hub, audit)
    run = runs.start(SETTINGS, lambda: CONDITIONS)
    finished = await listener.finished
    await asyncio.sleep(0)
    assert audit.recorder.flush()
    runs_in_log = [a for a in audit.storage.list_audits() if a["kind"] == "evolution"]
    assert len(runs_in_log) == 1 and runs_in_log[0]["status"] == "completed"
    events = audit.storage.get_events(runs_in_log[0]["id"])
    ends = [e for e in events if e["topic"] == f"cauldron/evolution/{run}/finished"]
    assert len(ends) == 1
    famous = [recipe["id"] for recipe in ends[0]["data"]["hall_of_fame"]]
    assert famous == [recipe.id for recipe in finished.hall_of_fame]
    phases = [e["phase"] for e in events if (e["topic"] or "").endswith("/generation")]
    assert phases == list(range(13))
    started = [(e["phase"], e["data"]["name"]) for e in events if e["type"] == "phase_started"]
    assert started == [(gen, f"Generation {gen}") for gen in range(13)]
    completed = [(e["phase"], e["data"]) for e in events if e["type"] == "phase_completed"]
    assert completed == [
        (
            p.record.gen,
            {
                "best": list(p.record.best),
                "mean": list(p.record.mean),
                "diversity": p.record.diversity,
            },
        )
        for p, _ in listener.generations
    ]
    runs.close()
    audit.stop()


@on_loop
async def test_a_cancelled_run_fails_the_phase_it_did_not_run(tmp_path: Path) -> None:
    hub = EventHub()
    listener = Listener(hub)
    audit = recording_audit(hub, tmp_path / "audit")
    runs = service(hub, audit)
    settings = SETTINGS.model_copy(update={"generations": 500, "resample_every": 2})
    started: list[str] = []

    def conditions() -> Conditions:
        if started:
            runs.cancel(started[0])
        return CONDITIONS

    started.append(runs.start(settings, conditions))
    await listener.finished
    await asyncio.sleep(0)
    assert audit.recorder.flush()
    [run_in_log] = [a for a in audit.storage.list_audits() if a["kind"] == "evolution"]
    events = audit.storage.get_events(run_in_log["id"])
    phases = [(e["type"], e["phase"]) for e in events if e["type"].startswith("phase_")]
    assert phases == [
        *[(kind, gen) for gen in range(3) for kind in ("phase_started", "phase_completed")],
        ("phase_started", 3),
        ("phase_failed", 3),
    ]
    assert events[-1]["type"] == "audit_completed" and events[-1]["data"] == {"cancelled": True}
    runs.close()
    audit.stop()


@on_loop
async def test_the_spare_worker_takes_the_job_and_close_ends_every_worker() -> None:
    hub = EventHub()
    listener = Listener(hub)
    runs = service(hub)
    runs.prepare()
    assert runs.spare is not None
    spare = runs.spare.pid
    runs.prepare()
    assert runs.spare.pid == spare, "one spare at a time"

    run = runs.start(SETTINGS.model_copy(update={"generations": 500}), lambda: CONDITIONS)

    assert runs.runs[run].child.pid == spare
    assert runs.spare is not None and runs.spare.pid != spare
    next_spare = runs.spare.pid
    runs.close()
    finished = await listener.finished
    assert finished.cancelled
    assert runs.spare is None and not runs.runs
    assert gone(spare) and gone(next_spare)


@on_loop
async def test_a_spare_that_has_gone_is_replaced_and_the_job_still_runs() -> None:
    hub = EventHub()
    listener = Listener(hub)
    runs = service(hub)
    runs.prepare()
    assert runs.spare is not None
    runs.spare.kill()
    runs.spare.process.wait()

    runs.start(SETTINGS, lambda: CONDITIONS)

    finished = await listener.finished
    assert finished.error is None and finished.best is not None
    runs.close()


@on_loop
async def test_the_spare_worker_dies_with_the_app_killed() -> None:
    app = subprocess.Popen(
        [sys.executable, "-c", APP_WITH_A_SPARE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert app.stdout is not None and app.stdin is not None
    try:
        spare = int(app.stdout.readline())
        assert start_time(spare) is not None
    finally:
        os.kill(app.pid, signal.SIGKILL)
        app.wait()
        app.stdout.close()
        app.stdin.close()
    await ends(spare)
