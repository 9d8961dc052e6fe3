"""A closed Cauldron panel stops following the MQTT connections' states."""

from __future__ import annotations

import gc

from PySide6.QtCore import QCoreApplication, QEvent
from reactivex.subject import BehaviorSubject

from phantom_cauldron._qt.panel import CauldronPanel
from phantom_cauldron.series import SeriesStore
from phantom_cauldron.topics import TopicTree


def test_a_deleted_panel_no_longer_hears_the_connections(qtbot) -> None:  # type: ignore[no-untyped-def]
    states: BehaviorSubject[object] = BehaviorSubject(None)
    panel = CauldronPanel(SeriesStore(), TopicTree())
    panel.follow_connections(states)
    assert states.observers, "the panel follows the connections"
    panel.close()
    panel.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    del panel
    gc.collect()
    assert not states.observers
