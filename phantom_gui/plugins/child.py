"""The side of the sandbox ("containment circle") that runs in the plugin's child process.

The child is ``python -m phantom_gui.plugins.child``, started by the sandbox as a
`ChildProcess`; the first value on its channel is its `ChildConfig`. `ChildRunner` imports
the plugin, hands it a `ChildContext` whose hub, settings and data folder calls travel
over the channel to the parent, which checks each one against the plugin's permissions,
and then serves the parent's messages on an asyncio loop. A heartbeat is sent from that
loop, so a plugin that blocks the loop stops the heartbeat and the parent declares the
child hung. A thread of its own reads the channel, so the end of the channel (the app
has gone) is noticed even while the plugin blocks the loop.

Messages are tuples whose first item is their kind (the constants below); they cross
the channel in lists, so that a burst of them costs one write.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import itertools
import logging
import signal
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import Any

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable
from reactivex.scheduler.eventloop import AsyncIOScheduler
from reactivex.subject import Subject

from phantom_gui.core.channel import Channel, UnreadableValue
from phantom_gui.core.children import orphaned, parent_channel
from phantom_gui.core.errors import BanishmentError, ManifestationError
from phantom_gui.core.events import EventMetadata, SpectralEvent
from phantom_gui.core.ownership import owned_observable
from phantom_gui.plugins.contract import check_contract

Message = tuple[Any, ...]

# Parent → child.
EVENT = "event"
"""(EVENT, fields): call the plugin's process() with the event."""
FORWARD = "forward"
"""(FORWARD, subscription id, fields): an event of one of the child's subscriptions."""
HAUNT = "haunt"
"""(HAUNT,): call the plugin's haunt()."""
REPLY = "reply"
"""(REPLY, call id, error kind or None, value or error message): the answer to a CALL."""
REFUSED = "refused"
"""(REFUSED, message): a PUBLISH was refused."""
SUBSCRIBE_REFUSED = "subscribe-refused"
"""(SUBSCRIBE_REFUSED, subscription id, message): a SUBSCRIBE was refused."""
STOP = "stop"
"""(STOP,): tear the plugin down and exit."""

# Child → parent.
READY = "ready"
"""(READY,): init() succeeded."""
INIT_FAILED = "init-failed"
"""(INIT_FAILED, traceback text): loading or init() failed; the child exits."""
BEAT = "beat"
"""(BEAT,): the child's loop is alive."""
PUBLISH = "publish"
"""(PUBLISH, topic, data, metadata): publish on the hub as the plugin."""
CALL = "call"
"""(CALL, call id, operation, arguments): a context call the child waits for; the parent
runs it on the plugin's real context. Operations: setting_get, setting_set, data_dir,
require, may_subscribe."""
SUBSCRIBE = "subscribe"
"""(SUBSCRIBE, subscription id, pattern): forward the matching events."""
UNSUBSCRIBE = "unsubscribe"
"""(UNSUBSCRIBE, subscription id): stop forwarding."""
LOG = "log"
"""(LOG, level number, text): a record of the plugin's logger."""
ERROR = "error"
"""(ERROR, where, error type, message, traceback text): the plugin failed in `where`."""

EventFields = tuple[str, Any, str, EventMetadata, float, str]
"""A `SpectralEvent` as sent over the channel, in the order of its constructor's arguments."""


def event_fields(event: SpectralEvent) -> EventFields:
    """The fields of `event` to send over the channel."""
    return (event.topic, event.data, event.source, event.metadata, event.timestamp, event.id)


@dataclass(frozen=True)
class ChildConfig:
    """What the child needs to know to load and serve its plugin."""

    plugin_id: str
    entry: str
    import_root: str | None
    heartbeat_interval: float
    log_level: int


