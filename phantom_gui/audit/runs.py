"""Runs ("audits"): a recorded séance, brew, evolution or app session, with its phases."""

from __future__ import annotations

from typing import Any

from phantom_gui.audit.emitter import EventEmitter
from phantom_gui.audit.events import EventType, now_iso
from phantom_gui.audit.storage import AuditStorage


class Run:
    """One recorded run: its lifecycle and phases are audit events of the run's id."""

    def __init__(self, storage: AuditStorage, emitter: EventEmitter, run_id: str) -> None:
        self._storage = storage
        self._emitter = emitter
        self.id = run_id
        self.status = "running"

    @classmethod
    def open(
        cls,
        storage: AuditStorage,
        emitter: EventEmitter,
        kind: str,
        name: str,
        *,
        project: str = "phantom",
        **info: Any,
    ) -> Run:
        """Store a new run and emit `audit_started`."""
        run_id = storage.save_audit({"kind": kind, "name": name, "project": project, **info})
        run = cls(storage, emitter, run_id)
        emitter.emit(EventType.AUDIT_STARTED, run_id, kind=kind, name=name, **info)
        return run

    def start_phase(self, phase: int, name: str = "", **data: Any) -> None:
        """A phase (a step of the run) begins."""
        self._emitter.emit(EventType.PHASE_STARTED, self.id, phase, name=name, **data)

    def complete_phase(self, phase: int, **data: Any) -> None:
        """A phase ended well."""
        self._emitter.emit(EventType.PHASE_COMPLETED, self.id, phase, **data)

    def fail_phase(self, phase: int, error: str, **data: Any) -> None:
        """A phase went wrong."""
        self._emitter.emit(EventType.PHASE_FAILED, self.id, phase, error=error, **data)

    def record(self, event_type: EventType | str, phase: int | None = None, **data: Any) -> None:
        """Any other event of the run."""
        self._emitter.emit(event_type, self.id, phase, **data)

    def complete(self, **data: Any) -> None:
        """The run ended well."""
        self._finish("completed", EventType.AUDIT_COMPLETED, data)

    def fail(self, error: str, **data: Any) -> None:
        """The run ended badly."""
        self._finish("failed", EventType.AUDIT_FAILED, {"error": error, **data})

    def _finish(self, status: str, event_type: EventType, data: dict[str, Any]) -> None:
        if self.status != "running":
            return
        self.status = status
        self._emitter.emit(event_type, self.id, **data)
        self._storage.update_audit(self.id, {"status": status, "ended": now_iso()})
