"""The Coven panel in a real main window over the app's real `CovenService`, with a second
member in the same process: another `CovenService` over its own hub and MQTT connection,
both on a real mosquitto."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QApplication, QLabel, QListWidget, QTableView, QWidget
from reactivex.subject import BehaviorSubject

from phantom_coven._qt.panel import CovenPanel
from phantom_gui.core.hub import EventHub
from phantom_gui.core.settings import Settings
from phantom_gui.coven.auth import AuthService
from phantom_gui.coven.envelope import new_envelope, seal
from phantom_gui.coven.service import CONNECTION_ID, CovenService
from phantom_gui.coven.settings import CovenSettings
from phantom_gui.coven.topics import events_topic
from phantom_gui.mqtt.service import MqttService
from phantom_gui.mqtt.states import subscription_topic

from support.mosquitto import MosquittoBroker
from support.waiting import until

pytestmark = pytest.mark.screen

COVEN = "lab"
SECRET = "s" * 40
SHARES = ("chat/#", "coven/broadcast")
WAIT_MS = 15_000


def member_settings(data: Path, name: str, broker: MosquittoBroker) -> Settings:
    """A data folder whose settings name the member and the coven's broker."""
    data.mkdir(parents=True, exist_ok=True)
    settings = Settings(data / "settings.json")
    url = f"mqtt://{broker.host}:{broker.port}"
    settings.save(CovenSettings(member_name=name, broker=url, shares=SHARES))
    return settings


class Member:
    """Another coven member in this process: its own hub, MQTT service and coven service."""

    def __init__(self, loop: asyncio.AbstractEventLoop, settings: Settings) -> None:
        self.hub = EventHub(loop)
        self.mqtt = MqttService(self.hub, settings)
        self.mqtt.start()
        self.coven = CovenService(self.hub, self.mqtt, settings)
        self.subscribed = False
        self.hub.on(subscription_topic(CONNECTION_ID)).subscribe(self._granted)

    def _granted(self, _: object) -> None:
        self.subscribed = True

    async def close(self) -> None:
        await self.coven.leave()
        await self.mqtt.stop()


@pytest.fixture(autouse=True)
def coven_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHANTOM_COVEN_SECRET", SECRET)


@pytest.fixture
def window(make_main_window, mosquitto: MosquittoBroker, tmp_path: Path) -> Any:  # type: ignore[no-untyped-def]
    """A main window whose member is ``attic``."""
    data = tmp_path / "attic"
    member_settings(data, "attic", mosquitto)
    return make_main_window(data_dir=data)


@pytest.fixture
def attic(window: Any) -> CovenService:
    service: CovenService = window._services.coven
    return service


@pytest.fixture
def cellar(qt_loop, mosquitto: MosquittoBroker, tmp_path: Path) -> Iterator[Member]:  # type: ignore[no-untyped-def]
    member = Member(qt_loop, member_settings(tmp_path / "cellar", "cellar", mosquitto))
    yield member
    qt_loop.run_until_complete(asyncio.wait_for(member.close(), 20))


def open_panel(qtbot, window: Any) -> CovenPanel:  # type: ignore[no-untyped-def]
    """The Coven panel in its dock, as the Coven menu entry opens it."""
    window.plugin_docks.toggle("phantom_coven")
    qtbot.waitUntil(lambda: "phantom_coven" in window.plugin_docks.docks, timeout=WAIT_MS)
    panel = window.plugin_docks.docks["phantom_coven"].findChild(CovenPanel, "covenPanel")
    assert isinstance(panel, CovenPanel)
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


def shown_broadcasts(panel: CovenPanel) -> list[str]:
    return [panel.broadcasts.item(row).text() for row in range(panel.broadcasts.count())]


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


def test_the_panel_shows_both_members_online_and_one_offline_when_it_leaves(
    qtbot, window: Any, attic: CovenService, cellar: Member, run_on_loop
) -> None:
    run_on_loop(attic.join(COVEN))
    run_on_loop(cellar.coven.join(COVEN))
    panel = open_panel(qtbot, window)
    ours, theirs = attic.instance, cellar.coven.instance
    assert ours is not None and theirs is not None

    both = {ours: ("attic (this instance)", True), theirs: ("cellar", True)}
    qtbot.waitUntil(lambda: member_rows(panel) == both, timeout=WAIT_MS)
    assert panel.state_label.text() == f"Joined to lab as {ours}"
    assert panel.token_label.text().startswith("Token: attic · user · expires ")
    assert not panel.join_button.isEnabled() and panel.leave_button.isEnabled()

    run_on_loop(cellar.coven.leave())
    qtbot.waitUntil(lambda: member_rows(panel)[theirs] == ("cellar", False), timeout=WAIT_MS)
    assert member_rows(panel)[ours][1]


