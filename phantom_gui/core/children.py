"""Child processes of the app: how they start, how they end, and that none outlives it.

A child is either a module of ours (`ChildProcess`: ``python -m <module>`` with a
`Channel` on its standard input and output) or another program (`start_program`, such
as mosquitto). Both are ended with `reap`: a grace of `REAP_GRACE_S` to exit (after
SIGTERM where asked), then SIGKILL. None outlives the app:

- At the app's normal exit whatever still runs is killed (`atexit`).
- On Linux each child asks the kernel to kill it when the app dies, even by ``kill -9``
  (``prctl(PR_SET_PDEATHSIG, SIGKILL)`` in `orphans.die_with_parent`). The kernel sends
  it when the *thread* that started the child ends, so every child is started from one
  thread that lives as long as the app (`_Starter`). A child that asks only after the
  app has died (a race) sees a new parent and exits at once. A program that is not ours
  is started through a launcher (`phantom_gui.core.orphans`) that asks and then becomes
  the program (exec); not through a ``preexec_fn``, which is unsafe in a process with
  threads.
- A child of ours also watches its lifeline, the pipe from the app: the app holds the
  only write end, so its end means the app has gone, and `orphaned` then ends the child
  within `REAP_GRACE_S` even if the child's own code is stuck. On macOS and Windows,
  which have no parent-death signal, this is what ends our children after a crash of
  the app; there a program that is not ours (the embedded mosquitto) ends with the
  app's normal exit only.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from queue import SimpleQueue
from typing import Any, TypeVar

from phantom_gui.core import orphans
from phantom_gui.core.channel import Channel
from phantom_gui.core.orphans import EXIT_ORPHANED, PARENT_PID_VARIABLE, die_with_parent

REAP_GRACE_S = 1.0
"""How long a child may take to exit by itself before it is killed."""

T = TypeVar("T")


class _Starter:
    """Starts every child on one thread that lives as long as the app, so that a
    parent-death signal fires when the app ends, not when the caller's thread does."""

    def __init__(self) -> None:
        self._requests: SimpleQueue[tuple[Callable[[], Any], Future[Any]]] = SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def run(self, start: Callable[[], T]) -> T:
        """Call `start` on the starting thread and return what it returns (or raise)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="phantom-child-starter", daemon=True
                )
                self._thread.start()
        done: Future[T] = Future()
        self._requests.put((start, done))
        return done.result()

    def _serve(self) -> None:
        while True:
            start, done = self._requests.get()
            try:
                done.set_result(start())
            except BaseException as error:
                done.set_exception(error)


_starter = _Starter()
_live_children: set[subprocess.Popen[bytes]] = set()


@atexit.register
def _kill_live_children() -> None:
    """The safety net: no child outlives the app's normal exit, whatever its owner did."""
    for process in list(_live_children):
        process.kill()


def _start(argv: Sequence[str], **options: Any) -> subprocess.Popen[bytes]:
    env = {**(options.pop("env", None) or os.environ), PARENT_PID_VARIABLE: str(os.getpid())}
    process = _starter.run(lambda: subprocess.Popen(argv, env=env, **options))
    _live_children.add(process)
    return process


def start_program(argv: Sequence[str], **options: Any) -> subprocess.Popen[bytes]:
    """Start a program that is not ours (`options` as for `subprocess.Popen`) so that it
    dies with the app where the OS allows (see the module); end it with `reap`."""
    if sys.platform == "linux":
        argv = [sys.executable, "-I", "-S", orphans.__file__, *argv]
    return _start(argv, **options)


def reap(
    process: subprocess.Popen[bytes], *, terminate: bool = False, grace_s: float = REAP_GRACE_S
) -> int:
    """End `process`: ask it with SIGTERM if `terminate`, kill it if it has not exited
    within `grace_s`; return its exit code (negative: the signal that ended it)."""
    if terminate and process.poll() is None:
        process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    _live_children.discard(process)
    return process.returncode


class ChildProcess:
    """A module of ours running as ``python -m <module>`` in a child process, and the
    `Channel` to it (which the module opens with `parent_channel`)."""

    def __init__(self, module: str) -> None:
        to_child, from_app = os.pipe()
        to_app, from_child = os.pipe()
        try:
            self.process = _start([sys.executable, "-m", module], stdin=to_child, stdout=from_child)
        except BaseException:
            os.close(from_app)
            os.close(to_app)
            raise
        finally:
            os.close(to_child)
            os.close(from_child)
        self.pid = self.process.pid
        self.channel = Channel(to_app, from_app)

    def kill(self) -> None:
        """Kill the child now (nothing if it has been reaped)."""
        self.process.kill()

    def reap(self) -> dict[str, Any]:
        """Wait for the child to end (killing it after `REAP_GRACE_S`), close the channel,
        and say how it ended (`describe_exit`)."""
        exitcode = reap(self.process)
        self.channel.close()
        return describe_exit(exitcode)


def describe_exit(exitcode: int | None) -> dict[str, Any]:
    """How a child ended: its exit code and, when a signal killed it, the signal's name."""
    info: dict[str, Any] = {"exitcode": exitcode}
    if exitcode is not None and exitcode < 0:
        try:
            info["signal"] = signal.Signals(-exitcode).name
        except ValueError:
            info["signal"] = str(-exitcode)
    return info


# -- in the child ---------------------------------------------------------------------------


def parent_channel() -> Channel:
    """In a `ChildProcess`: die with the app, and the channel to it on what were standard
    input and output. From now on standard input reads nothing and standard output
    writes to standard error, so that nothing else can read or write the channel."""
    die_with_parent()
    channel = Channel(os.dup(0), os.dup(1))
    nothing = os.open(os.devnull, os.O_RDONLY)
    os.dup2(nothing, 0)
    os.close(nothing)
    os.dup2(2, 1)
    return channel


def orphaned() -> None:
    """In a `ChildProcess` whose channel from the app has ended, i.e. the app has gone:
    end this process within `REAP_GRACE_S`, whatever its other threads are doing (its
    own clean-up may finish first)."""

    def exit_late() -> None:
        time.sleep(REAP_GRACE_S)
        os._exit(EXIT_ORPHANED)

    threading.Thread(target=exit_late, name="phantom-orphaned", daemon=True).start()