def main() -> None:
    """Run as the plugin's child process: serve the plugin until told to stop or the app
    goes; when it goes, end within the grace of `orphaned` even if the plugin is stuck."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle
    channel = parent_channel()
    config: ChildConfig = channel.receive()
    sys.exit(ChildRunner(channel, config, parent_gone=orphaned).run())


def load_plugin(config: ChildConfig) -> Any:
    """Import the manifest's entry, make the plugin and check it keeps the contract."""
    if config.import_root is not None and config.import_root not in sys.path:
        sys.path.insert(0, config.import_root)
    module_name, _, class_name = config.entry.partition(":")
    module = importlib.import_module(module_name)
    factory = getattr(module, class_name, None)
    if factory is None:
        raise ManifestationError(
            f"{config.plugin_id}: module {module_name} has no {class_name}",
            source=config.plugin_id,
        )
    instance = factory()
    check_contract(instance, f"{config.plugin_id} ({config.entry})")
    return instance


class ChildRunner:
    """Serves one plugin in the child: the channel on one side, the plugin on the other.

    Everything runs on the asyncio loop's thread but the reading of the channel, whose
    batches wait in an inbox for the loop; messages produced elsewhere (outputs of an
    observable on another scheduler, log records from plugin threads) are handed to the
    loop too. `parent_gone` is called (on the reading thread) at the end of the channel.
    """

    def __init__(
        self,
        channel: Channel,
        config: ChildConfig,
        *,
        parent_gone: Callable[[], None] = lambda: None,
    ) -> None:
        self._channel = channel
        self._config = config
        self._parent_gone = parent_gone
        self._inbox: SimpleQueue[list[Message] | None] = SimpleQueue()
        """Batches from the parent, then None at the end of the channel (it stays there)."""
        self._pending: deque[Message] = deque()
        self._outbox: list[Message] = []
        self._flush_scheduled = False
        self._call_ids = itertools.count()
        self._subscription_ids = itertools.count()
        self._subscriptions: dict[int, abc.ObserverBase[SpectralEvent]] = {}
        self._thread = threading.get_ident()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Future[None] | None = None
        self._plugin: Any = None
        self.refusals: Subject[str] = Subject()
        self.logger = logging.Logger(f"phantom.plugin.{config.plugin_id}", config.log_level)
        self.logger.addHandler(_PipeLogHandler(self))

    def run(self) -> int:
        """Load and serve the plugin; return the exit code."""
        self._thread = threading.get_ident()
        return asyncio.run(self._serve())

    async def _serve(self) -> int:
        loop = self._loop = asyncio.get_running_loop()
        stopping = self._stopping = loop.create_future()
        threading.Thread(
            target=self._read, name="phantom-sandbox-child-reader", daemon=True
        ).start()
        try:
            plugin = load_plugin(self._config)
            context = ChildContext(self, self._config, loop)
            result = plugin.init(context)
            if inspect.isawaitable(result):
                await result
        except Exception:
            self.emit((INIT_FAILED, traceback.format_exc()))
            self._flush()  # with what the plugin said (logged) before it failed
            return 1
        self._plugin = plugin
        self.emit((READY,))
        self._flush()
        loop.call_soon(self._drain)
        self._beat()
        await stopping
        try:
            plugin.teardown()
        except Exception as exc:
            self.report_error("teardown", exc)
        context.dispose()
        self._flush()
        return 0

    # -- from the parent ------------------------------------------------------------------

    def _read(self) -> None:
        """On the reading thread: put each batch from the parent in the inbox for the loop."""
        try:
            while True:
                self._to_loop(self._read_batch())
        except (EOFError, OSError):
            self._to_loop(None)
            self._parent_gone()

    def _read_batch(self) -> list[Message]:
        """The next batch from the parent; raises `EOFError` or `OSError` once it has gone."""
        try:
            batch: list[Message] = self._channel.receive()
        except UnreadableValue as exc:  # e.g. event data of a class this process cannot import
            self.report_error("receiving", exc)
            return []
        return batch

    def _to_loop(self, batch: list[Message] | None) -> None:
        self._inbox.put(batch)
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended: nothing to do
                loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        """Handle what the parent sent (once the plugin is ready); stop at the end."""
        ended = False
        while not ended:
            try:
                batch = self._inbox.get_nowait()
            except Empty:
                break
            if batch is None:
                self._inbox.put(None)  # the end stays, for a `call` made from now on
                ended = True
            else:
                self._pending.extend(batch)
        pending = self._pending
        while pending and self._plugin is not None and not self._stopped():
            self._handle(pending.popleft())
        if ended:  # the parent has gone
            self._stop()

    def _handle(self, message: Message) -> None:
        kind = message[0]
        plugin = self._plugin
        if kind == EVENT:
            self._run("process", plugin.process, SpectralEvent(*message[1]))
        elif kind == FORWARD:
            observer = self._subscriptions.get(message[1])
            if observer is not None:
                try:
                    observer.on_next(SpectralEvent(*message[2]))
                except Exception as exc:
                    self.report_error("subscription", exc)
        elif kind == HAUNT:
            haunt = getattr(plugin, "haunt", None)
            if callable(haunt):
                self._run("haunt", haunt)
        elif kind == REFUSED:
            self.refusals.on_next(message[1])
        elif kind == SUBSCRIBE_REFUSED:
            observer = self._subscriptions.pop(message[1], None)
            if observer is not None:
                observer.on_error(BanishmentError(message[2], source=self._config.plugin_id))
        elif kind == STOP:
            self._stop()

    def _run(self, where: str, method: Callable[..., Any], *args: Any) -> None:
        """Call a plugin method and send on the (topic, data) pairs it returns."""
        try:
            outputs = method(*args)
        except Exception as exc:
            self.report_error(where, exc)
            return
        if outputs is None:
            return
        if not isinstance(outputs, Observable):
            self.report_error(
                where, TypeError(f"{where}() must return an Observable, got {outputs!r}")
            )
            return

        def publish(item: Any) -> None:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                self.emit((PUBLISH, item[0], item[1], None))
            else:
                self.report_error(
                    where, TypeError(f"{where}() emitted {item!r}; expected (topic, data)")
                )

        def failed(exc: Exception) -> None:
            self.report_error(where, exc)

        outputs.subscribe(publish, failed)

    def _stop(self) -> None:
        if self._stopping is not None and not self._stopping.done():
            self._stopping.set_result(None)

    def _stopped(self) -> bool:
        return self._stopping is not None and self._stopping.done()

    def _beat(self) -> None:
        """Tell the parent the loop is alive, again every heartbeat interval."""
        if self._loop is not None and not self._stopped():
            self.emit((BEAT,))
            self._loop.call_later(self._config.heartbeat_interval, self._beat)

    # -- to the parent --------------------------------------------------------------------

    def emit(self, message: Message) -> None:
        """Queue `message` for the parent; the queue goes out once the loop is free."""
        loop = self._loop
        if loop is not None and threading.get_ident() != self._thread:
            loop.call_soon_threadsafe(self.emit, message)
            return
        self._outbox.append(message)
        if loop is not None and not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if not self._outbox:
            return
        batch, self._outbox = self._outbox, []
        try:
            dropped = self._channel.send_batch(batch)
        except OSError:  # the parent has gone
            self._stop()
            return
        for message, exc in dropped:
            self.report_error(f"sending {message[0]}", exc)

    def report_error(self, where: str, exc: BaseException) -> None:
        """Tell the parent the plugin failed in `where`."""
        text = "".join(traceback.format_exception(exc))
        self.emit((ERROR, where, type(exc).__name__, str(exc), text))

    def call(self, operation: str, *args: Any) -> Any:
        """Ask the parent to run `operation` on the plugin's context, and wait for the answer.

        Only from the child's loop thread. Messages that arrive meanwhile are kept, in
        order, for the loop; the heartbeat goes on while waiting.
        """
        if threading.get_ident() != self._thread:
            raise RuntimeError(f"{operation} may only be called from the plugin's main thread")
        call_id = next(self._call_ids)
        self.emit((CALL, call_id, operation, args))
        self._flush()
        while True:
            try:
                batch = self._inbox.get(timeout=self._config.heartbeat_interval)
            except Empty:
                self.emit((BEAT,))
                self._flush()
                continue
            if batch is None:
                self._inbox.put(None)
                self._stop()
                raise ConnectionError(f"{operation}: the app has gone")
            answer = None
            for message in batch:
                if message[0] == REPLY and message[1] == call_id:
                    answer = message
                else:
                    self._pending.append(message)
            if answer is not None:
                break
        if self._pending and self._loop is not None:
            self._loop.call_soon(self._drain)
        _, _, error_kind, value = answer
        if error_kind is None:
            return value
        if error_kind == BanishmentError.__name__:
            raise BanishmentError(value, source=self._config.plugin_id)
        raise RuntimeError(f"{operation}: {error_kind}: {value}")

    def subscribe(self, pattern: str, observer: abc.ObserverBase[SpectralEvent]) -> int:
        """Have the parent forward the events matching `pattern` to `observer`."""
        subscription_id = next(self._subscription_ids)
        self._subscriptions[subscription_id] = observer
        self.emit((SUBSCRIBE, subscription_id, pattern))
        return subscription_id

    def unsubscribe(self, subscription_id: int) -> None:
        """Stop the forwarding set up by `subscribe`."""
        if self._subscriptions.pop(subscription_id, None) is not None:
            self.emit((UNSUBSCRIBE, subscription_id))


