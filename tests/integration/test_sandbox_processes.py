"""Process-isolated plugins in real child processes, driven through the real plugin manager."""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from phantom_gui.core.errors import ManifestationError
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.resilience import Backoff
from phantom_gui.core.settings import Settings
from phantom_gui.core.topics import topic_matches
from phantom_gui.plugins.lifecycle import PluginState
from phantom_gui.plugins.manager import PluginManager
from phantom_gui.plugins.sandbox import ProcessPluginHost, SandboxSettings
from phantom_gui.plugins.status import PluginLogLine, ProcessIncident

from support.processes import children_of

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sandbox_plugins"
FAST = SandboxSettings(
    heartbeat_interval=0.1,
    heartbeat_timeout=0.8,
    init_timeout=10.0,
    stop_timeout=2.0,
    max_restarts=3,
    backoff=Backoff(base=0.05, maximum=0.2),
)
WAIT_S = 8.0


def run(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test on a fresh plain asyncio loop, with a time limit."""

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        asyncio.run(asyncio.wait_for(test(*args, **kwargs), 30))

    return wrapper


def process_exists(pid: int) -> bool:
    """True while `pid` is a process that has not been reaped (zombies count)."""
    return Path(f"/proc/{pid}").exists()


def child_pids() -> set[int]:
    """The processes whose parent is this one, reaped or not."""
    return set(children_of(os.getpid()))


@dataclass
class Sandbox:
    """A hub, a plugin manager over the fixture plugins, and every event published."""

    hub: EventHub
    settings: Settings
    manager: PluginManager
    events: list[SpectralEvent]

    def publish(self, topic: str, data: Any) -> None:
        self.hub.publish(topic, data, source="test")

    def seen(self, pattern: str) -> list[SpectralEvent]:
        return [event for event in self.events if topic_matches(pattern, event.topic)]

    async def wait_for(
        self, pattern: str, count: int = 1, timeout: float = WAIT_S
    ) -> list[SpectralEvent]:
        """The first `count` events matching `pattern`, waiting for them if need be."""
        deadline = time.monotonic() + timeout
        while len(found := self.seen(pattern)) < count:
            if time.monotonic() > deadline:
                topics = [event.topic for event in self.events]
                raise AssertionError(f"no {count} x {pattern} within {timeout} s; saw {topics}")
            await asyncio.sleep(0.01)
        return found[:count]

    async def activate(self, plugin_id: str) -> ProcessPluginHost:
        record = await self.manager.activate(plugin_id)
        assert isinstance(record.instance, ProcessPluginHost)
        return record.instance


@asynccontextmanager
async def sandbox(tmp_path: Path, settings: SandboxSettings = FAST) -> AsyncIterator[Sandbox]:
    """A manager whose process plugins run under `settings`; everything is unloaded after."""
    hub = EventHub(asyncio.get_running_loop())
    events: list[SpectralEvent] = []
    hub.subscribe(events.append)
    app_settings = Settings(tmp_path / "settings.json")
    manager = PluginManager(
        hub,
        app_settings,
        tmp_path / "plugin-data",
        [FIXTURES],
        load_backoff=Backoff(base=0.01),
        process_host_factory=functools.partial(ProcessPluginHost, settings=settings),
        entry_points_group="phantom_tests.no_plugins",
    )
    manager.discover()
    before = child_pids()
    try:
        yield Sandbox(hub, app_settings, manager, events)
    finally:
        await manager.shutdown()
    assert child_pids() <= before, "a sandboxed plugin's process outlived its test"


@run
async def test_plugin_consumes_events_and_its_outputs_arrive_on_the_hub(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "phantom.plugin.sandbox_echo")
    async with sandbox(tmp_path) as box:
        host = await box.activate("sandbox_echo")
        assert host.alive and host.pid is not None

        box.publish("test/in", {"op": "echo", "n": 1})
        box.publish("test/side", {"n": 2})
        box.publish("test/in", {"op": "pid"})

        [echo] = await box.wait_for("test/out/echo")
        assert echo.data == {"op": "echo", "n": 1}
        assert echo.source == "sandbox_echo"
        [side] = await box.wait_for("test/out/side")
        assert side.data == {"n": 2}
        [pid] = await box.wait_for("test/out/pid")
        assert pid.data == host.pid != os.getpid()
        [logged] = await box.wait_for("plugin/sandbox_echo/log")
        assert logged.data == PluginLogLine("sandbox_echo", "INFO", "echo plugin initialised (1)")
        assert "echo plugin initialised (1)" in caplog.messages


@run
async def test_forbidden_publish_is_refused_by_the_parent_and_the_child_goes_on(
    tmp_path: Path,
) -> None:
    async with sandbox(tmp_path) as box:
        host = await box.activate("sandbox_echo")
        pid = host.pid

        box.publish("test/in", {"op": "forbidden"})

        [banished] = await box.wait_for("security/banishment")
        assert banished.data == {
            "plugin": "sandbox_echo",
            "action": "publish on",
            "target": "secret/vault",
            "needed": "hub:publish:secret/vault",
        }
        [told] = await box.wait_for("test/out/told")
        assert "may not publish on 'secret/vault'" in told.data
        assert not box.seen("secret/vault")

        box.publish("test/in", {"op": "echo", "n": 2})
        echoes = await box.wait_for("test/out/echo", count=2)
        assert echoes[-1].data == {"op": "echo", "n": 2}
        assert host.alive and host.pid == pid and host.restarts == 0


@run
async def test_a_context_call_outside_the_permissions_raises_in_the_child(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as box:
        await box.activate("sandbox_echo")

        box.publish("test/in", {"op": "data_dir"})

        [answer] = await box.wait_for("test/out/data_dir")
        assert answer.data.startswith("refused: plugin sandbox_echo may not use 'storage'")
        [banished] = box.seen("security/banishment")
        assert banished.data["action"] == "use" and banished.data["target"] == "storage"
        assert not (tmp_path / "plugin-data" / "sandbox_echo").exists()


@run
async def test_output_the_app_cannot_unpickle_is_reported_and_the_child_goes_on(
    tmp_path: Path,
) -> None:
    async with sandbox(tmp_path) as box:
        host = await box.activate("sandbox_echo")

        box.publish("test/in", {"op": "own_class"})

        [error] = await box.wait_for("plugin/sandbox_echo/error")
        assert error.data.where == "sending"
        assert error.data.error == "ModuleNotFoundError"
        assert "No module named 'sandbox_echo'" in error.data.message
        box.publish("test/in", {"op": "echo", "n": 5})
        [echo] = await box.wait_for("test/out/echo")
        assert echo.data == {"op": "echo", "n": 5}
        assert not box.seen("test/out/own") and host.restarts == 0 and host.alive


@run
async def test_a_crash_is_reported_and_restarted_while_the_app_loop_keeps_ticking(
    tmp_path: Path,
) -> None:
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    async with sandbox(tmp_path) as box:
        host = await box.activate("sandbox_echo")
        first_pid = host.pid
        assert first_pid is not None
        ticker = asyncio.create_task(tick())

        box.publish("test/in", {"op": "abort"})

        [crashed] = await box.wait_for("plugin/sandbox_echo/crashed")
        assert crashed.data.pid == first_pid
        assert crashed.data.signal == "SIGABRT"
        [restarted] = await box.wait_for("plugin/sandbox_echo/restarted")
        ticker.cancel()
        assert host.restarts == 1 and host.alive
        assert restarted.data == ProcessIncident("sandbox_echo", "restarted", 1, pid=host.pid)
        assert host.pid != first_pid and not process_exists(first_pid)
        assert max(b - a for a, b in itertools.pairwise(ticks)) < 0.25
        assert box.manager.records["sandbox_echo"].state is PluginState.ACTIVE

        # The new child ran init() again and has its subscriptions back.
        box.publish("test/side", {"after": "restart"})
        [side] = await box.wait_for("test/out/side")
        assert side.data == {"after": "restart"}
        box.publish("test/in", {"op": "echo", "n": 3})
        [echo] = await box.wait_for("test/out/echo")
        assert echo.data == {"op": "echo", "n": 3}
        assert box.settings.section("plugin/sandbox_echo")["inits"] == 2


@run
async def test_a_hang_is_detected_by_missing_heartbeats_and_restarted(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as box:
        host = await box.activate("sandbox_echo")
        hung_pid = host.pid
        assert hung_pid is not None
        started = time.monotonic()

        box.publish("test/in", {"op": "hang"})

        [hung] = await box.wait_for("plugin/sandbox_echo/hung")
        assert time.monotonic() - started >= FAST.heartbeat_timeout
        assert hung.data.pid == hung_pid and hung.data.signal == "SIGKILL"
        assert hung.data.silent_for_s == FAST.heartbeat_timeout
        await box.wait_for("plugin/sandbox_echo/restarted")
        assert host.restarts == 1 and host.alive and not process_exists(hung_pid)

        box.publish("test/in", {"op": "echo", "n": 4})
        [echo] = await box.wait_for("test/out/echo")
        assert echo.data == {"op": "echo", "n": 4}


@run
async def test_it_gives_up_after_max_restarts_and_stays_stopped(tmp_path: Path) -> None:
    settings = SandboxSettings(
        heartbeat_interval=0.1, heartbeat_timeout=0.8, max_restarts=1, backoff=Backoff(base=0.01)
    )
    async with sandbox(tmp_path, settings) as box:
        host = await box.activate("sandbox_echo")

        box.publish("test/in", {"op": "abort"})
        await box.wait_for("plugin/sandbox_echo/restarted")
        last_pid = host.pid
        box.publish("test/in", {"op": "abort"})

        [gave_up] = await box.wait_for("plugin/sandbox_echo/gave_up")
        assert gave_up.data == ProcessIncident("sandbox_echo", "gave_up", 1)
        assert len(box.seen("plugin/sandbox_echo/crashed")) == 2
        assert host.gave_up and not host.alive and host.pid is None
        assert last_pid is not None and not process_exists(last_pid)
        record = box.manager.records["sandbox_echo"]
        for _ in range(50):
            if record.state is PluginState.FAILED:
                break
            await asyncio.sleep(0.02)
        assert record.state is PluginState.FAILED
        assert "gave up after 1 restarts" in (record.error or "")
        box.publish("test/in", {"op": "echo"})  # goes nowhere, harmlessly
        await asyncio.sleep(0.2)
        assert host.restarts == 1 and not box.seen("test/out/echo")


@run
async def test_teardown_stops_the_child_and_leaves_no_process(tmp_path: Path) -> None:
    async with sandbox(tmp_path) as box:
        host = await box.activate("sandbox_echo")
        pid = host.pid
        assert pid is not None

        await box.manager.deactivate("sandbox_echo")

        [bye] = box.seen("test/out/bye")  # published by the plugin's own teardown()
        assert bye.data == {"inits": 1}
        assert not process_exists(pid)
        assert host.pid is None and not host.alive
        assert box.manager.records["sandbox_echo"].state is PluginState.STOPPED


@run
async def test_teardown_while_a_restart_is_pending_starts_nothing(tmp_path: Path) -> None:
    slow = SandboxSettings(heartbeat_interval=0.1, backoff=Backoff(base=5.0))
    async with sandbox(tmp_path, slow) as box:
        host = await box.activate("sandbox_echo")
        pid = host.pid
        assert pid is not None
        box.publish("test/in", {"op": "abort"})
        await box.wait_for("plugin/sandbox_echo/crashed")

        await box.manager.deactivate("sandbox_echo")

        assert not process_exists(pid)
        assert host.pid is None and host.restarts == 0
        assert not box.seen("plugin/sandbox_echo/restarted")


@run
async def test_init_failure_in_the_child_raises_manifestation_error_with_its_traceback(
    tmp_path: Path,
) -> None:
    async with sandbox(tmp_path) as box:
        with pytest.raises(ManifestationError) as raised:
            await box.activate("sandbox_broken")

        record = box.manager.records["sandbox_broken"]
        assert record.state is PluginState.FAILED
        for text in (str(raised.value), record.error or ""):
            assert "Traceback (most recent call last)" in text
            assert "sandbox_broken/__init__.py" in text
            assert "RuntimeError: the circle is broken" in text
