"""Which member's word the Cauldron takes about each evolution run.

The news of a run (``cauldron/evolution/<run>/generation`` and ``.../finished``) is
believed only from the member that owns it: this member's own events (no
``origin_realm``) always; a remote member's only about a run this member asked it to run
(its chosen worker). A remote event about a run of this computer, about a requested run
from anyone but its worker, or about a run another member runs for itself and shares, is
not taken; nor are remote requests and cancels, which only the worker's
`RequestedEvolutions` reads. `RunOwners.believes` is the one
filter every reader of the Cauldron's evolution events goes through: the Brewing tab's
chart, progress, hall of fame and lineage, and the following of remote runs.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from phantom_cauldron.evolution.progress import EVOLUTION_TOPIC
from phantom_gui.core.events import SpectralEvent

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

REMEMBERED = 1024
"""How many requested runs' workers, and (member, run) pairs warned about, are kept."""


NEWS = ("generation", "finished")
"""The last levels of a run's topics that tell how it goes."""


def news_of(topic: str) -> str | None:
    """The run whose news (``cauldron/evolution/<run>/generation`` or ``.../finished``)
    `topic` carries, None for another topic (a request, a cancel)."""
    levels = topic.split("/")
    if len(levels) != 4 or "/".join(levels[:2]) != EVOLUTION_TOPIC or levels[3] not in NEWS:
        return None
    return levels[2]


class RunOwners:
    """Decides whether an evolution event comes from the member that owns its run.

    `is_local` says whether a run is under way on this computer; `worker_of` names the
    worker (an instance id) running a run this member requested, None for any other run.
    The worker of a requested run is remembered once seen, so that the run's last events
    are still taken after the run is no longer followed. A refused event is logged once
    per member and run, naming the member.
    """

    def __init__(
        self,
        is_local: Callable[[str], bool],
        worker_of: Callable[[str], str | None],
        logger: logging.Logger | None = None,
    ) -> None:
        self._is_local = is_local
        self._worker_of = worker_of
        self._logger = logger or logging.getLogger(__name__)
        self._workers: OrderedDict[str, str] = OrderedDict()
        self._warned: OrderedDict[tuple[str, str], None] = OrderedDict()

    def believes(self, event: SpectralEvent) -> bool:
        """Whether to take `event` in: this member's own, or a remote one about a run
        this member requested, from the worker it chose."""
        sender = event.metadata.get("origin_realm")
        if sender is None:
            return True
        run = news_of(event.topic)
        if run is None:
            return False
        if self._is_local(run):
            self._warn(sender, run, "it runs on this computer")
            return False
        worker = self._worker(run)
        if worker is None:
            return False
        if worker != sender:
            self._warn(sender, run, f"it runs on {worker}")
            return False
        return True

    def _worker(self, run: str) -> str | None:
        worker = self._worker_of(run)
        if worker is None:
            return self._workers.get(run)
        _remember(self._workers, run, worker)
        return worker

    def _warn(self, sender: str, run: str, why: str) -> None:
        pair = (sender, run)
        if pair in self._warned:
            return
        _remember(self._warned, pair, None)
        self._logger.warning("evolution %s: ignored the events of %s (%s)", run, sender, why)


def _remember(memory: OrderedDict[K, V], key: K, value: V) -> None:
    """Keep `key` in `memory`, forgetting the oldest beyond `REMEMBERED`."""
    memory[key] = value
    memory.move_to_end(key)
    if len(memory) > REMEMBERED:
        memory.popitem(last=False)
