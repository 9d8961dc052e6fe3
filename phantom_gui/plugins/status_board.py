"""Moves plugins through the lifecycle and tells the hub: each change as a `PluginStatus`
event, the whole picture as `PluginStatuses` on the blackboard."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from phantom_gui.core.hub import EventHub
from phantom_gui.plugins.discovery import Discovery
from phantom_gui.plugins.lifecycle import PluginState, check_transition
from phantom_gui.plugins.registry import PluginRecord, PluginRegistry
from phantom_gui.plugins.status import (
    PLUGIN_STATUSES,
    DiscoveryReport,
    PanelInfo,
    PluginStatus,
    PluginStatuses,
)

log = logging.getLogger("phantom.plugins")

SOURCE = "plugins"
"""The source of every event the plugin host publishes."""


class StatusBoard:
    """The one place a plugin's state changes, and where views learn of it."""

    def __init__(self, hub: EventHub, registry: PluginRegistry) -> None:
        self._hub = hub
        self._registry = registry
        self._statuses = PluginStatuses()
        self._described: dict[str, dict[str, Any]] = {}
        hub.set_state(PLUGIN_STATUSES, self._statuses)

    @property
    def statuses(self) -> PluginStatuses:
        """The picture the blackboard holds now."""
        return self._statuses

    def move(
        self,
        record: PluginRecord,
        state: PluginState,
        *,
        error: str | None = None,
        trace: str | None = None,
    ) -> None:
        """Move `record` to `state` (raising `InvalidTransition` if the lifecycle forbids it)
        and announce it; a failure keeps `error` and `trace`, becoming active clears them."""
        check_transition(record.id, record.state, state)
        record.previous, record.state = record.state, state
        log.info("plugin %s: %s → %s", record.id, record.previous.value, state.value)
        if state is PluginState.FAILED:
            record.error, record.traceback = error, trace
        elif state is PluginState.ACTIVE:
            record.error = record.traceback = None
        self.announce(record)

    def announce(self, record: PluginRecord) -> None:
        """Publish the plugin's status on ``plugin/<id>/state`` and put it on the blackboard."""
        status = self._status_of(record)
        self._hub.publish(f"plugin/{record.id}/state", status, source=SOURCE)
        self._show(self._statuses.with_plugin(status))

    def refresh(self, record: PluginRecord) -> None:
        """Put the plugin's status on the blackboard (its state did not change)."""
        self._show(self._statuses.with_plugin(self._status_of(record)))

    def discovered(self, found: Discovery) -> None:
        """Publish what discovery found on ``plugin/discovery`` and refresh every status
        (a newcomer may depend on a plugin known before)."""
        problems, warnings = tuple(found.problems), tuple(found.warnings)
        report = DiscoveryReport(tuple(sorted(found.plugins)), problems, warnings)
        self._hub.publish("plugin/discovery", report, source=SOURCE)
        plugins = tuple(
            self._status_of(record) for _, record in sorted(self._registry.records.items())
        )
        self._show(replace(self._statuses, plugins=plugins, problems=problems, warnings=warnings))

    def haunting_every(self, period_s: float | None) -> None:
        """Note how often haunt ticks come (None: they stopped)."""
        self._show(replace(self._statuses, haunt_period_s=period_s))

    def _show(self, statuses: PluginStatuses) -> None:
        self._statuses = statuses
        self._hub.set_state(PLUGIN_STATUSES, statuses)

    def _status_of(self, record: PluginRecord) -> PluginStatus:
        described = self._described.get(record.id)
        if described is None:
            described = self._described[record.id] = _description(record)
        return PluginStatus(
            **described,
            state=record.state,
            previous=record.previous,
            error=record.error,
            traceback=record.traceback,
            load_attempts=record.load_attempts,
            haunts=record.haunts,
            dependants=self._registry.dependants_of(record.id),
            breaker=record.breaker.state,
            breaker_trips=record.breaker.trips,
        )


def _description(record: PluginRecord) -> dict[str, Any]:
    """The fields of a plugin's status that its manifest and origin decide (they never change)."""
    manifest = record.manifest
    panel = manifest.panel
    return {
        "id": record.id,
        "name": manifest.name,
        "version": manifest.version,
        "description": manifest.description,
        "author": manifest.author,
        "entry": manifest.entry,
        "origin": record.discovered.origin,
        "manifest_path": str(record.discovered.manifest_path),
        "isolation": manifest.isolation,
        "haunt_probability": manifest.haunt_probability,
        "spookiness": manifest.spookiness_level,
        "permissions": tuple(manifest.permissions),
        "dependencies": tuple(manifest.dependencies),
        "consumes": tuple(manifest.consumes),
        "panel": PanelInfo(panel.title, panel.area, panel.menu_path) if panel else None,
    }
