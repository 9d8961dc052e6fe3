"""The sandbox's pieces without child processes: the protocol of the child side (run on a
thread of this process over a real channel), exit descriptions, an idle host."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from phantom_gui.core.channel import Channel
from phantom_gui.core.children import describe_exit
from phantom_gui.core.events import SpectralEvent
from phantom_gui.plugins import child
from phantom_gui.plugins.child import ChildConfig, ChildRunner, Message, event_fields
from phantom_gui.plugins.discovery import discover
from phantom_gui.plugins.sandbox import ProcessPluginHost, SandboxSettings
from phantom_gui.plugins.status import Incident

from support.channels import channel_pair

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sandbox_plugins"
TIMEOUT_S = 5.0


@pytest.fixture(autouse=True)
def _forget_fixture_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The child side imports fixture plugins into this process: undo it after each test."""
    monkeypatch.syspath_prepend(str(FIXTURES))
    yield
    for name in ("sandbox_echo", "sandbox_broken"):
        sys.modules.pop(name, None)


@dataclass
class ScriptedParent:
    """Plays the parent over a real channel to a `ChildRunner` running on a thread."""

    channel: Channel
    thread: threading.Thread
    result: list[int]
    settings: dict[str, Any] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)
    """Call operations to refuse as the parent's `BanishmentError` would."""
    received: list[Message] = field(default_factory=list)
    unread: deque[Message] = field(default_factory=deque)

    def send(self, *messages: Message) -> None:
        self.channel.send(list(messages))

    def until(self, kind: str) -> Message:
        """Answer the child's calls until a message of `kind` arrives; return it.

        Messages before it are skipped; those after it are kept for the next call.
        """
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            while self.unread:
                message = self.unread.popleft()
                if message[0] == kind:
                    return message
            if self.channel.poll(0.01):
                self.unread.extend(self._receive())
        raise AssertionError(f"no {kind} from the child; got {self.received}")

    def until_exit(self) -> None:
        """Answer the child's calls until its runner has returned."""
        deadline = time.monotonic() + TIMEOUT_S
        while self.thread.is_alive() and time.monotonic() < deadline:
            if self.channel.poll(0.01):
                self._receive()
        assert not self.thread.is_alive(), "the child runner did not stop"

    def _receive(self) -> list[Message]:
        batch: list[Message] = self.channel.receive()
        self.received += batch
        for message in batch:
            if message[0] == child.CALL:
                self.send(self._answer(message))
        return batch

    def _answer(self, call: Message) -> Message:
        _, call_id, operation, args = call
        if operation in self.refused:
            return (child.REPLY, call_id, "BanishmentError", f"may not {operation} {args}")
        if operation == "setting_get":
            return (child.REPLY, call_id, None, self.settings.get(args[0], args[1]))
        if operation == "setting_set":
            self.settings[args[0]] = args[1]
        return (child.REPLY, call_id, None, None)

    def finish(self) -> int:
        """Stop the child and return its exit code."""
        if self.thread.is_alive():
            self.send((child.STOP,))
            self.until_exit()
        return self.result[0]


@pytest.fixture
def start_child() -> Iterator[Callable[..., ScriptedParent]]:
    """Start child runners on threads; their channels are closed after the test, which
    ends the runners' reading threads."""
    with ExitStack() as channels:

        def start(entry: str, plugin_id: str = "sandbox_echo", **options: Any) -> ScriptedParent:
            """`options` as for `ChildRunner`."""
            parent_end, child_end = channels.enter_context(channel_pair())
            config = ChildConfig(plugin_id, entry, None, 0.05, logging.INFO)
            runner = ChildRunner(child_end, config, **options)
            result: list[int] = []
            thread = threading.Thread(target=lambda: result.append(runner.run()), daemon=True)
            thread.start()
            return ScriptedParent(parent_end, thread, result)

        yield start


@pytest.fixture
def echo(start_child: Callable[..., ScriptedParent]) -> Iterator[ScriptedParent]:
    """The echo fixture plugin, initialised, on a child runner thread."""
    parent = start_child("sandbox_echo:EchoPlugin")
    parent.until(child.READY)
    yield parent
    parent.finish()


def event(data: Any, topic: str = "test/in") -> SpectralEvent:
    return SpectralEvent(topic, data, "test")


def test_init_runs_the_context_calls_through_the_parent(echo: ScriptedParent) -> None:
    assert echo.settings == {"inits": 1}
    kinds = [message[0] for message in echo.received]
    assert kinds.index(child.SUBSCRIBE) < kinds.index(child.READY)
    assert (child.LOG, logging.INFO, "echo plugin initialised (1)") in echo.received


def test_events_in_become_publish_requests_out(echo: ScriptedParent) -> None:
    echo.send(*[(child.EVENT, event_fields(event({"op": "echo", "n": n}))) for n in range(3)])

    published = [echo.until(child.PUBLISH) for _ in range(3)]

    assert published == [
        (child.PUBLISH, "test/out/echo", {"op": "echo", "n": n}, None) for n in range(3)
    ]


