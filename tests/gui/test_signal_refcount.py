"""Regression guard for PySide6 6.12.0, whose Signal.emit leaked a reference to
True/False on every call and aborted CPython 3.11 after a few hundred emits."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QObject, Signal

EMITS = 100_000

pytestmark = pytest.mark.screen


class _Flag(QObject):
    changed = Signal(bool)


def test_emitting_a_bool_signal_100k_times_keeps_the_refcount_of_true(qapp) -> None:
    flag = _Flag()
    received = []
    flag.changed.connect(received.append)
    before_true, before_false = sys.getrefcount(True), sys.getrefcount(False)
    for index in range(EMITS):
        flag.changed.emit(index % 2 == 0)
    received.clear()
    assert abs(sys.getrefcount(True) - before_true) < 100
    assert abs(sys.getrefcount(False) - before_false) < 100


def test_the_installed_pyside6_is_not_the_crashing_release() -> None:
    import PySide6

    major, minor = (int(part) for part in PySide6.__version__.split(".")[:2])
    assert (major, minor) < (6, 12), f"PySide6 {PySide6.__version__} aborts CPython 3.11"
