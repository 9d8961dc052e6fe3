"""The audit log as the running app uses it: storage, the session run, the recorder, replay,
and its status on the hub's blackboard."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reactivex import abc

from phantom_gui.audit.custody import keep_verification_key, stored_verification_key
from phantom_gui.audit.emitter import EventEmitter
from phantom_gui.audit.keys import SEED_EPOCH, VerificationKey
from phantom_gui.audit.queries import EventFilter
from phantom_gui.audit.recorder import Recorder, RecorderStatus
from phantom_gui.audit.replay import ReplaySession
from phantom_gui.audit.runs import Run
from phantom_gui.audit.storage import AuditStorage
from phantom_gui.core.hub import EventHub

log = logging.getLogger("phantom.audit")

RAM_FOLDER = Path("/dev/shm")
AUDIT_STATUS_KEY = "audit/status"
"""The blackboard key of the current `AuditStatus`."""
STATUS_INTERVAL_S = 0.25
"""The status on the blackboard changes four times a second at most."""


@dataclass(frozen=True)
class AuditStatus:
    """What the status bar says about the audit log."""

    recorded: int
    """Records this session wrote."""
    total: int
    """Records in the whole log (every session's)."""
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
        self.notices: list[str] = []
        """What its owner must be told (once): a log in memory, where the verification key is."""
        if in_memory_reason is not None:
            self.notices.append(f"The audit log is kept in memory only: {in_memory_reason}")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reported: tuple[RecorderStatus | None, float] = (None, 0.0)
        self._stopped = threading.Event()

    @classmethod
    def open(cls, root: Path, hub: EventHub, *, use_keyring: bool | None = None) -> AuditService:
        """The log in `root`; if it cannot be opened, one in memory, saying why.

        A new (or upgraded) log's verification key goes to the keyring or beside the data
        folder (`use_keyring`: by default where there is a keyring; see `custody`).
        """
        try:
            service = cls(AuditStorage(root), hub, None)
        except (OSError, ValueError) as exc:
            reason = str(exc)
            log.error("the audit log is unavailable, recording in memory instead: %s", reason)
            folder = RAM_FOLDER if RAM_FOLDER.is_dir() else None
            scratch = Path(tempfile.mkdtemp(prefix="phantom-audit-", dir=folder))
            service = cls(AuditStorage(scratch), hub, reason)
            service.storage.verification_key_taken()  # it ends with the session
            return service
        service._hand_over_verification_key(root.expanduser().absolute().parent, use_keyring)
        return service

    def _hand_over_verification_key(self, data_folder: Path, use_keyring: bool | None) -> None:
        key = self.storage.new_verification_key
        if key is None:
            return
        try:
            notice = keep_verification_key(key, data_folder, use_keyring=use_keyring)
        except (OSError, ValueError) as exc:
            notice = (
                f"The audit log's verification key could not be saved ({exc}): old records "
                "can be checked only against the sealing key beside the log."
            )
            log.error("%s", notice)
        else:
            self.storage.verification_key_taken()
            if self.storage.first_epoch == SEED_EPOCH:
                notice = (
                    "The audit log was upgraded to forward-secure sealing: its old key "
                    "(audit.key) is now its verification key and no longer lies beside it. "
                    + notice
                )
            log.warning("%s", notice)
        self.notices.append(notice)

    def start(self, version: str, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Open this app session's run and start recording the configured topics; the
        status goes on the hub's blackboard from `loop`'s thread (the hub's)."""
        self._loop = loop
        config = self.storage.get_config()
        self.recorder = Recorder(
            self._hub,
            self.storage,
            session_id="",
            batch_size=int(config["batch_size"]),
            flush_interval=float(config["flush_interval_s"]),
            on_progress=self._progress,
        )
        self.session = self.open_run("session", f"Phantom {version}", source="app")
        self.recorder.session_id = self.session.id
        self._show(self.status)
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

    def verification_key(self) -> VerificationKey | None:
        """The log's verification key where the system keyring keeps it, else None."""
        return stored_verification_key(self.storage.chain_id)

    @property
    def status(self) -> AuditStatus:
        """Records, pending writes, size, the last write error, and whether it is in memory."""
        current = self.recorder.status if self.recorder is not None else None
        return self._status_of(current)

    def _status_of(self, current: RecorderStatus | None) -> AuditStatus:
        return AuditStatus(
            0 if current is None else current.recorded,
            self.storage.record_count(),
            0 if current is None else current.pending,
            self.storage.size_bytes(),
            None if current is None else current.error,
            self.in_memory_reason,
        )

    def _progress(self, current: RecorderStatus) -> None:
        """The recorder's report (on its writer thread): a new status, at most every
        `STATUS_INTERVAL_S`, goes to the hub's thread."""
        reported, when = self._reported
        now = time.monotonic()
        if current == reported or now - when < STATUS_INTERVAL_S:
            return
        self._reported = (current, now)
        status = self._status_of(current)
        if self._loop is None:
            self._show(status)
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: the app is ending
            self._loop.call_soon_threadsafe(self._show, status)

    def _show(self, status: AuditStatus) -> None:
        if not self._stopped.is_set():
            self._hub.set_state(AUDIT_STATUS_KEY, status)

    def stop(self) -> None:
        """Close the session run, write everything still queued and seal the epoch."""
        if self.session is not None:
            self.session.complete()
        if self.recorder is not None and not self.recorder.stop():
            log.error("the audit recorder could not write everything before stopping")
        self._stopped.set()
        if self.in_memory_reason is not None:
            self.storage.close()  # the log in RAM ends with the session: free the memory
            shutil.rmtree(self.storage.root, ignore_errors=True)
