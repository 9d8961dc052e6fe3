"""Subscriptions with an owner: what a plugin subscribes to ends when the plugin does."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable

T = TypeVar("T")

Attach = Callable[[abc.ObserverBase[T], abc.SchedulerBase | None], abc.DisposableBase]
"""Subscribes an observer to the underlying source and returns how to undo it."""


def owned_observable(owner: CompositeDisposable, attach: Attach[T]) -> Observable[T]:
    """An observable whose every subscription is also held by `owner`: disposing the owner
    ends them all, and disposing one lets go of it in the owner too."""

    def subscribe(
        observer: abc.ObserverBase[T], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        inner = attach(observer, scheduler)
        owner.add(inner)

        def release() -> None:
            inner.dispose()
            owner.remove(inner)

        return Disposable(release)

    return Observable(subscribe)
