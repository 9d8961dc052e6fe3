"""The plugin host driven for real: folder plugins, a real hub, a real settings file.

Every plugin is written into `tmp_path` under a package name unique to the test, so
that no two tests share a module in `sys.modules`. Retries sleep in virtual time (an
injected `sleep`), the circuit breaker reads an injected clock. A test module takes the
harness as a fixture with ``h = pytest.fixture(name="h")(plugin_harness)``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
import textwrap
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.settings import Settings
from phantom_gui.plugins.host_settings import PluginHostSettings
from phantom_gui.plugins.manager import PluginManager
from phantom_gui.plugins.status import PLUGIN_STATUSES, PluginStatus, PluginStatuses

from support.clock import Clock

T = TypeVar("T")

NO_ENTRY_POINTS = "phantom_gui.tests.no_such_plugin_group"

PLAIN = """
from phantom_gui.plugins.contract import Plugin as _Base


class Plugin(_Base):
    pass
"""

ECHO = """
import reactivex
from phantom_gui.plugins.contract import Plugin as _Base


class Plugin(_Base):
    def init(self, context):
        super().init(context)
        self.seen = []

    def process(self, event):
        self.seen.append(event.data)
        return reactivex.of(("echo/" + event.topic.split("/")[-1], event.data * 2))
"""


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run one coroutine of the manager to completion on a fresh loop."""
    return asyncio.run(coroutine)


@dataclass
class PluginFolder:
    """A plugin folder in `tmp_path`: one package per plugin, each with its manifest."""

    root: Path
    token: str

    def package(self, plugin_id: str) -> str:
        """The (test-unique) Python package name of `plugin_id`."""
        return f"{self.token}_{plugin_id}"

    def add(
        self,
        plugin_id: str,
        source: str = PLAIN,
        *,
        version: str = "1.0.0",
        dependencies: tuple[str, ...] = (),
        permissions: tuple[str, ...] = (),
        consumes: tuple[str, ...] = (),
        haunt_probability: float = 0.0,
        spookiness: str = "mild",
        class_name: str = "Plugin",
    ) -> Path:
        """Write the plugin's package and manifest; return its module file."""
        package_dir = self.root / self.package(plugin_id)
        package_dir.mkdir(parents=True)
        (package_dir / "__init__.py").write_text("", encoding="utf-8")
        module = package_dir / "plugin.py"
        module.write_text(textwrap.dedent(source), encoding="utf-8")
        manifest = f"""\
            schema_version = 1

            [plugin]
            id = "{plugin_id}"
            name = "{plugin_id.replace("_", " ").title()}"
            version = "{version}"
            entry = "{self.package(plugin_id)}.plugin:{class_name}"
            dependencies = {json.dumps(list(dependencies))}
            permissions = {json.dumps(list(permissions))}
            consumes = {json.dumps(list(consumes))}
            haunt_probability = {haunt_probability}
            spookiness_level = "{spookiness}"
            """
        (package_dir / "phantom-plugin.toml").write_text(
            textwrap.dedent(manifest), encoding="utf-8"
        )
        return module

    def module(self, plugin_id: str) -> ModuleType:
        """The imported plugin module (after the plugin was activated)."""
        return sys.modules[f"{self.package(plugin_id)}.plugin"]

    def forget(self) -> None:
        """Drop this folder's modules from `sys.modules` and the folder from `sys.path`."""
        for name in [n for n in sys.modules if n.startswith(self.token)]:
            del sys.modules[name]
        while str(self.root) in sys.path:
            sys.path.remove(str(self.root))
        importlib.invalidate_caches()


