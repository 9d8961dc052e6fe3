"""Fixtures shared by the suite: a virtual screen, the Qt app on it, a qasync loop,
and a main-window factory that cleans up after itself."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from support.virtual_screen import VirtualScreen

T = TypeVar("T")


@pytest.fixture(scope="session")
def virtual_screen() -> Iterator[VirtualScreen]:
    """An Xvfb server for the whole session; Qt uses it through $DISPLAY."""
    screen = VirtualScreen.start()
    previous = {key: os.environ.get(key) for key in ("DISPLAY", "QT_QPA_PLATFORM")}
    os.environ["DISPLAY"] = screen.display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    yield screen
    screen.stop()
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(autouse=True)
def _screen_for_marked_tests(request: pytest.FixtureRequest) -> None:
    """Tests marked `screen` get the virtual screen even if they don't ask for it."""
    if request.node.get_closest_marker("screen"):
        request.getfixturevalue("virtual_screen")


@pytest.fixture(scope="session")
def qapp(virtual_screen: VirtualScreen, qapp_args: list[str], qapp_cls: type):  # type: ignore[no-untyped-def]
    """The one QApplication, on the virtual screen, with Phantom's theme."""
    from phantom_gui.qt.theme import apply_theme

    app = qapp_cls.instance() or qapp_cls(qapp_args)
    app.setApplicationName("Phantom tests")
    apply_theme(app)
    return app


@pytest.fixture(scope="session")
def qt_loop(qapp):  # type: ignore[no-untyped-def]
    """A qasync loop on the test QApplication; its callbacks run while qtbot waits."""
    import qasync

    loop = qasync.QEventLoop(qapp)
    yield loop
    loop.close()


@pytest.fixture
def make_main_window(qtbot, qt_loop, tmp_path: Path) -> Iterator[Callable[..., object]]:  # type: ignore[no-untyped-def]
    """Build shown main windows over fresh services; close, dispose and delete all of them
    (with their docks, panels and dialogs) after the test."""
    from phantom_gui.qt.main_window import MainWindow
    from phantom_gui.runtime import Services

    made: list[tuple[MainWindow, Services]] = []

    def factory(data_dir: Path | None = None, plugin_dirs: tuple[Path, ...] = ()) -> MainWindow:
        services = Services.create(data_dir=data_dir or tmp_path / "data", plugin_dirs=plugin_dirs)
        services.start(qt_loop)
        window = MainWindow(services, qt_loop)
        window.show()
        qtbot.waitExposed(window)
        made.append((window, services))
        return window

    yield factory
    for window, services in made:
        window.close()
        window.dispose()
        if not services.hub.is_stopped:
            qt_loop.run_until_complete(services.stop())
        window.deleteLater()
    _delete_deferred()


LEAK_KINDS = ("QMainWindow", "QDockWidget", "QDialog")
"""Top-level widgets of these Qt classes (or of any class of Phantom or its plugins, such
as a plugin's panel) must not outlive the test that made them."""


@pytest.fixture(autouse=True)
def _no_leaked_widgets(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a Qt test that leaves a main window, dock, dialog or panel alive, naming them
    (as napari's viewer fixture does). Tests that never touch Qt are not looked at."""
    if "qapp" not in request.fixturenames:
        yield
        return
    from PySide6.QtWidgets import QApplication

    before = {id(widget) for widget in QApplication.topLevelWidgets()}
    yield
    _delete_deferred()
    leaked = [
        widget
        for widget in QApplication.topLevelWidgets()
        if id(widget) not in before and _is_leak_kind(widget)
    ]
    if not leaked:
        return
    names = ", ".join(f"{type(w).__name__}({w.objectName() or w.windowTitle()!r})" for w in leaked)
    for widget in leaked:  # keep the next tests clean
        widget.close()
        widget.deleteLater()
    _delete_deferred()
    pytest.fail(f"the test left these widgets alive: {names}")


def _is_leak_kind(widget: Any) -> bool:
    if type(widget).__module__.split(".")[0] != "PySide6":
        return True  # one of Phantom's or a plugin's own widgets
    return any(kind in (c.__name__ for c in type(widget).__mro__) for kind in LEAK_KINDS)


def _delete_deferred() -> None:
    """Carry out pending `deleteLater` calls now (the event loop would, between events)."""
    from PySide6.QtCore import QCoreApplication, QEvent

    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()


@pytest.fixture
def run_on_loop(qt_loop):  # type: ignore[no-untyped-def]
    """Run a coroutine on the qasync loop (as the app does) and return its result."""

    def run(coroutine: Coroutine[Any, Any, T], timeout: float = 15.0) -> T:
        return qt_loop.run_until_complete(asyncio.wait_for(coroutine, timeout))

    return run


@pytest.fixture
def asyncio_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A plain asyncio loop owned by the test thread."""
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def make_mosquitto(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Start real mosquitto brokers (options as `MosquittoBroker`); all stopped by PID after."""
    from support.mosquitto import MosquittoBroker

    started: list[MosquittoBroker] = []

    def factory(**options: Any) -> MosquittoBroker:
        broker = MosquittoBroker(tmp_path / f"mosquitto-{len(started)}", **options)
        started.append(broker)
        return broker.start()

    yield factory
    for broker in started:
        broker.stop()


@pytest.fixture
def mosquitto(make_mosquitto: Callable[..., Any]) -> Any:
    """A real anonymous mosquitto on a free loopback port, for this test only."""
    return make_mosquitto()


@pytest.fixture
def memory_keyring() -> Iterator[Any]:
    """A keyring backend in a dict, installed for the test. No keyring daemon runs on the
    test machines, so this fake stands in for the system keyring (and keeps the tests off a
    developer's real one)."""
    import keyring
    from keyring.backend import KeyringBackend
    from keyring.errors import PasswordDeleteError

    class MemoryKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.passwords: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.passwords.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.passwords[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            if self.passwords.pop((service, username), None) is None:
                raise PasswordDeleteError(username)

    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """Keyring with no usable backend, as on the test machines (set here so that the tests
    behave the same on a developer's machine that has a keyring)."""
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def virtual_audio() -> Iterator[Any]:
    """A PulseAudio daemon with a null sink for this test (device ``pulse``: the sink for
    output, its monitor for input), reached through $PULSE_SERVER; stopped by PID after."""
    import shutil
    import tempfile

    from support.virtual_audio import VirtualAudio

    folder = Path(tempfile.mkdtemp(prefix="phantom-pulse-"))  # a short unix socket path
    audio = VirtualAudio.start(folder)
    try:
        with audio.in_environment():
            yield audio
    finally:
        audio.stop()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(autouse=True)
def _audio_for_marked_tests(request: pytest.FixtureRequest) -> None:
    """Tests marked `audio` get the virtual audio device even if they don't ask for it."""
    if request.node.get_closest_marker("audio"):
        request.getfixturevalue("virtual_audio")
