"""Tie reactive subscriptions to the lifetime of the widget that owns them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import QObject
from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable

T = TypeVar("T")


class Subscriptions:
    """The subscriptions of one view: all disposed together, at the latest when it dies."""

    def __init__(self, owner: QObject) -> None:
        self._disposables = CompositeDisposable()
        owner.destroyed.connect(self._disposables.dispose)

    def bind(self, source: Observable[T], on_next: Callable[[T], None]) -> abc.DisposableBase:
        """Subscribe `on_next` to `source` for as long as the owner lives."""
        subscription = source.subscribe(on_next)
        self._disposables.add(subscription)
        return subscription

    def dispose(self) -> None:
        """Stop every subscription now."""
        self._disposables.dispose()
