"""The evolutions the Cauldron plugin runs: each in a worker process, its generations and
its end published on the hub from the asyncio loop, each an audit run.

A worker (`phantom_cauldron.evolution.worker`, a `ChildProcess` that dies with the app)
is started in advance and waits, its imports done, for its job: `prepare` starts this
spare, and `start` samples the cauldron's conditions, opens the audit run, hands the job
to the spare and starts the next one. A reader thread per run hands what the worker sends
to the loop with `call_soon`. Events carry the metadata ``run`` (the audit run) and
``phase`` (the generation); each generation is a phase of the audit run.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from phantom_cauldron.evolution.job import EvolutionJob
from phantom_cauldron.evolution.progress import (
    EvolutionFinished,
    EvolutionSettings,
    GenerationProgress,
    finished_topic,
    generation_topic,
)
from phantom_cauldron.recipes.effects import Conditions
from phantom_cauldron.recipes.model import Ingredient
from phantom_gui.core.children import ChildProcess
from phantom_gui.core.events import EventMetadata

WORKER = "phantom_cauldron.evolution.worker"

Publish = Callable[..., Any]
CallSoon = Callable[[Callable[[], None]], object]
ConditionsSource = Callable[[], Conditions]
OpenRun = Callable[..., Any]


class _Run:
    def __init__(self, run: str, child: ChildProcess, audit: Any, generations: int) -> None:
        self.run = run
        self.child = child
        self.audit = audit
        self.generations = generations
        self.open_phase: int | None = None
        self.cancelled = False
        self.thread: threading.Thread | None = None


class EvolutionRuns:
    """Start, cancel and close evolutions; `publish` is the hub's, `call_soon` runs a
    callable on the loop thread (`loop.call_soon_threadsafe`), `open_run` opens an audit
    run (None: none is recorded)."""

    def __init__(
        self,
        publish: Publish,
        call_soon: CallSoon,
        catalogue: Sequence[Ingredient],
        open_run: OpenRun | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.publish = publish
        self.call_soon = call_soon
        self.catalogue = tuple(catalogue)
        self.open_run = open_run
        self.logger = logger or logging.getLogger(__name__)
        self.runs: dict[str, _Run] = {}
        self.spare: ChildProcess | None = None

    def prepare(self) -> None:
        """Start the spare worker unless one waits already."""
        self._ready_spare()

    def _ready_spare(self) -> ChildProcess:
        if self.spare is None or self.spare.process.poll() is not None:
            self._end_spare()
            self.spare = ChildProcess(WORKER)
        return self.spare

    def _take_spare(self, job: EvolutionJob) -> ChildProcess:
        """The spare worker with `job` handed to it (a fresh worker if the spare has
        gone); the next spare is started."""
        child = self._ready_spare()
        self.spare = None
        try:
            child.channel.send(job)
        except OSError as error:
            self.logger.warning("the spare evolution worker has gone: %s", error)
            child.reap()
            child = ChildProcess(WORKER)
            child.channel.send(job)
        self.prepare()
        return child

    def _end_spare(self) -> None:
        if self.spare is not None:
            self.spare.channel.close()
            self.spare.reap()
            self.spare = None

    def start(
        self, settings: EvolutionSettings, conditions: ConditionsSource, run: str | None = None
    ) -> str:
        """Start an evolution under the conditions `conditions` gives now (and again every
        `settings.resample_every` generations); its run id: `run` when given (another
        member of the coven chose it; `ValueError` if that run is under way here), else a
        new one."""
        if run is None:
            run = uuid.uuid4().hex[:12]
        elif run in self.runs:
            raise ValueError(f"evolution {run} is already running here")
        job = EvolutionJob(run, settings, conditions(), self.catalogue)
        audit = None
        if self.open_run is not None:
            audit = self.open_run(
                "evolution",
                f"Evolution {run}",
                evolution=run,
                settings=settings.model_dump(),
                conditions=job.conditions,
            )
        child = self._take_spare(job)
        state = self.runs[run] = _Run(run, child, audit, settings.generations)
        self._start_phase(state, 0)
        state.thread = threading.Thread(
            target=self._read, args=(state, conditions), name=f"evolution-{run}", daemon=True
        )
        state.thread.start()
        return run

    def cancel(self, run: str) -> None:
        """Ask `run` to stop before its next generation (nothing if it has ended)."""
        state = self.runs.get(run)
        if state is None:
            return
        state.cancelled = True
        with contextlib.suppress(OSError):
            state.child.channel.send(("cancel",))

    def close(self) -> None:
        """End the spare worker, cancel every run and wait for their workers to end
        (killed after a grace)."""
        self._end_spare()
        for state in list(self.runs.values()):
            self.cancel(state.run)
        for state in list(self.runs.values()):
            if state.thread is not None:
                state.thread.join()

    def _read(self, state: _Run, conditions: ConditionsSource) -> None:
        """The reader thread of `state`: forward what the worker sends until it ends."""
        channel = state.child.channel
        finished: EvolutionFinished | None = None
        try:
            while finished is None:
                kind, value = channel.receive()
                if kind == "generation":
                    self.call_soon(functools.partial(self._generation, state, value))
                elif kind == "resample":
                    self.call_soon(lambda: self._resample(state, conditions))
                elif kind == "finished":
                    finished = value
        except (EOFError, OSError, ValueError) as error:
            self.logger.warning("evolution %s: the worker stopped: %s", state.run, error)
        ending = state.child.reap()
        if finished is None:
            cause = None if state.cancelled else f"the worker ended unexpectedly: {ending}"
            finished = EvolutionFinished(
                state.run, None, (), (), cancelled=state.cancelled, error=cause
            )
        self.call_soon(lambda: self._finish(state, finished))

    def _resample(self, state: _Run, conditions: ConditionsSource) -> None:
        with contextlib.suppress(OSError):
            state.child.channel.send(("conditions", conditions()))

    def _start_phase(self, state: _Run, gen: int) -> None:
        if state.audit is not None:
            state.audit.start_phase(gen, f"Generation {gen}")
            state.open_phase = gen

    def _generation(self, state: _Run, progress: GenerationProgress) -> None:
        """Publish a generation's progress; it ends its audit phase and starts the next."""
        record = progress.record
        self._emit(state, progress, record.gen)
        if state.audit is None:
            return
        state.audit.complete_phase(
            record.gen,
            best=list(record.best),
            mean=list(record.mean),
            diversity=record.diversity,
        )
        state.open_phase = None
        if record.gen < state.generations:
            self._start_phase(state, record.gen + 1)

    def _emit(self, state: _Run, data: Any, phase: int | None = None) -> None:
        metadata: EventMetadata = {}
        if state.audit is not None:
            metadata["run"] = state.audit.id
        if phase is not None:
            metadata["phase"] = phase
        topic = generation_topic(state.run) if phase is not None else finished_topic(state.run)
        self.publish(topic, data, metadata=metadata)

    def _finish(self, state: _Run, finished: EvolutionFinished) -> None:
        self.runs.pop(state.run, None)
        self._emit(state, finished)
        if state.audit is None:
            return
        if state.open_phase is not None and (finished.cancelled or finished.error):
            state.audit.fail_phase(state.open_phase, finished.error or "cancelled")
        if finished.error is not None:
            state.audit.fail(finished.error)
        else:
            state.audit.complete(cancelled=finished.cancelled)


class RunsUnderConditions:
    """The evolutions as the Brewing tab starts them: always under the conditions that
    `conditions` gives (the cauldron's latest readings)."""

    def __init__(self, runs: EvolutionRuns, conditions: ConditionsSource) -> None:
        self._runs = runs
        self._conditions = conditions

    def start(self, settings: EvolutionSettings) -> str:
        """Start an evolution; its run id."""
        return self._runs.start(settings, self._conditions)

    def cancel(self, run: str) -> None:
        """Ask `run` to stop before its next generation."""
        self._runs.cancel(run)