class ChildHub:
    """The hub as a sandboxed plugin sees it; the parent checks every request.

    `publish` does not wait: a refused one is logged and announced on `refusals`.
    `on(pattern)` asks the parent at once and raises `BanishmentError` when refused.
    """

    def __init__(self, runner: ChildRunner, owner: CompositeDisposable) -> None:
        self._runner = runner
        self._owner = owner
        self.refusals: Observable[str] = runner.refusals
        """The messages of the refused publish requests."""

    def publish(
        self, topic: str, data: Any = None, *, metadata: EventMetadata | None = None
    ) -> None:
        """Publish on `topic` as this plugin (the parent refuses it without the permission)."""
        self._runner.emit((PUBLISH, topic, data, metadata))

    def on(self, pattern: str) -> Observable[SpectralEvent]:
        """The events matching `pattern`, if a hub:subscribe permission covers all of them."""
        runner = self._runner
        runner.call("may_subscribe", pattern)

        def attach(
            observer: abc.ObserverBase[SpectralEvent], _: abc.SchedulerBase | None
        ) -> abc.DisposableBase:
            subscription_id = runner.subscribe(pattern, observer)
            return Disposable(lambda: runner.unsubscribe(subscription_id))

        return owned_observable(self._owner, attach)


class ChildSettings:
    """The plugin's settings, kept by the parent."""

    def __init__(self, runner: ChildRunner) -> None:
        self._runner = runner

    def get(self, key: str, default: Any = None) -> Any:
        """The plugin's setting `key`, or `default`."""
        return self._runner.call("setting_get", key, default)

    def set(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable setting."""
        self._runner.call("setting_set", key, value)


class _PipeLogHandler(logging.Handler):
    """Sends the plugin's log records to the parent, which logs and publishes them."""

    def __init__(self, runner: ChildRunner) -> None:
        super().__init__()
        self._runner = runner
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self._runner.emit((LOG, record.levelno, self.format(record)))


class ChildContext:
    """What a sandboxed plugin gets for `PluginContext`: the same door, through the channel."""

    def __init__(
        self, runner: ChildRunner, config: ChildConfig, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.plugin_id = config.plugin_id
        self._runner = runner
        self._disposables = CompositeDisposable()
        self.hub = ChildHub(runner, self._disposables)
        self.settings = ChildSettings(runner)
        self.logger = runner.logger
        """Its records go to the app's log (and the hub) through the parent."""
        self.scheduler: abc.SchedulerBase = AsyncIOScheduler(loop)
        """Time-based operators on the child's loop."""

    @property
    def data_dir(self) -> Path:
        """The plugin's own folder (needs the `storage` permission); created on first use."""
        return Path(self._runner.call("data_dir"))

    def require(self, service: str) -> None:
        """Raise `BanishmentError` unless the manifest grants `service`."""
        self._runner.call("require", service)

    def register_disposable(self, disposable: abc.DisposableBase | Callable[[], None]) -> None:
        """Have `disposable` (or a callable) disposed when the plugin is torn down."""
        if callable(disposable) and not isinstance(disposable, abc.DisposableBase):
            disposable = Disposable(disposable)
        self._disposables.add(disposable)

    def dispose(self) -> None:
        """Dispose everything the plugin registered."""
        self._disposables.dispose()


if __name__ == "__main__":
    main()
