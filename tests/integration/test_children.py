"""Children that die with the app, in real processes: the race where the app dies first,
the thread that started a child ending, and the lifeline of a child whose code is stuck.

(The app killed with SIGKILL is in tests/e2e/test_no_orphans.py.)"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from phantom_gui.core.channel import Channel
from phantom_gui.core.children import REAP_GRACE_S, reap, start_program
from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.orphans import EXIT_ORPHANED, PARENT_PID_VARIABLE
from phantom_gui.plugins import child
from phantom_gui.plugins.child import ChildConfig, event_fields

SANDBOX_PLUGINS = Path(__file__).resolve().parents[1] / "fixtures" / "sandbox_plugins"
ASK_AND_SAY = (
    "from phantom_gui.core.orphans import die_with_parent; die_with_parent(); print('alive')"
)
WAIT_S = 10.0


def _ask(parent_pid: int) -> subprocess.CompletedProcess[str]:
    """Run a child that asks to die with `parent_pid` and then says it is alive."""
    env = {**os.environ, PARENT_PID_VARIABLE: str(parent_pid)}
    return subprocess.run(
        [sys.executable, "-c", ASK_AND_SAY], env=env, capture_output=True, text=True, timeout=30
    )


def test_a_child_whose_app_died_before_it_asked_exits_at_once() -> None:
    """The app's id the child was told is not its parent's any more: it was orphaned."""
    assert _ask(os.getpid()).stdout == "alive\n"

    orphan = _ask(parent_pid=1)

    assert (orphan.returncode, orphan.stdout) == (EXIT_ORPHANED, "")


def test_a_child_outlives_the_thread_that_started_it() -> None:
    """The parent-death signal follows the thread that forked: children are started from a
    thread that lives as long as the app, not from the caller's."""
    started: list[subprocess.Popen[bytes]] = []

    def start_and_end() -> None:
        process = start_program(["sh", "-c", "echo asked; exec sleep 60"], stdout=subprocess.PIPE)
        started.append(process)
        assert process.stdout is not None
        assert process.stdout.readline() == b"asked\n"  # after the launcher asked the kernel

    caller = threading.Thread(target=start_and_end)
    caller.start()
    caller.join()
    process = started[0]
    try:
        time.sleep(0.5)  # the signal would come as the thread ends
        assert process.poll() is None
    finally:
        assert reap(process, terminate=True) == -15
        assert process.stdout is not None
        process.stdout.close()


def test_a_sandboxed_plugin_stuck_in_its_code_ends_when_its_app_has_gone() -> None:
    """The lifeline: the end of the channel from the app ends the child within the grace,
    although the plugin never gives its loop back."""
    to_child, from_app = os.pipe()
    to_app, from_child = os.pipe()
    plugin = subprocess.Popen(
        [sys.executable, "-m", "phantom_gui.plugins.child"], stdin=to_child, stdout=from_child
    )
    os.close(to_child)
    os.close(from_child)
    app = Channel(to_app, from_app)
    try:
        app.send(
            ChildConfig(
                "sandbox_echo", "sandbox_echo:EchoPlugin", str(SANDBOX_PLUGINS), 0.1, logging.INFO
            )
        )
        _answer_until_ready(app)
        hang = SpectralEvent("test/in", {"op": "hang"}, "test")
        app.send([(child.EVENT, event_fields(hang))])
        _wait_until_silent(app)

        app.close()

        assert plugin.wait(WAIT_S) == EXIT_ORPHANED
    finally:
        plugin.kill()
        plugin.wait()
        app.close()


def _answer_until_ready(app: Channel) -> None:
    """Play the app while the plugin initialises: answer its context calls."""
    while True:
        for message in app.receive():
            if message[0] == child.CALL:
                answer = 0 if message[2] == "setting_get" else None
                app.send([(child.REPLY, message[1], None, answer)])
            elif message[0] == child.READY:
                return
            elif message[0] == child.INIT_FAILED:
                raise AssertionError(message[1])


def _wait_until_silent(app: Channel) -> None:
    """Read until the plugin's loop stops beating (it is stuck in the plugin's code)."""
    while app.poll(REAP_GRACE_S):
        app.receive()
