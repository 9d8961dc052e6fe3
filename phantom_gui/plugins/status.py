"""What views know of the plugins: frozen snapshots, published on the hub and kept on its
blackboard.

Each lifecycle change is published on ``plugin/<id>/state`` with a `PluginStatus` as its
data, and the whole picture (every plugin, the discovery problems and warnings) is kept
under `PLUGIN_STATUSES` as a `PluginStatuses`, so a view subscribes with
``hub.select(PLUGIN_STATUSES)`` and acts through the manager's methods by plugin id.
Every field is plain (text, numbers, tuples, enums, nested frozen dataclasses), so
`dataclasses.asdict` gives JSON-able data for the audit log.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from phantom_gui.core.resilience import BreakerState
from phantom_gui.plugins.discovery import DiscoveryNote
from phantom_gui.plugins.lifecycle import LOADABLE, PluginState

PLUGIN_STATUSES = "plugins"
"""The blackboard key of the current `PluginStatuses`."""


@dataclass(frozen=True, slots=True)
class PanelInfo:
    """The dock a plugin contributes: its title, where it opens, its Haunt Packs submenu."""

    title: str
    area: str
    menu_path: str


@dataclass(frozen=True, slots=True)
class PluginStatus:
    """One plugin as a view shows it: its manifest, where it stands, what went wrong."""

    id: str
    name: str
    version: str
    description: str
    author: str
    entry: str
    origin: str
    manifest_path: str
    isolation: str
    state: PluginState
    previous: PluginState | None
    error: str | None
    traceback: str | None = field(repr=False)
    load_attempts: int
    haunts: int
    """How many times it haunted in this session."""
    haunt_probability: float
    spookiness: str
    permissions: tuple[str, ...]
    dependencies: tuple[str, ...]
    dependants: tuple[str, ...]
    """The plugins that depend on it, directly or not (unloaded with it)."""
    consumes: tuple[str, ...]
    panel: PanelInfo | None
    breaker: BreakerState
    """The circuit breaker in front of its process() calls."""
    breaker_trips: int

    @property
    def loadable(self) -> bool:
        """Whether it may be (re)activated now."""
        return self.state in LOADABLE

    @property
    def active(self) -> bool:
        """Whether it runs now."""
        return self.state is PluginState.ACTIVE


@dataclass(frozen=True, slots=True)
class PluginStatuses:
    """Every discovered plugin (by id), the manifests that could not be used and the warnings."""

    plugins: tuple[PluginStatus, ...] = ()
    problems: tuple[DiscoveryNote, ...] = ()
    """Manifests found but skipped, and why."""
    warnings: tuple[DiscoveryNote, ...] = ()
    """Manifests loaded with a caveat (a newer schema whose unknown fields were ignored)."""
    haunt_period_s: float | None = None
    """Seconds between haunt ticks, or None while nothing ticks."""

    def get(self, plugin_id: str) -> PluginStatus | None:
        """The status of `plugin_id`, if it was discovered."""
        return next((status for status in self.plugins if status.id == plugin_id), None)

    def with_plugin(self, status: PluginStatus) -> PluginStatuses:
        """A copy with `status` replacing the plugin's former one (or added, in id order)."""
        plugins = list(self.plugins)
        index = bisect_left([known.id for known in plugins], status.id)
        if index < len(plugins) and plugins[index].id == status.id:
            plugins[index] = status
        else:
            plugins.insert(index, status)
        return PluginStatuses(tuple(plugins), self.problems, self.warnings, self.haunt_period_s)


@dataclass(frozen=True, slots=True)
class DiscoveryReport:
    """The data of ``plugin/discovery``: the plugins found, the problems and the warnings."""

    plugins: tuple[str, ...]
    problems: tuple[DiscoveryNote, ...]
    warnings: tuple[DiscoveryNote, ...]


@dataclass(frozen=True, slots=True)
class LoadRetry:
    """The data of ``plugin/<id>/retry``: a failed load will be tried again after `delay_s`."""

    plugin_id: str
    attempt: int
    """The number of this retry (1 for the first)."""
    delay_s: float
    error: str


@dataclass(frozen=True, slots=True)
class PluginFault:
    """The data of ``plugin/<id>/error``: a running plugin failed in `where` (process, haunt...)."""

    plugin_id: str
    where: str
    error: str
    """The exception's type name."""
    message: str


@dataclass(frozen=True, slots=True)
class ProcessIncident:
    """The data of ``plugin/<id>/<kind>`` for a plugin in a process of its own: its process
    `crashed` or `hung` (then was killed), was `restarted`, or the host `gave_up`
    restarting it."""

    plugin_id: str
    kind: Literal["crashed", "hung", "restarted", "gave_up"]
    restarts: int
    """How many times its process had been restarted so far."""
    pid: int | None = None
    exitcode: int | None = None
    signal: str | None = None
    """The name of the signal that ended the process, if one did."""
    silent_for_s: float | None = None
    """How long a hung process had said nothing."""
    error: str | None = None
    """Why no process could be started, or the traceback of a plugin that died in init."""


@dataclass(frozen=True, slots=True)
class PluginLogLine:
    """The data of ``plugin/<id>/log``: a line a plugin in its own process logged."""

    plugin_id: str
    level: str
    message: str


Incident = ProcessIncident | PluginFault | PluginLogLine
"""What the host of a process-isolated plugin reports."""
Reporter = Callable[[Incident], None]
"""How the host of a process-isolated plugin reports (given by the plugin manager)."""


def incident_kind(incident: Incident) -> str:
    """The last level of the topic an incident is published on."""
    if isinstance(incident, ProcessIncident):
        return incident.kind
    return "error" if isinstance(incident, PluginFault) else "log"


@dataclass(frozen=True, slots=True)
class BreakerChange:
    """The data of ``plugin/<id>/breaker``: the breaker in front of process() opened."""

    plugin_id: str
    state: BreakerState
    trips: int


@dataclass(frozen=True, slots=True)
class Haunting:
    """The data of ``plugin/<id>/haunt``: the plugin haunted (a disturbance: its dock flickers)."""

    plugin_id: str
    disturbance: bool
    spookiness: str
    haunts: int
    """How many times it haunted in this session, this one included."""


@dataclass(frozen=True, slots=True)
class Reloaded:
    """The data of ``plugin/<id>/reloaded``: hot reload ended; was a snapshot restored?"""

    plugin_id: str
    restored: bool
