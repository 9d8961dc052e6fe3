"""An evolution started on a desktop runs on a real `phantom --headless` coven worker: a
real mosquitto, the worker's process, and a desktop window in this process, both joined
with the default `user` role. The Run-on choice offers the worker; its generations fill
the desktop's chart model; Cancel stops the worker's run; a worker killed mid-run fails
the desktop's run; a requesting process killed mid-run has its run cancelled by the
worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QWidget

from phantom_cauldron.evolution.progress import GenerationProgress
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.settings import Settings
from phantom_gui.coven.settings import CovenSettings
from phantom_gui.plugins.host_settings import PluginHostSettings

from support.headless import exported, start_headless, stop, wait_for
from support.mosquitto import MosquittoBroker

pytestmark = [pytest.mark.e2e, pytest.mark.screen]

SECRET = "a-coven-secret-of-forty-bytes-or-more!!"
ENV = {"PHANTOM_COVEN_SECRET": SECRET, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
WAIT_MS = 60_000


def worker_data(root: Path) -> Path:
    data = root / "attic"
    data.mkdir()
    settings = Settings(data / "settings.json")
    settings.save(CovenSettings(member_name="attic", role="worker"))
    settings.save(PluginHostSettings(active=("phantom_cauldron",)))
    return data


@pytest.fixture
def worker(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    data = worker_data(tmp_path)
    url = f"mqtt://{mosquitto.host}:{mosquitto.port}"
    process = start_headless(
        data,
        "--coven", "lab", "--coven-role", "user", "--plugins", "phantom_cauldron",
        "--coven-broker", url,
        env=ENV,
    )  # fmt: skip
    yield process, data
    if process.poll() is None:
        process.kill()
        process.wait(30)


class Desktop:
    """The desktop window joined to the coven, its Brewing tab, and the generations its
    hub heard from the coven."""

    def __init__(self, make_main_window: Callable[..., Any], qtbot: Any, qt_loop: Any,
                 broker: MosquittoBroker, data: Path) -> None:  # fmt: skip
        data.mkdir()
        Settings(data / "settings.json").save(CovenSettings(member_name="desk"))
        window = self.window = make_main_window(data_dir=data)
        services = window._services
        services.mqtt.add_session(broker.config(id="lab", name="Lab"))
        qt_loop.run_until_complete(services.coven.join("lab", broker=broker.config(), role="user"))
        qtbot.waitUntil(lambda: services.coven.state.status == "joined", timeout=WAIT_MS)
        window.plugin_docks.toggle("phantom_cauldron")
        qtbot.waitUntil(lambda: "phantom_cauldron" in window.plugin_docks.docks, timeout=WAIT_MS)
        panel = window.plugin_docks.docks["phantom_cauldron"].findChild(QWidget, "cauldronPanel")
        self.tab = panel.brewing
        panel.tabs.setCurrentWidget(self.tab)
        self.heard: list[SpectralEvent] = []
        services.hub.on("cauldron/evolution/+/generation").subscribe(self.heard.append)

    def evolve_on_worker(self, qtbot: Any, population: int, generations: int) -> str:
        tab = self.tab
        qtbot.waitUntil(lambda: tab.run_on.count() == 2, timeout=WAIT_MS)
        tab.run_on.setCurrentIndex(1)
        for name, text in {"population": population, "generations": generations}.items():
            tab.form.edits[name].setText(str(text))
        tab.form.edits["seed"].setText("5")
        tab.evolve_button.click()
        assert tab.model.run is not None
        return tab.model.run


def test_an_evolution_runs_on_the_worker_live_in_the_desktop_chart_and_cancels(
    make_main_window, qtbot, qt_loop, mosquitto: MosquittoBroker, tmp_path: Path, worker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    monkeypatch.setenv("PHANTOM_COVEN_SECRET", SECRET)
    process, data = worker
    desk = Desktop(make_main_window, qtbot, qt_loop, mosquitto, tmp_path / "desk")
    tab = desk.tab
    qtbot.waitUntil(lambda: tab.run_on.count() == 2, timeout=WAIT_MS)
    assert tab.run_on.itemText(1).startswith("attic on ")
    instance = tab.run_on.itemData(1)

    run = desk.evolve_on_worker(qtbot, 16, 8)
    qtbot.waitUntil(lambda: tab.model.finished is not None, timeout=WAIT_MS)
    finished = tab.model.finished
    assert finished.run == run and finished.error is None and not finished.cancelled
    assert tab.model.history.generations == list(range(9))
    assert {event.metadata["origin_realm"] for event in desk.heard} == {instance}
    assert all(isinstance(event.data, dict) for event in desk.heard), "plain JSON from afar"
    assert isinstance(tab.model.latest, GenerationProgress)
    assert finished.best is not None and finished.best.genetic_fitness > 0
    qtbot.waitUntil(lambda: tab.recipe_list.count() > 0, timeout=5_000)
    assert tab.lineage.topLevelItem(0).text(0) == finished.lineage[0].id

    long_run = desk.evolve_on_worker(qtbot, 200, 2000)
    qtbot.waitUntil(lambda: tab.model.done >= 2, timeout=WAIT_MS)
    tab.cancel_button.click()
    qtbot.waitUntil(lambda: tab.model.finished is not None, timeout=WAIT_MS)
    assert tab.model.finished.run == long_run and tab.model.finished.cancelled
    assert tab.model.done < 2001

    stop(process)
    records = exported(data)
    started = {
        r["data"]["evolution"]: r["audit_id"]
        for r in records
        if r["type"] == "audit_started" and r["data"]["kind"] == "evolution"
    }
    assert set(started) == {run, long_run}
    ends = {r["audit_id"]: r["type"] for r in records if r["audit_id"] in started.values()}
    assert "audit_completed" in ends.values()


def test_a_worker_killed_mid_run_fails_the_desktop_run_with_the_reason(
    make_main_window, qtbot, qt_loop, mosquitto: MosquittoBroker, tmp_path: Path, worker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    monkeypatch.setenv("PHANTOM_COVEN_SECRET", SECRET)
    process, _ = worker
    desk = Desktop(make_main_window, qtbot, qt_loop, mosquitto, tmp_path / "desk")
    tab = desk.tab
    desk.evolve_on_worker(qtbot, 200, 2000)
    qtbot.waitUntil(lambda: tab.model.done >= 2, timeout=WAIT_MS)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    qtbot.waitUntil(lambda: tab.model.finished is not None, timeout=WAIT_MS)
    assert tab.model.finished.error == "the worker attic left"
    qtbot.waitUntil(lambda: tab.status.text() == "Failed: the worker attic left", timeout=5_000)
    assert not tab.model.running and tab.evolve_button.isEnabled()


REQUESTER = Path(__file__).parents[1] / "support" / "requester.py"


def log_messages(data: Path) -> list[str]:
    log = data / "logs" / "phantom.log.jsonl"
    lines = log.read_text().splitlines() if log.exists() else []
    return [json.loads(line).get("message", "") for line in lines]


def test_a_requester_killed_mid_run_has_its_run_cancelled_by_the_worker(
    mosquitto: MosquittoBroker, tmp_path: Path, worker: tuple[subprocess.Popen[str], Path]
) -> None:
    process, data = worker
    url = f"mqtt://{mosquitto.host}:{mosquitto.port}"
    desk = tmp_path / "desk"
    desk.mkdir()
    requester = subprocess.Popen(
        [sys.executable, str(REQUESTER), "lab", url, "porch", "2000", str(desk)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, **ENV},
    )  # fmt: skip
    try:
        assert requester.stdout is not None
        run = requester.stdout.readline().removeprefix("run ").strip()
        assert run, "the requester asked for a run"
        while requester.stdout.readline().strip() != "generation 2":
            assert requester.poll() is None, "the requester hears the generations"
        requester.send_signal(signal.SIGKILL)
        requester.wait(30)
        cancelled = f"evolution {run}: cancelled, porch left"
        try:
            wait_for(lambda: cancelled in log_messages(data), process, "cancel")
        except AssertionError as error:
            said = [m for m in log_messages(data) if run in m or "porch" in m]
            raise AssertionError(f"{error}; the worker said {said}") from None
    finally:
        if requester.poll() is None:
            requester.kill()
            requester.wait(30)
    stop(process)
    records = exported(data)
    [audit] = [
        r["audit_id"]
        for r in records
        if r["type"] == "audit_started" and r["data"].get("evolution") == run
    ]
    [ended] = [r for r in records if r["audit_id"] == audit and r["type"] == "audit_completed"]
    assert ended["data"].get("cancelled") is True, ended
    phases = [r for r in records if r["audit_id"] == audit and r["type"] == "phase_completed"]
    assert len(phases) < 2001, "stopped well before its 2000 generations"
