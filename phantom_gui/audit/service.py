"""The audit log as the running app uses it: storage, the session run, the recorder, replay."""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reactivex import abc

from phantom_gui.audit.emitter import EventEmitter
from phantom_gui.audit.recorder import Recorder
from phantom_gui.audit.replay import ReplaySession
from phantom_gui.audit.runs import Run
from phantom_gui.audit.storage import AuditStorage, EventFilter
from phantom_gui.core.hub import EventHub

log = logging.getLogger("phantom.audit")

RAM_FOLDER = Path("/dev/shm")


@dataclass(frozen=True)
class AuditStatus:
    """What the status bar says about the audit log."""

    recorded: int
    pending: int
    size_bytes: int
    error: str | None
    in_memory_reason: str | None


class AuditService:
    """Opens the log (or, when that fails, a log in memory), records, replays, opens runs."""

    def __init__(self, storage: AuditStorage, hub: EventHub, in_memory_reason: str | None) -> None:
        self.storage = storage
        self._hub = hub
        self.in_memory_reason = in_memory_reason
        self.session: Run | None = None
        self.recorder: Recorder | None = None

    @classmethod
    def open(cls, root: Path, hub: EventHub) -> AuditService:
        """The log in `root`; if it cannot be opened, one in memory, saying why."""
        try:
            return cls(AuditStorage(root), hub, None)
        except (OSError, ValueError) as exc:
            reason = str(exc)
            log.error("the audit log is unavailable, recording in memory instead: %s", reason)
            folder = RAM_FOLDER if RAM_FOLDER.is_dir() else None
            scratch = Path(tempfile.mkdtemp(prefix="phantom-audit-", dir=folder))
            return cls(AuditStorage(scratch), hub, reason)

    def start(self, version: str) -> None:
        """Open this app session's run and start recording the configured topics."""
        config = self.storage.get_config()
        self.recorder = Recorder(
            self._hub,
            self.storage,
            session_id="",
            batch_size=int(config["batch_size"]),
            flush_interval=float(config["flush_interval_s"]),
        )
        self.session = self.open_run("session", f"Phantom {version}", source="app")
        self.recorder.session_id = self.session.id
        self.recorder.start(config["record_topics"])

    def emitter(self, source: str) -> EventEmitter:
        """An emitter whose events go through the recorder's batches."""
        sink = self.recorder.enqueue if self.recorder is not None else None
        return EventEmitter(self.storage, sink=sink, source=source)

    def open_run(self, kind: str, name: str, *, source: str, **info: Any) -> Run:
        """Start a recorded run (a séance, a brew, an evolution...)."""
        return Run.open(self.storage, self.emitter(source), kind, name, **info)

    def replay(
        self,
        where: EventFilter,
        scheduler: abc.SchedulerBase,
        *,
        speed: float | None = 1.0,
        on_done: Callable[[], None] | None = None,
    ) -> ReplaySession:
        """A replay of the matching events into the hub (call `start()` on it)."""
        return ReplaySession(
            self.storage, self._hub, scheduler, where, speed=speed, on_done=on_done
        )

    @property
    def status(self) -> AuditStatus:
        """Records, pending writes, size, the last write error, and whether it is in memory."""
        recorded = pending = 0
        error = None
        if self.recorder is not None:
            current = self.recorder.status
            recorded, pending, error = current.recorded, current.pending, current.error
        return AuditStatus(
            recorded, pending, self.storage.size_bytes(), error, self.in_memory_reason
        )

    def stop(self) -> None:
        """Close the session run and write everything still queued."""
        if self.session is not None:
            self.session.complete()
        if self.recorder is not None and not self.recorder.stop():
            log.error("the audit recorder could not write everything before stopping")
        if self.in_memory_reason is not None:
            self.storage.close()  # the log in RAM ends with the session: free the memory
            shutil.rmtree(self.storage.root, ignore_errors=True)
