"""Evolutions in a real worker process: progress on the hub, cancel, same result as
in-process, recorded in a real audit log."""

from __future__ import annotations

import asyncio
import functools
import os
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

CONDITIONS = Conditions(temperature=60.0, humidity=40.0, ph=6.2, mystical_energy=55.0)
CATALOGUE = tuple(load_catalogue().values())
SETTINGS = EvolutionSettings(population=40, generations=12, seed=11)


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


@on_loop
async def test_the_run_is_in_the_audit_log_with_its_hall_of_fame(tmp_path: Path) -> None:
    hub = EventHub()
    listener = Listener(hub)
    audit = AuditService(AuditStorage(tmp_path / "audit"), hub, None)
    audit.start("test", asyncio.get_running_loop())
    assert audit.recorder is not None
    audit.recorder.record("cauldron/evolution/#")
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
    audit.stop()