@dataclass
class Harness:
    """A hub that records every event, a settings file, a plugin folder and virtual time."""

    tmp_path: Path
    plugins: PluginFolder
    hub: EventHub = field(default_factory=EventHub)
    events: list[SpectralEvent] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    clock: Clock = field(default_factory=lambda: Clock(1000.0))

    def __post_init__(self) -> None:
        self.hub.subscribe(self.events.append)

    @property
    def settings_path(self) -> Path:
        """The settings file every manager of this harness shares."""
        return self.tmp_path / "settings.json"

    async def sleep(self, delay: float) -> None:
        """A virtual sleep: note the delay, yield once, return at once."""
        self.sleeps.append(delay)
        await asyncio.sleep(0)

    def manager(self, *, seed: int = 1, discover: bool = True, **options: Any) -> PluginManager:
        """A new manager over a new `Settings` read from the shared settings file."""
        manager = PluginManager(
            self.hub,
            Settings(self.settings_path),
            self.tmp_path / "data",
            [self.plugins.root],
            seed=seed,
            sleep=self.sleep,
            breaker_clock=self.clock,
            entry_points_group=NO_ENTRY_POINTS,
            **options,
        )
        if discover:
            manager.discover()
        return manager

    def on(self, topic: str) -> list[SpectralEvent]:
        """The events published so far on `topic`."""
        return [event for event in self.events if event.topic == topic]

    def data_on(self, topic: str) -> list[Any]:
        """The payloads published so far on `topic`."""
        return [event.data for event in self.on(topic)]

    def statuses(self) -> list[PluginStatus]:
        """Every status published on a ``plugin/<id>/state`` topic, in order."""
        return [event.data for event in self.events if isinstance(event.data, PluginStatus)]

    def states(self, plugin_id: str) -> list[str]:
        """The states announced for `plugin_id`, in order."""
        return [status.state.value for status in self.statuses() if status.id == plugin_id]

    def transitions(self, since: int = 0) -> list[tuple[str, str]]:
        """Every (plugin id, state) announced (after the first `since` events), in order."""
        return [
            (event.data.id, event.data.state.value)
            for event in self.events[since:]
            if isinstance(event.data, PluginStatus)
        ]

    def board(self) -> PluginStatuses:
        """The statuses on the hub's blackboard now."""
        statuses = self.hub.get_state(PLUGIN_STATUSES)
        assert isinstance(statuses, PluginStatuses)
        return statuses

    def host_settings(self) -> PluginHostSettings:
        """The plugin host's settings as written on disk."""
        return Settings(self.settings_path).load(PluginHostSettings)


def plugin_harness(tmp_path: Path) -> Iterator[Harness]:
    """The harness of one test over an empty plugin folder, forgotten after the test."""
    folder = PluginFolder(tmp_path / "plugins", f"mp{uuid.uuid4().hex[:12]}")
    folder.root.mkdir()
    yield Harness(tmp_path, folder)
    folder.forget()


def failing_init(times: int, error: str = 'RuntimeError("the candle went out")') -> str:
    """Source of a plugin whose init raises `error` `times` times (forever if negative),
    then works."""
    return f"""
        from phantom_gui.plugins.contract import Plugin as _Base

        FAILURES_LEFT = {times}
        ATTEMPTS = 0


        class Plugin(_Base):
            def init(self, context):
                global FAILURES_LEFT, ATTEMPTS
                ATTEMPTS += 1
                if FAILURES_LEFT != 0:
                    FAILURES_LEFT -= 1
                    raise {error}
                super().init(context)
        """


def rewrite(module: Path, source: str) -> None:
    """Replace a module's source and move its mtime on, so no stale bytecode is used."""
    stat = module.stat()
    module.write_text(textwrap.dedent(source), encoding="utf-8")
    os.utime(module, (stat.st_atime + 5, stat.st_mtime + 5))


def chain(h: Harness) -> None:
    """base ← mid ← top, and a lone plugin depending on nothing."""
    h.plugins.add("base")
    h.plugins.add("mid", dependencies=("base",))
    h.plugins.add("top", dependencies=("mid",))
    h.plugins.add("lone")


def poke(h: Harness, times: int = 1) -> None:
    """Publish `times` sensor events."""
    for _ in range(times):
        h.hub.publish("sensor/poke", None, source="test")
