"""The Coven panel, loaded by the real plugin manager, over real coven members: each with
its own hub, its own network process, its presence and its bridge on a real mosquitto.

`RealCoven` stands in for the app's coven service with the same real parts; its join and
leave really connect to and leave the broker."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QApplication, QLabel, QListWidget, QTableView, QWidget
from reactivex import Observable
from reactivex import operators as ops
from reactivex.subject import BehaviorSubject

from phantom_coven._qt.panel import CovenPanel
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.settings import Settings
from phantom_gui.coven.auth import AuthService
from phantom_gui.coven.bridge import CovenBridge, with_bridge
from phantom_gui.coven.claims import Claims
from phantom_gui.coven.envelope import new_envelope, seal
from phantom_gui.coven.presence import Members, Presence, own_status, with_presence
from phantom_gui.coven.topics import events_topic
from phantom_gui.coven.traffic import Traffic
from phantom_gui.mqtt.messages import MqttMessage, message_topic
from phantom_gui.mqtt.network_process import ProcessConnection
from phantom_gui.mqtt.retained import RetainedMessages
from phantom_gui.mqtt.states import subscription_topic
from phantom_gui.plugins.manager import PluginManager

from support.mosquitto import MosquittoBroker
from support.waiting import until

pytestmark = pytest.mark.screen

COVEN = "lab"
SECRET = "s" * 40
SHARES = ("chat/#",)
WAIT_MS = 15_000


class State:
    """A coven state as the service gives it."""

    def __init__(self, status: str, reason: str = "") -> None:
        self.status = status
        self.reason = reason


class RealCoven:
    """A coven member made of the real parts, with the `coven` service's members."""

    def __init__(self, loop: asyncio.AbstractEventLoop, broker: MosquittoBroker, name: str):
        self.loop = loop
        self.broker = broker
        self.name = name
        self.hub = EventHub(loop)
        self.retained = RetainedMessages(self.hub)
        auth = AuthService(SECRET)
        self.token = auth.generate_token({"name": name, "role": "user"})
        self._auth = auth
        self.coven: str | None = None
        self.instance: str | None = None
        self.claims: Claims | None = None
        self.members: Members | None = None
        self.bridge: CovenBridge | None = None
        self.broadcasts: list[Any] = []
        self._states: BehaviorSubject[State] = BehaviorSubject(State("left"))
        self._connection: ProcessConnection | None = None
        self._presence: Presence | None = None
        self.subscribed = False
        self.hub.on(subscription_topic(name)).subscribe(self._granted)

    def _granted(self, _: SpectralEvent) -> None:
        self.subscribed = True

    @property
    def traffic(self) -> Traffic | None:
        return None if self.bridge is None else self.bridge.traffic

    @property
    def state(self) -> State:
        return self._states.value

    def states(self) -> Observable[State]:
        return self._states

    async def join(self, coven: str) -> None:
        self.coven, self.instance = coven, f"{self.name}-0123abcd"
        self._states.on_next(State("joining"))
        status = own_status(
            self.instance, f"Bench {self.name}", "desktop", ("phantom_coven",), shares=SHARES
        )
        config = self.broker.config(id=self.name, client_id=f"phantom-{self.instance}")
        config = with_presence(with_bridge(config, coven), coven, status)
        connection = self._connection = ProcessConnection(config, self.hub)
        self._presence = Presence(self.hub, connection, coven, status)
        self.members = Members(coven)
        self.members.follow(self.retained.messages(self.name))
        messages = self.hub.on(message_topic(self.name)).pipe(ops.map(_message))
        self.bridge = CovenBridge(
            self.hub,
            connection,
            messages,
            coven=coven,
            instance=self.instance,
            auth=self._auth,
            token=self.token,
            shares=SHARES,
            members=self.members,
        )
        self.claims = self._auth.verify(self.token)
        self._presence.start()
        self.bridge.start()
        connection.connect()
        self._states.on_next(State("joined"))

    async def leave(self) -> None:
        if self._presence is not None:
            await asyncio.to_thread(self._presence.leave)
        if self.bridge is not None:
            self.bridge.stop()
        if self._connection is not None:
            await asyncio.to_thread(self._connection.disconnect)
        self._connection = self._presence = self.bridge = self.members = None
        self.coven = self.instance = self.claims = None
        self._states.on_next(State("left", "left by the user"))

    def close(self) -> None:
        if self._connection is not None:
            self._connection.disconnect()


def _message(event: SpectralEvent) -> MqttMessage:
    message: MqttMessage = event.data
    return message


@pytest.fixture
def members(qt_loop, mosquitto: MosquittoBroker) -> Iterator[dict[str, RealCoven]]:  # type: ignore[no-untyped-def]
    made = {name: RealCoven(qt_loop, mosquitto, name) for name in ("attic", "cellar")}
    yield made
    for member in made.values():
        member.close()


