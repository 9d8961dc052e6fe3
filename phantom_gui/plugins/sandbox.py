"""The sandbox ("containment circle"): a plugin with ``isolation = "process"`` runs in a child.

`ProcessPluginHost` stands in for the plugin inside the app: the plugin manager treats
it like any plugin instance. It starts the child (`phantom_gui.plugins.child`) as a
`ChildProcess` and talks to it over its `Channel`. The parent enforces the plugin's
permissions: every publish, subscription and context call from the child goes through
the plugin's real `PluginContext`. A crash or a hang of the child never reaches the
app: a supervisor kills and reaps it, reports it, and starts a new one with
exponential backoff, up to a limit.

Threads: each child has a reader thread (blocking reads; it also notices a child that
went silent or away) and a writer thread (blocking writes, batching whatever is queued).
Everything else, including every call into the hub, runs on the asyncio loop's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from queue import Empty, SimpleQueue
from typing import Any, Literal

from reactivex import abc

from phantom_gui.core.channel import UnreadableValue
from phantom_gui.core.children import REAP_GRACE_S, ChildProcess
from phantom_gui.core.errors import BanishmentError, ManifestationError
from phantom_gui.core.events import EventMetadata, SpectralEvent
from phantom_gui.core.resilience import Backoff
from phantom_gui.plugins.child import (
    BEAT,
    CALL,
    ERROR,
    EVENT,
    FORWARD,
    HAUNT,
    INIT_FAILED,
    LOG,
    PUBLISH,
    READY,
    REFUSED,
    REPLY,
    STOP,
    SUBSCRIBE,
    SUBSCRIBE_REFUSED,
    UNSUBSCRIBE,
    ChildConfig,
    Message,
    event_fields,
)
from phantom_gui.plugins.context import PluginContext
from phantom_gui.plugins.discovery import DiscoveredPlugin
from phantom_gui.plugins.status import PluginFault, PluginLogLine, ProcessIncident, Reporter

log = logging.getLogger("phantom.plugins.sandbox")

ExitCause = Literal["crashed", "hung"]
"""How a child ended that no one asked to stop."""


@dataclass(frozen=True)
class SandboxSettings:
    """How the supervisor watches and restarts a child."""

    heartbeat_interval: float = 0.5
    """The child beats this often (seconds)."""
    heartbeat_timeout: float = 3.0
    """A child silent this long is hung: it is killed and restarted."""
    init_timeout: float = 30.0
    """How long a child may take to import and initialise its plugin."""
    stop_timeout: float = 2.0
    """How long teardown waits for the child to stop before killing it."""
    max_restarts: int = 5
    """Restarts after crashes or hangs before the host gives up."""
    backoff: Backoff = field(default_factory=lambda: Backoff(base=0.5, maximum=10.0))
    """The delay before each restart."""

    def __post_init__(self) -> None:
        if not 0 < self.heartbeat_interval < self.heartbeat_timeout:
            raise ValueError(
                f"heartbeat_timeout ({self.heartbeat_timeout} s) must exceed "
                f"heartbeat_interval ({self.heartbeat_interval} s), which must be positive"
            )


class _Child:
    """One child process, its channel, and the threads that read and write it."""

    def __init__(
        self,
        config: ChildConfig,
        settings: SandboxSettings,
        deliver: Callable[[_Child, list[Message]], None],
        exited: Callable[[_Child, ExitCause, dict[str, Any]], None],
    ) -> None:
        self._settings = settings
        self._deliver = deliver
        self._exited = exited
        self.process = ChildProcess("phantom_gui.plugins.child")
        self.process.channel.send(config)
        self.pid = self.process.pid
        self.ready = False
        """Set by the reader thread when the plugin's init() has succeeded."""
        self.stopping = False
        self.failure: str | None = None
        """The traceback of a failed init, if any."""
        self.subscriptions: dict[int, abc.DisposableBase] = {}
        self._outbox: SimpleQueue[Message | None] = SimpleQueue()
        self._writer = threading.Thread(
            target=self._write, name=f"phantom-sandbox-writer-{self.pid}", daemon=True
        )
        self._reader = threading.Thread(
            target=self._read, name=f"phantom-sandbox-reader-{self.pid}", daemon=True
        )
        self._writer.start()
        self._reader.start()

    @property
    def running(self) -> bool:
        """True until the child has been reaped."""
        return self._reader.is_alive()

    def send(self, message: Message) -> None:
        """Queue `message` for the child (never blocks)."""
        self._outbox.put(message)

    def kill(self) -> None:
        """Kill the child now; the reader thread reaps it."""
        self.process.kill()

    def join(self, timeout: float) -> None:
        """Wait until the child has been reaped."""
        self._reader.join(timeout)

    def release_subscriptions(self) -> None:
        """End the forwarding of hub events to this child."""
        for subscription in self.subscriptions.values():
            subscription.dispose()
        self.subscriptions.clear()

    def _read(self) -> None:
        channel, settings = self.process.channel, self._settings
        timeout = settings.init_timeout  # until the plugin is ready, then heartbeat_timeout
        cause: ExitCause = "crashed"
        try:
            while True:
                if not channel.poll(timeout):
                    if self.stopping:
                        continue
                    cause = "hung"
                    break
                batch = self._receive()
                if not self.ready and any(message[0] == READY for message in batch):
                    self.ready = True
                    timeout = settings.heartbeat_timeout
                if batch:
                    self._deliver(self, batch)
        except (EOFError, OSError):
            pass
        info = {"pid": self.pid, **self._reap(kill=cause == "hung")}
        if cause == "hung":
            info["silent_for_s"] = timeout
        self._exited(self, cause, info)

    def _receive(self) -> list[Message]:
        """The messages of the next batch but heartbeats; an unreadable batch becomes an
        error."""
        try:
            batch = self.process.channel.receive()
        except UnreadableValue as exc:  # e.g. data of a class that only the plugin can import
            error = type(exc.__cause__).__name__
            text = f"the app could not read what the plugin sent: {exc}"
            return [(ERROR, "sending", error, text, "")]
        return [message for message in batch if message[0] != BEAT]

    def _reap(self, *, kill: bool) -> dict[str, Any]:
        if kill:
            self.process.kill()
        info = self.process.reap()
        self._outbox.put(None)
        self._writer.join()
        return info

    def _write(self) -> None:
        outbox, channel = self._outbox, self.process.channel
        while True:
            batch = [outbox.get()]
            try:
                while True:
                    batch.append(outbox.get_nowait())
            except Empty:
                pass
            messages = [message for message in batch if message is not None]
            if messages:
                try:
                    dropped = channel.send_batch(messages)
                except OSError:  # the child has gone; the reader will tell
                    return
                for message, exc in dropped:
                    log.error("could not send %s to the sandboxed plugin: %s", message[0], exc)
            if len(messages) != len(batch):
                return


