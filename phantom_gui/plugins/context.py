"""`PluginContext`: the only door from a plugin to the app, limited by its permissions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable

from phantom_gui.core.errors import BanishmentError, ManifestationError
from phantom_gui.core.events import EventMetadata, SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.limits import Limiter
from phantom_gui.core.ownership import owned_observable
from phantom_gui.core.settings import M, Settings, SettingsModel
from phantom_gui.core.topics import validate_pattern, validate_topic
from phantom_gui.plugins.permissions import PermissionSet

T = TypeVar("T")

SECURITY_TOPIC = "security/banishment"
"""Where every refused plugin action is published."""
PUBLISH_CHUNK = 32
"""How many publishes a plugin takes from its limiter at once while it has that much
budget (one call per event would cost a tenth of a publish)."""

log = logging.getLogger("phantom.plugins.security")


class Banisher:
    """Refuses an action: publishes a security event, logs it, raises `BanishmentError`."""

    def __init__(self, hub: EventHub, plugin_id: str) -> None:
        self._hub = hub
        self._plugin_id = plugin_id
        self.refusals = 0

    def refuse(self, action: str, target: str, needed: str) -> BanishmentError:
        """Record the refusal and return the error for the caller to raise."""
        self.refusals += 1
        message = f"plugin {self._plugin_id} may not {action} {target!r}: needs permission {needed}"
        log.warning(message)
        self._hub.publish(
            SECURITY_TOPIC,
            {"plugin": self._plugin_id, "action": action, "target": target, "needed": needed},
            source="plugins",
        )
        return BanishmentError(message, source=self._plugin_id)

    def throttle(self, topic: str, reported: bool) -> BanishmentError:
        """Refuse a publish over the plugin's rate limit, recording it unless `reported`
        already (once each time the plugin becomes blocked, not once per event)."""
        self.refusals += 1
        message = (
            f"plugin {self._plugin_id} may not publish on {topic!r}: it publishes faster "
            "than its rate limit allows"
        )
        if not reported:
            log.warning("%s; its events are refused until its budget refills", message)
            self._hub.publish(
                SECURITY_TOPIC,
                {
                    "plugin": self._plugin_id,
                    "action": "publish on",
                    "target": topic,
                    "needed": "rate limit",
                },
                source="plugins",
            )
        return BanishmentError(message, source=self._plugin_id)


class ScopedHub:
    """The hub as one plugin sees it: only the topics its permissions grant.

    Subscriptions made here belong to the plugin and end at its teardown. With a
    `limiter`, each publish spends from the plugin's budget (keyed by its id), taken
    `PUBLISH_CHUNK` at a time while it lasts and then one by one; a publish over it is
    refused, and reported once each time the plugin becomes blocked.
    """

    def __init__(
        self,
        hub: EventHub,
        plugin_id: str,
        permissions: PermissionSet,
        banisher: Banisher,
        owner: CompositeDisposable,
        limiter: Limiter | None = None,
    ) -> None:
        self._hub = hub
        self._plugin_id = plugin_id
        self._permissions = permissions
        self._banisher = banisher
        self._owner = owner
        self._limiter = limiter
        self._credit = 0
        self._blocked = False

    def publish(
        self, topic: str, data: Any = None, *, metadata: EventMetadata | None = None
    ) -> SpectralEvent:
        """Publish on `topic` as this plugin, if a hub:publish permission covers it."""
        self._check_publish(topic)
        return self._hub.publish(topic, data, source=self._plugin_id, metadata=metadata)

    def is_heard(self, topic: str) -> bool:
        """Whether an event on `topic` would reach anyone now (see `EventHub.is_heard`)."""
        return self._hub.is_heard(topic)

    def publish_threadsafe(
        self, topic: str, data: Any = None, *, metadata: EventMetadata | None = None
    ) -> SpectralEvent:
        """`publish` from any thread (see `EventHub.publish_threadsafe`)."""
        self._check_publish(topic)
        return self._hub.publish_threadsafe(topic, data, source=self._plugin_id, metadata=metadata)

    def call_soon_threadsafe(self, callback: Callable[[], object]) -> None:
        """Run `callback` on the hub's thread, from any thread."""
        self._hub.call_soon_threadsafe(callback)

    def call_later(self, delay: float, callback: Callable[[], object]) -> asyncio.TimerHandle:
        """Run `callback` on the hub's thread in `delay` seconds; `cancel()` the handle to
        call it off."""
        return self._hub.call_later(delay, callback)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop whose thread owns the hub, for a panel's coroutines."""
        return self._hub.loop

    def on(self, pattern: str) -> Observable[SpectralEvent]:
        """The events matching `pattern`, if a hub:subscribe permission covers all of them."""
        validate_pattern(pattern)
        if not self._permissions.may_subscribe(pattern):
            raise self._banisher.refuse("subscribe to", pattern, f"hub:subscribe:{pattern}")
        return owned(self._owner, self._hub.on(pattern))

    def get_state(self, key: Hashable, default: Any = None) -> Any:
        """Read the shared blackboard."""
        return self._hub.get_state(key, default)

    def select(self, key: Hashable) -> Observable[Any]:
        """Observe a blackboard key (see `EventHub.select`)."""
        return self._hub.select(key)

    def _check_publish(self, topic: str) -> None:
        validate_topic(topic)
        if not self._permissions.may_publish(topic):
            raise self._banisher.refuse("publish on", topic, f"hub:publish:{topic}")
        if self._credit:
            self._credit -= 1
            return
        limiter = self._limiter
        if limiter is None:
            return
        if limiter.allow(self._plugin_id, PUBLISH_CHUNK):
            self._credit = PUBLISH_CHUNK - 1
        elif not limiter.allow(self._plugin_id):
            reported, self._blocked = self._blocked, True
            raise self._banisher.throttle(topic, reported)
        self._blocked = False


