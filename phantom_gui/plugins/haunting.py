"""Haunt ticks: each active plugin haunts with its manifest's probability, drawn from one
seeded random source so that a run can be replayed (``phantom --seed N``)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import reactivex
from reactivex import abc
from reactivex.disposable import Disposable

from phantom_gui.core.hub import EventHub
from phantom_gui.plugins.lifecycle import PluginState
from phantom_gui.plugins.registry import PluginRegistry
from phantom_gui.plugins.status import Haunting
from phantom_gui.plugins.status_board import SOURCE, StatusBoard
from phantom_gui.plugins.wiring import OutputWiring


class Haunter:
    """Gives every active plugin its chance to haunt, tick after tick."""

    def __init__(
        self,
        hub: EventHub,
        registry: PluginRegistry,
        wiring: OutputWiring,
        board: StatusBoard,
        seed: int,
    ) -> None:
        self._hub = hub
        self._registry = registry
        self._wiring = wiring
        self._board = board
        self.seed = seed
        self._rng = random.Random(seed)

    def tick(self) -> list[str]:
        """One haunt tick; return the ids of the plugins that haunted."""
        haunted = []
        for plugin_id, record in sorted(self._registry.records.items()):
            probability = record.manifest.haunt_probability
            if record.state is not PluginState.ACTIVE or probability <= 0:
                continue
            if self._rng.random() >= probability:
                continue
            haunt = getattr(record.instance, "haunt", None)
            if not callable(haunt):
                continue
            haunted.append(plugin_id)
            record.haunts += 1
            self._haunt(plugin_id, haunt)
        return haunted

    def start(self, scheduler: abc.SchedulerBase, period: float) -> abc.DisposableBase:
        """Tick every `period` seconds on `scheduler` until the result is disposed."""
        self._board.haunting_every(period)

        def tick(_: int) -> None:
            self.tick()

        ticking = reactivex.interval(period, scheduler=scheduler).subscribe(tick)

        def stop() -> None:
            ticking.dispose()
            self._board.haunting_every(None)

        return Disposable(stop)

    def _haunt(self, plugin_id: str, haunt: Callable[[], Any]) -> None:
        record = self._registry.get(plugin_id)
        disturbance = False
        try:
            outputs = haunt()
            manifest_disturbance = getattr(record.instance, "manifest_disturbance", None)
            if callable(manifest_disturbance):
                disturbance = bool(manifest_disturbance())
        except Exception as exc:
            self._wiring.report(record, "haunt", exc)
            return
        self._board.refresh(record)
        self._hub.publish(
            f"plugin/{plugin_id}/haunt",
            Haunting(plugin_id, disturbance, record.manifest.spookiness_level, record.haunts),
            source=SOURCE,
            metadata={"haunted": True},
        )
        self._wiring.publish_outputs(record, outputs, "haunt")
