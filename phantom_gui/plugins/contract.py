"""The plugin contract (the seed's IPlugin), written down as a Protocol and checked at load."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import reactivex
from reactivex import Observable

from phantom_gui.core.errors import ManifestationError
from phantom_gui.core.events import SpectralEvent

if TYPE_CHECKING:
    from phantom_gui.plugins.context import PluginContext

REQUIRED_METHODS = {"init": 1, "process": 1, "teardown": 0}
"""Method name → how many arguments it takes (besides self)."""

OPTIONAL_METHODS = {
    "haunt": 0,
    "manifest_disturbance": 0,
    "create_panel": 1,
    "snapshot": 0,
    "restore": 1,
}


@runtime_checkable
class HauntPack(Protocol):
    """What every plugin implements.

    - `init(context)` is called once when the plugin is activated; it may be a coroutine.
    - `process(event)` receives each event on the topics the manifest `consumes` and
      returns an Observable of `(topic, data)` pairs to publish (or nothing).
    - `teardown()` releases what `init` took (subscriptions registered with the
      context are disposed by the app); it may be a coroutine.

    Optional: `haunt() -> Observable` (called with the manifest's haunt_probability
    per haunt tick), `manifest_disturbance() -> bool`, `create_panel(parent) -> QWidget`,
    `snapshot() -> object` and `restore(state)` to keep state across a hot reload.
    """

    def init(self, context: PluginContext) -> Awaitable[None] | None: ...

    def process(self, event: SpectralEvent) -> Observable[Any] | None: ...

    def teardown(self) -> Awaitable[None] | None: ...


class Plugin:
    """A convenient base class: keeps the context and does nothing by default."""

    context: PluginContext

    def init(self, context: PluginContext) -> None:
        """Keep the context for later use."""
        self.context = context

    def process(self, event: SpectralEvent) -> Observable[Any] | None:
        """Ignore the event."""
        return reactivex.empty()

    def teardown(self) -> None:
        """Nothing to release."""


def check_contract(instance: object, where: str) -> None:
    """Raise `ManifestationError` listing every way `instance` breaks the contract."""
    problems = []
    for name, arity in REQUIRED_METHODS.items():
        problems.extend(_method_problems(instance, name, arity, required=True))
    for name, arity in OPTIONAL_METHODS.items():
        problems.extend(_method_problems(instance, name, arity, required=False))
    if problems:
        raise ManifestationError(
            f"{where} does not implement the plugin contract: " + "; ".join(problems),
            source=where,
        )


def _method_problems(instance: object, name: str, arity: int, *, required: bool) -> list[str]:
    method = getattr(instance, name, None)
    if method is None:
        return [f"missing {name}()"] if required else []
    if not callable(method):
        return [f"{name} is not callable"]
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):
        return []
    try:
        signature.bind(*([None] * arity))
    except TypeError:
        return [f"{name}() must accept {arity} argument(s) besides self"]
    return []