@pytest.fixture
def manager(members: dict[str, RealCoven], tmp_path: Path, run_on_loop) -> Iterator[PluginManager]:  # type: ignore[no-untyped-def]
    """The real plugin manager, offering attic's coven as the `coven` service."""
    manager = PluginManager(
        members["attic"].hub,
        Settings(tmp_path / "settings.json"),
        tmp_path / "plugin-data",
        services={"coven": members["attic"]},
    )
    manager.discover()
    yield manager
    run_on_loop(manager.shutdown())


def open_panel(qtbot, manager: PluginManager, run_on_loop) -> CovenPanel:  # type: ignore[no-untyped-def]
    plugin = run_on_loop(manager.activate("phantom_coven")).instance
    panel: CovenPanel = plugin.create_panel(None)
    qtbot.addWidget(panel)
    panel.resize(1100, 640)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def member_rows(panel: CovenPanel) -> dict[str, tuple[str, bool]]:
    """Instance → (name cell, online) as the members table shows them."""
    table = panel.members
    shown = {}
    for row in range(table.rowCount()):
        instance = table.index(row, 2).data()
        colour = table.index(row, 0).data(Qt.ItemDataRole.ForegroundRole)
        since = table.index(row, 7).data()
        shown[instance] = (table.index(row, 1).data(), since.startswith("online"))
        assert colour.name() == ("#7dffb2" if since.startswith("online") else "#8d84a0")
    return shown


def flow_cells(panel: CovenPanel) -> dict[tuple[str, str], tuple[str, str]]:
    table = panel.flows
    return {
        (table.index(r, 0).data(), table.index(r, 1).data()): (
            table.index(r, 2).data(),
            table.index(r, 3).data(),
        )
        for r in range(table.rowCount())
    }


def received_rate(panel: CovenPanel, member: str) -> float:
    table = panel.flows
    rates = [
        float(table.index(r, 5).data())
        for r in range(table.rowCount())
        if table.index(r, 0).data() == member
    ]
    return sum(rates)


def every_text(panel: QWidget) -> str:
    """All the text the panel shows: labels, list items, table cells and tooltips."""
    texts = [label.text() for label in panel.findChildren(QLabel)]
    for widget in panel.findChildren(QListWidget):
        texts += [widget.item(row).text() for row in range(widget.count())]
    for view in panel.findChildren(QTableView):
        model = view.model()
        for row in range(model.rowCount()):
            for column in range(model.columnCount()):
                index = model.index(row, column)
                texts += [str(index.data()), str(index.data(Qt.ItemDataRole.ToolTipRole))]
    texts += [widget.toolTip() for widget in panel.findChildren(QWidget)]
    return "\n".join(texts)


def raw_publish(broker: MosquittoBroker, topic: str, payload: bytes) -> None:
    client = Client(CallbackAPIVersion.VERSION2, client_id=f"raw-{time.monotonic_ns()}")
    client.connect(broker.host, broker.port)
    client.loop_start()
    try:
        client.publish(topic, payload, qos=1).wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()


def test_the_panel_shows_both_members_online_and_one_offline_when_it_leaves(
    qtbot, manager: PluginManager, members: dict[str, RealCoven], run_on_loop
) -> None:
    attic, cellar = members["attic"], members["cellar"]
    run_on_loop(attic.join(COVEN))
    run_on_loop(cellar.join(COVEN))
    panel = open_panel(qtbot, manager, run_on_loop)

    both = {
        "attic-0123abcd": ("Bench attic (this instance)", True),
        "cellar-0123abcd": ("Bench cellar", True),
    }
    qtbot.waitUntil(lambda: member_rows(panel) == both, timeout=WAIT_MS)
    assert panel.state_label.text() == "Joined to lab as attic-0123abcd"
    assert panel.token_label.text().startswith("Token: attic · user · expires ")
    assert not panel.join_button.isEnabled() and panel.leave_button.isEnabled()

    run_on_loop(cellar.leave())
    qtbot.waitUntil(
        lambda: member_rows(panel)["cellar-0123abcd"] == ("Bench cellar", False), timeout=WAIT_MS
    )
    assert member_rows(panel)["attic-0123abcd"][1]
    panel.grab().save("/tmp/coven_panel.png")