def test_a_forged_envelope_shows_as_a_refusal_with_its_kind_and_member_and_no_token(
    qtbot, window: Any, attic: CovenService, mosquitto: MosquittoBroker, run_on_loop
) -> None:
    own_token = (
        CovenSettings().auth_service(SECRET).generate_token({"name": "attic", "role": "user"})
    )
    run_on_loop(attic.join(COVEN, token=own_token))
    panel = open_panel(qtbot, window)
    ours = attic.instance
    qtbot.waitUntil(lambda: ours in member_rows(panel), timeout=WAIT_MS)

    forged = AuthService("not the coven secret " * 2).generate_token(
        {"name": "intruder", "role": "admin"}
    )
    envelope = new_envelope("chat/x", {"x": 1}, source="intruder-1", sequence=1, token=forged)
    mosquitto.publish(events_topic(COVEN, "intruder-1"), seal(envelope))

    qtbot.waitUntil(lambda: panel.refusals.count() == 1, timeout=WAIT_MS)
    line = panel.refusals.item(0).text()
    assert line.startswith("intruder-1 · chat/x · token: ")
    assert "token 1" in panel.refused_counts.text()
    assert "by member: intruder-1 1" in panel.refused_counts.text()
    shown = every_text(panel)
    assert forged not in shown and own_token not in shown
    for part in (*forged.split("."), *own_token.split(".")):
        assert part not in shown


def test_traffic_counts_move_as_events_cross(
    qtbot, window: Any, attic: CovenService, cellar: Member, run_on_loop
) -> None:
    run_on_loop(attic.join(COVEN))
    run_on_loop(cellar.coven.join(COVEN))
    panel = open_panel(qtbot, window)
    ours, theirs = attic.instance, cellar.coven.instance
    qtbot.waitUntil(lambda: len(member_rows(panel)) == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: cellar.subscribed and attic.state.status == "joined", timeout=WAIT_MS)
    attic_hub = window._services.hub

    for n in range(3):
        cellar.hub.publish("chat/hello", {"n": n}, source="test")
    qtbot.waitUntil(
        lambda: flow_cells(panel).get((theirs, "chat/hello")) == ("0", "3"), timeout=WAIT_MS
    )
    attic_hub.publish("chat/reply", "boo", source="test")
    qtbot.waitUntil(
        lambda: flow_cells(panel).get((ours, "chat/reply")) == ("1", "0"), timeout=WAIT_MS
    )
    qtbot.waitUntil(lambda: received_rate(panel, theirs) > 0, timeout=WAIT_MS)


def test_a_broadcast_from_another_member_shows_in_the_broadcasts_list(
    qtbot, window: Any, attic: CovenService, cellar: Member, run_on_loop
) -> None:
    run_on_loop(attic.join(COVEN))
    run_on_loop(cellar.coven.join(COVEN, role="moderator"))
    panel = open_panel(qtbot, window)
    qtbot.waitUntil(lambda: len(member_rows(panel)) == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: cellar.coven.state.status == "joined", timeout=WAIT_MS)
    assert shown_broadcasts(panel) == []

    run_on_loop(cellar.coven.broadcast("the moon is up"))
    qtbot.waitUntil(lambda: shown_broadcasts(panel) == ["cellar: the moon is up"], timeout=WAIT_MS)
    [heard] = attic.broadcasts
    assert (heard.sender, heard.instance) == ("cellar", cellar.coven.instance)


def test_opening_and_closing_the_panel_three_times_leaves_nothing_behind(
    qtbot, window: Any, attic: CovenService, run_on_loop
) -> None:
    manager = window._services.plugins
    states = attic.states()
    assert isinstance(states, BehaviorSubject)
    before = len(states.observers)
    plugin = run_on_loop(manager.activate("phantom_coven")).instance
    following = len(states.observers)
    assert following == before + 1, "the plugin follows the service's states"
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
    assert [w for w in QApplication.topLevelWidgets() if isinstance(w, CovenPanel)] == []
    run_on_loop(manager.deactivate("phantom_coven"))
    assert len(states.observers) == before


def test_join_and_leave_buttons_join_and_leave_the_coven(
    qtbot, window: Any, attic: CovenService, cellar: Member, run_on_loop
) -> None:
    run_on_loop(cellar.coven.join(COVEN))
    panel = open_panel(qtbot, window)
    assert panel.state_label.text() == "Not in a coven"
    assert panel.join_button.isEnabled() and not panel.leave_button.isEnabled()

    qtbot.mouseClick(panel.join_button, Qt.MouseButton.LeftButton)
    assert panel.coven_field.isVisible()
    qtbot.mouseClick(panel.join_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.problem_label.isVisible())
    assert "the coven name is empty" in panel.problem_label.text()

    qtbot.keyClicks(panel.coven_field, COVEN)
    qtbot.keyClick(panel.coven_field, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: attic.instance is not None, timeout=WAIT_MS)
    ours = attic.instance
    qtbot.waitUntil(lambda: panel.state_label.text() == f"Joined to lab as {ours}", timeout=WAIT_MS)
    assert not panel.problem_label.isVisible() and not panel.coven_field.isVisible()
    qtbot.waitUntil(lambda: len(member_rows(panel)) == 2, timeout=WAIT_MS)
    members = cellar.coven.members
    assert members is not None
    qtbot.waitUntil(lambda: ours in members.statuses, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: members.statuses[ours].online, timeout=WAIT_MS)

    qtbot.mouseClick(panel.leave_button, Qt.MouseButton.LeftButton)
    left = "Not in a coven"
    run_on_loop(until(lambda: panel.state_label.text() == left, timeout=15), timeout=20)
    qtbot.waitUntil(lambda: not members.statuses[ours].online, timeout=WAIT_MS)
    assert member_rows(panel) == {} and panel.token_label.text() == "No token"