class PluginSettings:
    """A plugin's own corner of the app settings."""

    def __init__(self, settings: Settings, plugin_id: str) -> None:
        self._settings = settings
        self.section = f"plugin/{plugin_id}"
        """The plugin's section of the settings file."""

    def get(self, key: str, default: Any = None) -> Any:
        """The plugin's setting `key`, or `default`."""
        return self._settings.section(self.section).get(key, default)

    def set(self, key: str, value: Any) -> None:
        """Store a JSON-serialisable setting."""
        self._settings.write_section(
            self.section, {**self._settings.section(self.section), key: value}
        )

    def load(self, model: type[M]) -> M:
        """The plugin's settings as its own typed model, migrated and validated."""
        return self._settings.load(model, section=self.section)

    def save(self, value: SettingsModel) -> None:
        """Write the plugin's typed settings."""
        self._settings.save(value, section=self.section)


@dataclass(frozen=True)
class AudioAccess:
    """The ``audio`` service: whether plugins may open sound devices in this run
    (``phantom --no-audio`` says no)."""

    enabled: bool = True


class PluginContext:
    """Everything a plugin may reach: a scoped hub, settings, a data folder, a logger, and
    the run's `seed` (``--seed``) for draws that a run with the same seed repeats.

    `limiter` bounds how fast the plugin may publish (see `ScopedHub`).
    """

    def __init__(
        self,
        plugin_id: str,
        hub: EventHub,
        permissions: PermissionSet,
        settings: Settings,
        data_root: Path,
        scheduler: abc.SchedulerBase | None = None,
        services: Mapping[str, Any] | None = None,
        *,
        seed: int = 0,
        limiter: Limiter | None = None,
    ) -> None:
        self.plugin_id = plugin_id
        self.seed = seed
        self._services = dict(services or {})
        self.permissions = permissions
        self.banisher = Banisher(hub, plugin_id)
        self._disposables = CompositeDisposable()
        self.hub = ScopedHub(hub, plugin_id, permissions, self.banisher, self._disposables, limiter)
        self.settings = PluginSettings(settings, plugin_id)
        self.logger = logging.getLogger(f"phantom.plugin.{plugin_id}")
        self.scheduler = scheduler
        self._data_dir = data_root / plugin_id

    @property
    def data_dir(self) -> Path:
        """The plugin's own folder (needs the `storage` permission); created on first use."""
        self.require("storage")
        self._data_dir.mkdir(parents=True, exist_ok=True)
        return self._data_dir

    def require(self, service: str) -> None:
        """Raise `BanishmentError` unless the manifest grants `service`."""
        if not self.permissions.may_use(service):
            raise self.banisher.refuse("use", service, service)

    def service(self, name: str) -> Any:
        """An app service the manifest grants (e.g. ``audit``: read and replay the log)."""
        self.require(name)
        if name not in self._services:
            raise ManifestationError(f"this app offers no {name!r} service", source=self.plugin_id)
        return self._services[name]

    def open_run(self, kind: str, name: str, **info: Any) -> Any:
        """Start a recorded run of this plugin (a séance, a brew...) in the audit log."""
        audit = self._services.get("audit")
        if audit is None:
            raise ManifestationError("this app keeps no audit log", source=self.plugin_id)
        return audit.open_run(kind, name, source=self.plugin_id, **info)

    def owned(self, source: Observable[T]) -> Observable[T]:
        """`source` (a service's stream, say), its subscriptions ending at the plugin's
        teardown at the latest, like those made on `hub`."""
        return owned(self._disposables, source)

    def record(self, pattern: str) -> None:
        """Keep this plugin's events matching `pattern` in the audit log until teardown."""
        validate_pattern(pattern)
        if not self.permissions.may_publish_all(pattern):
            raise self.banisher.refuse("record", pattern, f"hub:publish:{pattern}")
        audit = self._services.get("audit")
        if audit is not None and audit.recorder is not None:
            self.register_disposable(audit.recorder.record(pattern))

    def register_disposable(self, disposable: abc.DisposableBase | Callable[[], None]) -> None:
        """Have `disposable` (or a callable) disposed when the plugin is torn down."""
        if callable(disposable) and not isinstance(disposable, abc.DisposableBase):
            disposable = Disposable(disposable)
        self._disposables.add(disposable)

    def dispose(self) -> None:
        """Dispose everything the plugin registered; called by the plugin manager."""
        self._disposables.dispose()


def owned(owner: CompositeDisposable, source: Observable[T]) -> Observable[T]:
    """`source`, each of its subscriptions also held by `owner`."""
    return owned_observable(
        owner, lambda observer, scheduler: source.subscribe(observer, scheduler=scheduler)
    )