def test_a_forged_envelope_shows_as_a_refusal_with_its_kind_and_member_and_no_token(
    qtbot, manager: PluginManager, members: dict[str, RealCoven], mosquitto, run_on_loop
) -> None:
    attic = members["attic"]
    run_on_loop(attic.join(COVEN))
    panel = open_panel(qtbot, manager, run_on_loop)
    qtbot.waitUntil(lambda: "attic-0123abcd" in member_rows(panel), timeout=WAIT_MS)

    forged = AuthService("not the coven secret " * 2).generate_token(
        {"name": "intruder", "role": "admin"}
    )
    envelope = new_envelope("chat/x", {"x": 1}, source="intruder-1", sequence=1, token=forged)
    raw_publish(mosquitto, events_topic(COVEN, "intruder-1"), seal(envelope))

    qtbot.waitUntil(lambda: panel.refusals.count() == 1, timeout=WAIT_MS)
    line = panel.refusals.item(0).text()
    assert line.startswith("intruder-1 · chat/x · token: ")
    assert "token 1" in panel.refused_counts.text()
    assert "by member: intruder-1 1" in panel.refused_counts.text()
    shown = every_text(panel)
    assert forged not in shown and attic.token not in shown
    for part in (*forged.split("."), *attic.token.split(".")):
        assert part not in shown


def test_traffic_counts_move_as_events_cross(
    qtbot, manager: PluginManager, members: dict[str, RealCoven], run_on_loop
) -> None:
    attic, cellar = members["attic"], members["cellar"]
    run_on_loop(attic.join(COVEN))
    run_on_loop(cellar.join(COVEN))
    panel = open_panel(qtbot, manager, run_on_loop)
    qtbot.waitUntil(lambda: len(member_rows(panel)) == 2, timeout=WAIT_MS)
    assert cellar.bridge is not None and attic.bridge is not None
    qtbot.waitUntil(lambda: attic.subscribed and cellar.subscribed, timeout=WAIT_MS)

    for n in range(3):
        cellar.hub.publish("chat/hello", {"n": n}, source="test")
    qtbot.waitUntil(
        lambda: flow_cells(panel).get(("cellar-0123abcd", "chat/hello")) == ("0", "3"),
        timeout=WAIT_MS,
    )
    attic.hub.publish("chat/reply", "boo", source="test")
    qtbot.waitUntil(
        lambda: flow_cells(panel).get(("attic-0123abcd", "chat/reply")) == ("1", "0"),
        timeout=WAIT_MS,
    )
    qtbot.waitUntil(lambda: received_rate(panel, "cellar-0123abcd") > 0, timeout=WAIT_MS)
    panel.grab().save("/tmp/coven_panel_traffic.png")


def test_opening_and_closing_the_panel_three_times_leaves_nothing_behind(
    qtbot, manager: PluginManager, members: dict[str, RealCoven], run_on_loop
) -> None:
    attic = members["attic"]
    states = attic.states()
    assert isinstance(states, BehaviorSubject)
    plugin = run_on_loop(manager.activate("phantom_coven")).instance
    following = len(states.observers)
    assert following == 1, "the plugin follows the service's states"
    for _ in range(3):
        panel = plugin.create_panel(None)
        panel.show()
        qtbot.waitExposed(panel)
        panel.close()
        panel.deleteLater()
        del panel
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        gc.collect()
        assert len(states.observers) == following
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, CovenPanel)]
    run_on_loop(manager.deactivate("phantom_coven"))
    assert not states.observers


def test_join_and_leave_buttons_join_and_leave_the_coven(
    qtbot, manager: PluginManager, members: dict[str, RealCoven], run_on_loop
) -> None:
    cellar = members["cellar"]
    run_on_loop(cellar.join(COVEN))
    panel = open_panel(qtbot, manager, run_on_loop)
    assert panel.state_label.text() == "Not in a coven"
    assert panel.join_button.isEnabled() and not panel.leave_button.isEnabled()

    qtbot.mouseClick(panel.join_button, Qt.MouseButton.LeftButton)
    assert panel.coven_field.isVisible()
    qtbot.mouseClick(panel.join_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.problem_label.isVisible())
    assert "the coven name is empty" in panel.problem_label.text()

    qtbot.keyClicks(panel.coven_field, COVEN)
    qtbot.keyClick(panel.coven_field, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: panel.state_label.text() == "Joined to lab as attic-0123abcd", timeout=WAIT_MS
    )
    assert not panel.problem_label.isVisible() and not panel.coven_field.isVisible()
    qtbot.waitUntil(lambda: len(member_rows(panel)) == 2, timeout=WAIT_MS)
    assert cellar.members is not None
    qtbot.waitUntil(lambda: cellar.members.statuses["attic-0123abcd"].online, timeout=WAIT_MS)

    qtbot.mouseClick(panel.leave_button, Qt.MouseButton.LeftButton)
    left = "Not in a coven (left by the user)"
    run_on_loop(until(lambda: panel.state_label.text() == left, timeout=15), timeout=20)
    qtbot.waitUntil(lambda: not cellar.members.statuses["attic-0123abcd"].online, timeout=WAIT_MS)
    assert member_rows(panel) == {} and panel.token_label.text() == "No token"