def _may_subscribe(context: PluginContext, pattern: str) -> None:
    context.hub.on(pattern)  # raises BanishmentError (and audits it) when not granted


_CALLS: dict[str, Callable[..., Any]] = {
    "setting_get": lambda context, key, default: context.settings.get(key, default),
    "setting_set": lambda context, key, value: context.settings.set(key, value),
    "data_dir": lambda context: str(context.data_dir),
    "require": lambda context, service: context.require(service),
    "may_subscribe": _may_subscribe,
}
"""What a child may ask of its plugin's context, and how (see `child.CALLS`)."""


class ProcessPluginHost:
    """A process-isolated plugin as the plugin manager sees it (a `HauntPack`).

    `init` starts the child and waits until the plugin has initialised; `process`
    and `haunt` hand work to the child and return at once (the plugin's outputs come
    back as publish requests); `teardown` stops the child and never leaves it behind.
    Crashes and hangs are reported through `report` as ``crashed`` / ``hung``, then
    ``restarted`` or, after `SandboxSettings.max_restarts`, ``gave_up``.
    """

    def __init__(
        self,
        discovered: DiscoveredPlugin,
        report: Reporter,
        settings: SandboxSettings | None = None,
    ) -> None:
        self._discovered = discovered
        self._report = report
        self._settings = settings or SandboxSettings()
        self._context: PluginContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._child: _Child | None = None
        self._initialising: asyncio.Future[None] | None = None
        self._inbox: SimpleQueue[tuple[_Child, list[Message]]] = SimpleQueue()
        self._drain_scheduled = False
        self._restart_timer: asyncio.TimerHandle | None = None
        self._stopped = False
        self.restarts = 0
        """How many times the child was restarted."""
        self.gave_up = False
        """True once the child failed more often than the settings allow."""

    @property
    def plugin_id(self) -> str:
        """The id of the plugin this host runs."""
        return self._discovered.manifest.id

    @property
    def pid(self) -> int | None:
        """The process id of the current child, if there is one."""
        return self._child.pid if self._child is not None else None

    @property
    def alive(self) -> bool:
        """True while a child is running with its plugin initialised."""
        child = self._child
        return child is not None and child.ready and child.running

    # -- the plugin contract ----------------------------------------------------------------

    async def init(self, context: PluginContext) -> None:
        """Start the child and wait for its plugin's init().

        Raises `ManifestationError` with the child's traceback when it fails to load or
        initialise, or exits first.
        """
        self._context = context
        loop = self._loop = asyncio.get_running_loop()
        self._initialising = loop.create_future()
        child = self._spawn()
        try:
            await self._initialising
        except BaseException:
            self._stopped = True
            child.kill()
            await loop.run_in_executor(None, child.join, REAP_GRACE_S + 5)
            self._child = None
            raise

    def process(self, event: SpectralEvent) -> None:
        """Hand `event` to the plugin in the child; its outputs come back asynchronously.

        Events that arrive while no child runs (after a crash, before the restart) are lost.
        """
        child = self._child
        if child is not None and not self._stopped:
            child.send((EVENT, event_fields(event)))

    def haunt(self) -> None:
        """Let the plugin in the child haunt; its outputs come back asynchronously."""
        child = self._child
        if child is not None and not self._stopped:
            child.send((HAUNT,))

    def teardown(self) -> None:
        """Stop the plugin and its child, waiting `stop_timeout` before killing it.

        While waiting, the child's last requests (from the plugin's teardown) are served.
        """
        self._stopped = True
        if self._restart_timer is not None:
            self._restart_timer.cancel()
            self._restart_timer = None
        child = self._child
        if child is None:
            return
        child.stopping = True
        child.send((STOP,))
        deadline = time.monotonic() + self._settings.stop_timeout
        while child.running and (left := deadline - time.monotonic()) > 0:
            self._serve(child, timeout=min(left, 0.05))
        if child.running:
            log.warning("plugin %s did not stop in time; killing its process", self.plugin_id)
            child.kill()
            child.join(REAP_GRACE_S + 5)
        while not self._inbox.empty():  # what it said last, now that its reader has ended
            self._serve(child, timeout=0)
        child.release_subscriptions()
        self._child = None

    def _serve(self, child: _Child, timeout: float) -> None:
        """Handle the next batch from `child` in the inbox, waiting up to `timeout`."""
        try:
            sender, batch = self._inbox.get(timeout=timeout)
        except Empty:
            return
        if sender is child:
            self._handle_batch(child, batch)

    # -- supervision ------------------------------------------------------------------------

    def _spawn(self) -> _Child:
        manifest = self._discovered.manifest
        root = self._discovered.import_root
        config = ChildConfig(
            plugin_id=manifest.id,
            entry=manifest.entry,
            import_root=str(root) if root is not None else None,
            heartbeat_interval=self._settings.heartbeat_interval,
            log_level=logging.getLogger(f"phantom.plugin.{manifest.id}").getEffectiveLevel(),
        )
        child = self._child = _Child(config, self._settings, self._deliver, self._exited)
        return child

    def _exited(self, child: _Child, cause: ExitCause, info: dict[str, Any]) -> None:
        """From the reader thread: the child has ended and been reaped."""
        self._call_soon(self._on_exit, child, cause, info)

    def _on_exit(self, child: _Child, cause: ExitCause, info: dict[str, Any]) -> None:
        self._drain()  # what the child said before it ended comes first
        child.release_subscriptions()
        if self._stopped or child is not self._child:
            return
        self._child = None
        if child.failure is not None:
            info["error"] = child.failure
        initialising = self._initialising
        if initialising is not None and not initialising.done():
            reason = child.failure or f"its process {cause} before it was ready ({info})"
            initialising.set_exception(
                ManifestationError(
                    f"{self.plugin_id} failed to start in its sandbox: {reason}",
                    source=self.plugin_id,
                )
            )
            return
        log.error("sandboxed plugin %s %s: %s", self.plugin_id, cause, info)
        self._report(ProcessIncident(self.plugin_id, cause, self.restarts, **info))
        self._schedule_restart()

    def _schedule_restart(self) -> None:
        restarts = self.restarts
        if restarts >= self._settings.max_restarts:
            self.gave_up = True
            log.error("sandboxed plugin %s: gave up after %d restarts", self.plugin_id, restarts)
            self._report(ProcessIncident(self.plugin_id, "gave_up", restarts))
            return
        delay = self._settings.backoff.delay(restarts)
        assert self._loop is not None
        self._restart_timer = self._loop.call_later(delay, self._restart)

    def _restart(self) -> None:
        self._restart_timer = None
        if self._stopped:
            return
        self.restarts += 1
        try:
            self._spawn()
        except OSError as exc:
            log.error("sandboxed plugin %s: cannot start a process: %s", self.plugin_id, exc)
            self._report(ProcessIncident(self.plugin_id, "crashed", self.restarts, error=str(exc)))
            self._schedule_restart()

    # -- messages from the child ------------------------------------------------------------

    def _deliver(self, child: _Child, batch: list[Message]) -> None:
        """From the reader thread: queue a batch and have the loop drain the queue."""
        self._inbox.put((child, batch))
        if not self._drain_scheduled:
            self._drain_scheduled = True
            self._call_soon(self._drain)

    def _call_soon(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # a closed loop: the app has gone
            loop.call_soon_threadsafe(callback, *args)

    def _drain(self) -> None:
        self._drain_scheduled = False
        for _ in range(self._inbox.qsize()):
            try:
                child, batch = self._inbox.get_nowait()
            except Empty:
                return
            if child is self._child and not self._stopped:
                self._handle_batch(child, batch)

    def _handle_batch(self, child: _Child, batch: list[Message]) -> None:
        for message in batch:
            try:
                self._handle(child, message)
            except Exception:  # the child is not trusted to speak the protocol
                log.exception(
                    "sandboxed plugin %s sent a message that cannot be handled: %.200r",
                    self.plugin_id,
                    message,
                )

    def _handle(self, child: _Child, message: Message) -> None:
        kind = message[0]
        if kind == PUBLISH:
            self._publish(child, message[1], message[2], message[3])
        elif kind == CALL:
            child.send((REPLY, message[1], *self._call(message[2], message[3])))
        elif kind == SUBSCRIBE:
            self._subscribe(child, message[1], message[2])
        elif kind == UNSUBSCRIBE:
            subscription = child.subscriptions.pop(message[1], None)
            if subscription is not None:
                subscription.dispose()
        elif kind == LOG:
            self._log(message[1], message[2])
        elif kind == ERROR:
            self._plugin_error(message[1], message[2], message[3], message[4])
        elif kind == READY:
            self._ready(child)
        elif kind == INIT_FAILED:
            child.failure = message[1]

    def _ready(self, child: _Child) -> None:
        initialising = self._initialising
        if initialising is not None and not initialising.done():
            initialising.set_result(None)
        else:
            log.info("sandboxed plugin %s restarted (pid %s)", self.plugin_id, child.pid)
            self._report(ProcessIncident(self.plugin_id, "restarted", self.restarts, pid=child.pid))

    def _publish(
        self, child: _Child, topic: str, data: Any, metadata: EventMetadata | None
    ) -> None:
        assert self._context is not None
        try:
            self._context.hub.publish(topic, data, metadata=metadata)
        except (BanishmentError, ValueError) as exc:
            child.send((REFUSED, str(exc)))

    def _subscribe(self, child: _Child, subscription_id: int, pattern: str) -> None:
        assert self._context is not None
        try:
            events = self._context.hub.on(pattern)
        except (BanishmentError, ValueError) as exc:
            child.send((SUBSCRIBE_REFUSED, subscription_id, str(exc)))
            return

        def forward(event: SpectralEvent) -> None:
            child.send((FORWARD, subscription_id, event_fields(event)))

        child.subscriptions[subscription_id] = events.subscribe(forward)

    def _call(self, operation: str, args: tuple[Any, ...]) -> tuple[str | None, Any]:
        """Run a context call for the child: (None, value), or (error type, message)."""
        run = _CALLS.get(operation)
        try:
            if run is None:
                raise ValueError(f"unknown call {operation!r}")
            return None, run(self._context, *args)
        except Exception as exc:
            return type(exc).__name__, str(exc)

    def _log(self, level: int, text: str) -> None:
        assert self._context is not None
        self._context.logger.log(level, "%s", text)
        self._report(PluginLogLine(self.plugin_id, logging.getLevelName(level), text))

    def _plugin_error(self, where: str, error: str, message: str, trace: str) -> None:
        log.error("sandboxed plugin %s failed in %s: %s", self.plugin_id, where, trace)
        self._report(PluginFault(self.plugin_id, where, error, message))