def test_forwarded_events_reach_the_plugins_subscription(echo: ScriptedParent) -> None:
    subscription_id = next(m[1] for m in echo.received if m[0] == child.SUBSCRIBE)

    echo.send((child.FORWARD, subscription_id, event_fields(event({"x": 1}, "test/side"))))

    assert echo.until(child.PUBLISH) == (child.PUBLISH, "test/out/side", {"x": 1}, None)


def test_a_refused_publish_is_told_to_the_plugin(echo: ScriptedParent) -> None:
    echo.send((child.REFUSED, "plugin sandbox_echo may not publish on 'secret/vault'"))

    told = echo.until(child.PUBLISH)

    assert told[1:3] == ("test/out/told", "plugin sandbox_echo may not publish on 'secret/vault'")


def test_a_broken_contract_in_process_is_reported_and_the_child_goes_on(
    echo: ScriptedParent,
) -> None:
    echo.send((child.EVENT, event_fields(event({"op": "bad"}))))

    _, where, error, message, trace = echo.until(child.ERROR)

    assert (where, error) == ("process", "TypeError")
    assert "must return an Observable" in message and message in trace
    echo.send((child.EVENT, event_fields(event({"op": "echo"}))))
    assert echo.until(child.PUBLISH)[1] == "test/out/echo"


def test_stop_runs_the_plugins_teardown_and_ends_the_loop(echo: ScriptedParent) -> None:
    echo.send((child.STOP,))

    bye = echo.until(child.PUBLISH)

    assert bye[1:3] == ("test/out/bye", {"inits": 1})
    echo.until_exit()
    assert echo.result == [0]


def test_the_end_of_the_channel_tears_the_plugin_down(
    start_child: Callable[..., ScriptedParent],
) -> None:
    """The app has gone: the plugin is torn down and the child is told, to end itself."""
    gone = threading.Event()
    parent = start_child("sandbox_echo:EchoPlugin", parent_gone=gone.set)
    parent.until(child.READY)

    parent.channel.close()

    parent.thread.join(TIMEOUT_S)
    assert gone.is_set()
    assert parent.result == [0]


def test_the_loop_beats_while_idle(echo: ScriptedParent) -> None:
    for _ in range(3):
        echo.until(child.BEAT)


def test_a_refused_subscription_fails_init_with_banishment_error(
    start_child: Callable[..., ScriptedParent],
) -> None:
    parent = start_child("sandbox_echo:EchoPlugin")
    parent.refused.add("may_subscribe")

    _, trace = parent.until(child.INIT_FAILED)

    assert "BanishmentError: may not may_subscribe ('test/side',)" in trace
    parent.until_exit()
    assert parent.result == [1]


def test_init_failure_sends_the_traceback(start_child: Callable[..., ScriptedParent]) -> None:
    parent = start_child("sandbox_broken:BrokenPlugin", "sandbox_broken")

    _, trace = parent.until(child.INIT_FAILED)

    assert trace.startswith("Traceback (most recent call last)")
    assert trace.rstrip().endswith("RuntimeError: the circle is broken")
    parent.until_exit()


def test_a_missing_entry_class_fails_init(start_child: Callable[..., ScriptedParent]) -> None:
    parent = start_child("sandbox_echo:NoSuchPlugin")

    _, trace = parent.until(child.INIT_FAILED)

    assert "ManifestationError: sandbox_echo: module sandbox_echo has no NoSuchPlugin" in trace
    parent.until_exit()


def test_event_fields_rebuild_the_same_event() -> None:
    original = SpectralEvent("a/b", {"v": 1}, "src", {"haunted": True})

    rebuilt = SpectralEvent(*event_fields(original))

    assert rebuilt == original


@pytest.mark.parametrize(
    ("exitcode", "described"),
    [
        (0, {"exitcode": 0}),
        (1, {"exitcode": 1}),
        (-6, {"exitcode": -6, "signal": "SIGABRT"}),
        (-9, {"exitcode": -9, "signal": "SIGKILL"}),
        (None, {"exitcode": None}),
    ],
)
def test_describe_exit_names_the_signal(exitcode: int | None, described: dict[str, Any]) -> None:
    assert describe_exit(exitcode) == described


@pytest.mark.parametrize(("interval", "timeout"), [(0.5, 0.5), (1.0, 0.5), (0.0, 3.0)])
def test_settings_refuse_a_heartbeat_timeout_that_cannot_be_met(
    interval: float, timeout: float
) -> None:
    with pytest.raises(ValueError, match="must exceed heartbeat_interval"):
        SandboxSettings(heartbeat_interval=interval, heartbeat_timeout=timeout)


def test_a_host_that_never_started_is_inert() -> None:
    discovered = discover([FIXTURES], entry_points_group="phantom_tests.none").plugins
    reports: list[Incident] = []
    host = ProcessPluginHost(discovered["sandbox_echo"], reports.append)

    host.process(event({"op": "echo"}))
    host.haunt()
    host.teardown()

    assert host.pid is None and not host.alive and host.restarts == 0
    assert reports == []
