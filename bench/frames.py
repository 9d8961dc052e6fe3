"""What the frame benches share: the real desktop app under Xvfb, and a timeline of what
its GUI thread did for each frame."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.virtual_screen import VirtualScreen


@dataclass
class Timeline:
    """What the GUI thread did: each frame clock firing (with the thread's CPU time then),
    each piece of timed work."""

    ticks: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    """The GUI thread's CPU time (`time.thread_time`) at each tick."""
    work: list[tuple[float, float, str]] = field(default_factory=list)
    """(start, seconds, what) of every refresh and paint."""

    def tick(self) -> None:
        """Note a firing of the frame clock; call it on the GUI thread."""
        self.ticks.append(perf_counter())
        self.cpu.append(time.thread_time())

    def timed(self, job: Callable[..., Any], what: str) -> Callable[..., Any]:
        """`job`, noting when it starts and how long it takes, as `what`."""

        def run(*args: Any) -> Any:
            start = perf_counter()
            try:
                return job(*args)
            finally:
                self.work.append((start, perf_counter() - start, what))

        return run

    def clock(self, timer: Any, refresh: Callable[[], bool], what: str, ticks: bool) -> None:
        """Rewire `timer` from `refresh` to a timed `refresh` (its firings noted if `ticks`)."""
        timed = self.timed(refresh, what)

        def fire() -> None:
            if ticks:
                self.tick()
            timed()

        timer.timeout.disconnect(refresh)
        timer.timeout.connect(fire)

    def frames(self, start: float, end: float, budget_ms: float) -> dict[str, float]:
        """The figures of the frames between `start` and `end` with a frame budget of
        `budget_ms`: intervals, timed work and GUI thread CPU per frame, frames missed, and
        the longest single piece of work of each kind (``longest <what>``)."""
        chosen = [i for i, tick in enumerate(self.ticks) if start <= tick <= end]
        ticks = [self.ticks[i] for i in chosen]
        frames = list(itertools.pairwise(ticks))
        intervals = [(b - a) * 1000 for a, b in frames]
        cpu = [(self.cpu[j] - self.cpu[i]) * 1000 for i, j in itertools.pairwise(chosen)]
        work = sorted(piece for piece in self.work if ticks and ticks[0] <= piece[0] < ticks[-1])
        starts = [piece[0] for piece in work]
        per_frame = [
            1000 * sum(piece[1] for piece in work[bisect_left(starts, a) : bisect_left(starts, b)])
            for a, b in frames
        ]
        longest: dict[str, float] = {}
        for _, seconds, what in work:
            longest[f"longest {what}"] = max(longest.get(f"longest {what}", 0.0), seconds * 1000)
        missed = sum(max(0, round(interval / budget_ms) - 1) for interval in intervals)
        return {
            "frames": len(intervals),
            "interval_p50": percentile(intervals, 50),
            "interval_p99": percentile(intervals, 99),
            "work_p50": percentile(per_frame, 50),
            "work_p99": percentile(per_frame, 99),
            "cpu_p50": percentile(cpu, 50),
            "cpu_p99": percentile(cpu, 99),
            "missed": missed,
            "missed_share": 100 * missed / max(1, missed + len(intervals)),
        } | longest


def percentile(values: list[float], p: float) -> float:
    """The `p`th percentile (nearest rank) of `values`; NaN if there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


async def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Let the loop run until `condition` holds; RuntimeError naming `what` after `timeout`."""
    deadline = perf_counter() + timeout
    while not condition():
        if perf_counter() > deadline:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.05)


@contextmanager
def virtual_display(size: str = "1600x1000x24") -> Iterator[VirtualScreen]:
    """An Xvfb for the run, Qt pointed at it; stopped by its PID on the way out."""
    screen = VirtualScreen.start(size)
    os.environ["DISPLAY"] = screen.display
    os.environ["QT_QPA_PLATFORM"] = "xcb"
    try:
        yield screen
    finally:
        screen.stop()


@contextmanager
def timed_paints(timeline: Timeline) -> Iterator[None]:
    """Each paint of a pyqtgraph view noted in `timeline` as ``plot paint``."""
    import pyqtgraph as pg

    paint = pg.GraphicsView.paintEvent
    pg.GraphicsView.paintEvent = timeline.timed(paint, "plot paint")
    try:
        yield
    finally:
        pg.GraphicsView.paintEvent = paint


@contextmanager
def desktop(data_dir: Path, **options: Any) -> Iterator[tuple[asyncio.AbstractEventLoop, Any]]:
    """The app as the user runs it: a `MainWindow` over fresh `Services` (made with
    `options`, data in `data_dir`) on a qasync loop, shown; the loop and the window.
    Everything is taken down on the way out."""
    import qasync
    from PySide6.QtWidgets import QApplication

    from phantom_gui.qt.main_window import MainWindow
    from phantom_gui.qt.theme import apply_theme
    from phantom_gui.runtime import Services

    app = QApplication.instance() or QApplication(sys.argv[:1])
    apply_theme(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    services = Services.create(data_dir=data_dir, plugin_dirs=(), **options)
    window = None
    try:
        services.start(loop)
        window = MainWindow(services, loop)
        window.resize(1500, 950)
        window.show()
        yield loop, window
    finally:
        if window is not None:
            window.close()
            window.dispose()
        if not services.hub.is_stopped:
            loop.run_until_complete(services.stop())
        loop.close()
