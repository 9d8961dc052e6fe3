"""The worker's side of a remote evolution: run the requests addressed to this member.

`RequestedEvolutions` takes the remote events on `REQUEST_TOPIC` and `CANCEL_TOPICS` (the
coven marks them with ``origin_realm``, their sender). A request naming this member as its
worker runs with `EvolutionRuns` under the request's run id and conditions; its
generations and end go out on the hub as every run's do, and the coven carries them back.
A request that cannot run is answered with a failed end on its run's topic. Only the
member that asked for a run may cancel it; a requester that goes offline (its presence on
``coven/member`` says so, its last will included) cancels its runs, which end as any
cancelled run does.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from phantom_cauldron.evolution.progress import EvolutionFinished, finished_topic
from phantom_cauldron.evolution.requests import (
    RUN_ID,
    RequestError,
    read_request,
    run_of,
)
from phantom_cauldron.evolution.runs import EvolutionRuns, Publish
from phantom_gui.core.events import SpectralEvent

_RUN_ID = re.compile(RUN_ID)


class RequestedEvolutions:
    """Runs the evolutions other members request of this one; `instance` is this
    member's instance id in its coven now (None when it has joined none)."""

    def __init__(
        self,
        runs: EvolutionRuns,
        publish: Publish,
        instance: Callable[[], str | None],
        logger: logging.Logger | None = None,
    ) -> None:
        self._runs = runs
        self._publish = publish
        self._instance = instance
        self._logger = logger or logging.getLogger(__name__)
        self.requesters: dict[str, str] = {}
        """The member that asked for each run under way here, by run id."""

    def take_request(self, event: SpectralEvent) -> None:
        """Run the request in `event` if it names this member as its worker."""
        data = event.data
        instance = self._instance()
        if instance is None or not isinstance(data, dict) or data.get("worker") != instance:
            return
        requester = str(event.metadata.get("origin_realm", event.source))
        run = data.get("run")
        if not isinstance(run, str) or not _RUN_ID.match(run):
            self._logger.warning("ignored an evolution request of %s: no valid run id", requester)
            return
        if run in self._runs.runs:
            self._logger.warning("ignored a second request of %s for evolution %s", requester, run)
            return
        self.requesters = {r: m for r, m in self.requesters.items() if r in self._runs.runs}
        try:
            request = read_request(data)
        except RequestError as error:
            self._logger.warning("evolution %s requested by %s: %s", run, requester, error)
            failed = EvolutionFinished(run, None, (), (), error=f"the worker refused it: {error}")
            self._publish(finished_topic(run), failed)
            return
        self._runs.start(request.settings, lambda: request.conditions, run=run)
        self.requesters[run] = requester
        self._logger.info("evolution %s: running it for %s", run, requester)

    def take_cancel(self, event: SpectralEvent) -> None:
        """Cancel the run `event`'s topic names, if its requester sent it."""
        run = run_of(event.topic)
        requester = self.requesters.get(run)
        if requester is None or requester != event.metadata.get("origin_realm"):
            return
        self._logger.info("evolution %s: cancelled by %s", run, requester)
        self._runs.cancel(run)

    def member_changed(self, event: SpectralEvent) -> None:
        """A ``coven/member`` event: a requester gone offline has its runs here cancelled."""
        data = event.data
        if not isinstance(data, dict) or data.get("state") == "online":
            return
        instance = data.get("instance")
        name = data.get("name") or instance
        for run, requester in list(self.requesters.items()):
            if requester == instance and run in self._runs.runs:
                self._logger.info("evolution %s: cancelled, %s left", run, name)
                self._runs.cancel(run)
