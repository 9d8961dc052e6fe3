"""The desktop's side of a remote evolution: ask a coven worker to run it, follow it.

`RemoteEvolutions.start` publishes an `EvolutionRequest` (the conditions sampled here) on
the hub, which the coven bridge carries to the worker, and returns the run id; the
worker's generations come back on that run's topics like a local run's. `cancel`
publishes the run's cancel. If the worker goes offline before the run ends, the run ends
here as failed, "the worker <name> left".

The workers offered are the coven's online members, other than this one, whose
presence says they are workers (role ``worker``) running the Cauldron.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import uuid4

from phantom_cauldron.evolution.progress import (
    EvolutionFinished,
    EvolutionSettings,
    finished_topic,
)
from phantom_cauldron.evolution.requests import (
    REQUEST_TOPIC,
    EvolutionRequest,
    cancel_topic,
    run_of,
)
from phantom_cauldron.evolution.runs import ConditionsSource, Publish
from phantom_gui.core.events import SpectralEvent
from phantom_gui.coven.presence import Members, MemberStatus

PLUGIN_ID = "phantom_cauldron"
WORKER_ROLE = "worker"


class Coven(Protocol):
    """What `RemoteEvolutions` reads of the coven service."""

    @property
    def instance(self) -> str | None:
        """This member's instance id, None when no coven is joined."""
        ...

    @property
    def members(self) -> Members | None:
        """The coven's members, None when no coven is joined."""
        ...


@dataclass(frozen=True, slots=True)
class Worker:
    """A coven member that can run evolutions."""

    instance: str
    name: str
    host: str

    @property
    def label(self) -> str:
        """How the Run-on choice names it."""
        return f"{self.name} on {self.host}"


def is_worker(status: MemberStatus) -> bool:
    """Whether `status` is of an online worker running the Cauldron."""
    return status.online and status.role == WORKER_ROLE and PLUGIN_ID in status.plugins


class RemoteEvolutions:
    """Evolutions run by coven workers, requested and followed through the hub."""

    def __init__(self, coven: Coven, publish: Publish, conditions: ConditionsSource) -> None:
        self._coven = coven
        self._publish = publish
        self._conditions = conditions
        self.runs: dict[str, Worker] = {}
        """The worker of each run under way, by run id."""

    def workers(self) -> tuple[Worker, ...]:
        """The online workers, by name (none when no coven is joined)."""
        members, own = self._coven.members, self._coven.instance
        if members is None:
            return ()
        return tuple(
            Worker(status.instance, status.name, status.host)
            for status in members.online()
            if is_worker(status) and status.instance != own
        )

    def start(self, settings: EvolutionSettings, worker: str) -> str:
        """Ask `worker` (an instance id) to run an evolution under the conditions here
        now; its run id. A worker no longer online ends the run at once as failed."""
        run = uuid4().hex[:12]
        chosen = next((w for w in self.workers() if w.instance == worker), None)
        if chosen is None:
            self._fail(run, f"the worker {worker} is not in the coven")
            return run
        self.runs[run] = chosen
        conditions = self._conditions()
        request = EvolutionRequest(run=run, settings=settings, conditions=conditions, worker=worker)
        self._publish(REQUEST_TOPIC, request)
        return run

    def worker_of(self, run: str) -> str | None:
        """The instance id of the worker running `run`, None if it is not a run under way
        that this member requested."""
        worker = self.runs.get(run)
        return None if worker is None else worker.instance

    def cancel(self, run: str) -> None:
        """Ask `run`'s worker to stop it (nothing if it is not a run under way)."""
        if run in self.runs:
            self._publish(cancel_topic(run), {"run": run})

    def member_changed(self, event: SpectralEvent) -> None:
        """A ``coven/member`` event: a worker gone offline ends its runs as failed."""
        data = event.data
        if not isinstance(data, dict) or data.get("state") == "online":
            return
        for run, worker in list(self.runs.items()):
            if worker.instance == data.get("instance"):
                self._fail(run, f"the worker {worker.name} left")

    def finished(self, event: SpectralEvent) -> None:
        """A run's end: it is no longer followed."""
        self.runs.pop(run_of(event.topic), None)

    def _fail(self, run: str, reason: str) -> None:
        self.runs.pop(run, None)
        self._publish(finished_topic(run), EvolutionFinished(run, None, (), (), error=reason))
