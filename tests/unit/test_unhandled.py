"""Unhandled exceptions anywhere are logged and published as `app/error`."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.unhandled import ERROR_TOPIC, UnhandledErrorReporter


@pytest.fixture(autouse=True)
def restore_hooks() -> Iterator[None]:
    """Put `sys.excepthook` and `threading.excepthook` back after each test."""
    sys_hook, thread_hook = sys.excepthook, threading.excepthook
    yield
    sys.excepthook, threading.excepthook = sys_hook, thread_hook


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture
def hub(loop: asyncio.AbstractEventLoop) -> EventHub:
    hub = EventHub()
    hub.bind_loop(loop)
    return hub


@pytest.fixture
def errors(hub: EventHub) -> list[SpectralEvent]:
    seen: list[SpectralEvent] = []
    hub.on(ERROR_TOPIC).subscribe(seen.append)
    return seen


def run_briefly(loop: asyncio.AbstractEventLoop) -> None:
    """Let the loop run the callbacks it already has."""
    for _ in range(3):
        loop.run_until_complete(asyncio.sleep(0))


def raise_in_thread(exc: BaseException, name: str) -> None:
    """Raise `exc` in a new thread called `name` and wait for it."""

    def target() -> None:
        raise exc

    thread = threading.Thread(target=target, name=name)
    thread.start()
    thread.join()


def test_an_exception_in_a_thread_is_logged_and_published(
    hub: EventHub,
    loop: asyncio.AbstractEventLoop,
    errors: list[SpectralEvent],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    log_file = tmp_path / "phantom.log.jsonl"
    reporter = UnhandledErrorReporter(hub, log_file)
    reporter.install(loop)
    delivered_on: list[int] = []
    hub.on(ERROR_TOPIC).subscribe(lambda _: delivered_on.append(threading.get_ident()))

    with caplog.at_level(logging.ERROR, logger="phantom.unhandled"):
        raise_in_thread(ValueError("a worker saw a ghost"), "worker-7")
        assert errors == []
        run_briefly(loop)

    assert len(errors) == 1
    event = errors[0]
    assert event.topic == ERROR_TOPIC
    assert event.source == "app"
    assert event.data["error"] == "ValueError"
    assert event.data["message"] == "a worker saw a ghost"
    assert event.data["where"] == "thread worker-7"
    assert "Traceback" in event.data["traceback"]
    assert "in target" in event.data["traceback"]
    assert event.data["log_file"] == str(log_file)
    assert delivered_on == [threading.get_ident()]
    assert reporter.count == 1
    [record] = [r for r in caplog.records if r.name == "phantom.unhandled"]
    assert record.levelno == logging.ERROR
    assert "a worker saw a ghost" in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[1] is not None
    assert str(record.exc_info[1]) == "a worker saw a ghost"


def test_sys_excepthook_publishes_on_the_hub_thread_at_once(
    hub: EventHub, errors: list[SpectralEvent], caplog: pytest.LogCaptureFixture
) -> None:
    reporter = UnhandledErrorReporter(hub, None)
    reporter.install()

    def haunted_slot() -> None:
        raise KeyError("lost key")

    try:
        haunted_slot()
    except KeyError:
        sys.excepthook(*sys.exc_info())

    assert len(errors) == 1
    data = errors[0].data
    assert data["error"] == "KeyError"
    assert data["message"] == "'lost key'"
    assert data["where"] == "the main thread"
    assert "haunted_slot" in data["traceback"]
    assert "KeyError: 'lost key'" in data["traceback"]
    assert data["log_file"] is None
    assert any("lost key" in record.getMessage() for record in caplog.records)


def test_keyboard_interrupt_is_not_reported(
    hub: EventHub, errors: list[SpectralEvent], capsys: pytest.CaptureFixture[str]
) -> None:
    reporter = UnhandledErrorReporter(hub, None)
    reporter.install()
    sys.excepthook(KeyboardInterrupt, KeyboardInterrupt(), None)
    assert errors == []
    assert reporter.count == 0
    assert "KeyboardInterrupt" in capsys.readouterr().err


def test_system_exit_in_a_thread_is_not_reported(
    hub: EventHub, loop: asyncio.AbstractEventLoop, errors: list[SpectralEvent]
) -> None:
    reporter = UnhandledErrorReporter(hub, None)
    reporter.install(loop)
    raise_in_thread(SystemExit(0), "leaving")
    run_briefly(loop)
    assert errors == []
    assert reporter.count == 0


def test_an_exception_in_an_asyncio_callback_is_reported(
    hub: EventHub, loop: asyncio.AbstractEventLoop, errors: list[SpectralEvent]
) -> None:
    reporter = UnhandledErrorReporter(hub, None)
    reporter.install(loop)

    def callback() -> None:
        raise RuntimeError("the séance went wrong")

    loop.call_soon(callback)
    run_briefly(loop)

    assert len(errors) == 1
    assert errors[0].data["error"] == "RuntimeError"
    assert errors[0].data["where"].startswith("asyncio: ")
    assert "the séance went wrong" in errors[0].data["traceback"]


def test_reporting_never_raises_even_if_the_hub_is_gone(
    hub: EventHub, caplog: pytest.LogCaptureFixture
) -> None:
    reporter = UnhandledErrorReporter(hub, None)
    hub.dispose()
    reporter.report(ValueError("nobody listens"), "test")
    assert reporter.count == 1
    assert any("could not publish" in record.getMessage() for record in caplog.records)
