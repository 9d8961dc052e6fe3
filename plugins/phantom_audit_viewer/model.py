"""The Audit Log viewer's model: the filters in force, background reads, and replay.

Views read the model and forward user input to it; `revision` changes when the
filters are set from elsewhere (a restore after hot reload), so a view knows to
reload its fields.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from reactivex import Observable, abc

from phantom_gui.audit.keys import VerificationKey
from phantom_gui.audit.queries import EventFilter
from phantom_gui.audit.replay import ReplaySession
from phantom_gui.audit.service import AuditService, AuditStatus
from phantom_gui.audit.storage import AuditStorage
from phantom_gui.audit.verify import VerifyReport
from phantom_gui.core.topics import validate_pattern

T = TypeVar("T")

SPEEDS = (1.0, 2.0, 10.0, 100.0)
"""The replay speeds on offer, as multiples of the recorded pace."""

BACKGROUND_WORKERS = 2
"""A verification (seconds on a big log) never holds up a filter."""


class FilterError(ValueError):
    """An invalid filter field: `field` names it (a `Filters` field name)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Filters:
    """What the viewer shows; blank fields match everything.

    `since` and `until` are ISO 8601 times (as stored: UTC with an offset); `run`
    is an audit id; `topic` is an MQTT pattern.
    """

    topic: str = ""
    source: str = ""
    run: str = ""
    since: str = ""
    until: str = ""
    text: str = ""

    def where(self) -> EventFilter:
        """The storage filter; `FilterError` saying what is wrong with an invalid field."""
        if self.topic:
            try:
                validate_pattern(self.topic)
            except ValueError as exc:
                raise FilterError("topic", f"invalid topic pattern: {exc}") from exc
        since = _moment("since", self.since) if self.since else None
        until = _moment("until", self.until) if self.until else None
        if since and until and since >= until:
            raise FilterError("until", "the time range is empty: 'since' must be before 'until'")
        return EventFilter(
            audit_id=self.run or None,
            since=self.since or None,
            until=self.until or None,
            topic_pattern=self.topic or None,
            source=self.source or None,
            text=self.text or None,
        )

    def to_dict(self) -> dict[str, str]:
        """The fields as plain strings (for a snapshot)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Filters:
        """Filters from `to_dict` output; unknown keys are ignored."""
        names = {field.name for field in fields(cls)}
        return cls(**{key: str(value or "") for key, value in values.items() if key in names})


class AuditViewerModel:
    """The filters and live-tail flag of the viewer, its worker threads and its replay."""

    def __init__(
        self,
        service: AuditService,
        scheduler: abc.SchedulerBase | None,
        statuses: Observable[Any] | None = None,
    ) -> None:
        """`statuses`: the audit log's status as the service publishes it (`AuditStatus`)."""
        self.service = service
        self.scheduler = scheduler
        self.filters = Filters()
        self.tail = False
        self.revision = 0
        self.replay: ReplaySession | None = None
        self.replay_run = ""
        self.closed = False
        self._executor = ThreadPoolExecutor(BACKGROUND_WORKERS, "audit-viewer")
        self.session_records: int | None = None
        """How many records this app session added to the log (None: not known here)."""
        self._statuses = None if statuses is None else statuses.subscribe(self._take_status)

    def _take_status(self, status: object) -> None:
        if isinstance(status, AuditStatus):  # a replayed value is a plain dict
            self.session_records = status.recorded

    @property
    def storage(self) -> AuditStorage:
        """The audit log."""
        return self.service.storage

    def set_filters(self, filters: Filters) -> None:
        """Put `filters` in force; `FilterError` (and the old ones kept) when one is invalid."""
        filters.where()
        self.filters = filters

    def verify(self, key: VerificationKey | None) -> VerifyReport:
        """Verify the whole log with `key`, or else with the one the keyring keeps (a read
        of seconds on a big log: call it through `background`)."""
        return self.storage.verify(key or self.service.verification_key())

    def runs(self) -> list[dict[str, Any]]:
        """Every recorded run, newest first."""
        return self.storage.list_audits()[::-1]

    def background(self, job: Callable[..., T], *args: Any) -> Future[T]:
        """Run the storage read `job(*args)` on a worker thread.

        The worker's own database connection is closed when the job ends.
        """

        def run() -> T:
            try:
                return job(*args)
            finally:
                self.storage.close()

        return self._executor.submit(run)

    # -- replay ---------------------------------------------------------------------------

    def play(self, run: str, speed: float, scheduler: abc.SchedulerBase) -> None:
        """Replay `run` into the hub at `speed`× (going on with it if it is the one paused)."""
        replay = self._replay_of(run, scheduler, speed)
        if replay.paused or replay.speed != speed:
            replay.resume(speed)

    def step(self, run: str, scheduler: abc.SchedulerBase) -> bool:
        """Publish the next event of `run`'s replay, holding it there; False when none is left."""
        replay = self._replay_of(run, scheduler, None)
        replay.pause()
        return replay.step()

    def pause(self) -> None:
        """Hold the replay where it is."""
        if self.replay is not None:
            self.replay.pause()

    def stop_replay(self) -> None:
        """End the replay; nothing more is published."""
        if self.replay is not None:
            self.replay.stop()

    @property
    def replaying(self) -> bool:
        """Whether a replay is running (not paused, not finished)."""
        return self.replay is not None and not (self.replay.paused or self.replay.finished)

    def replay_progress(self) -> str:
        """ "replayed 12 / 340", and whether it is paused, done or stopped."""
        replay = self.replay
        if replay is None:
            return ""
        if replay.finished:
            state = "done" if replay.published == replay.total else "stopped"
        else:
            state = "paused" if replay.paused else "playing"
        return f"replayed {replay.published:,} / {replay.total:,} · {state}"

    def _replay_of(
        self, run: str, scheduler: abc.SchedulerBase, speed: float | None
    ) -> ReplaySession:
        """The live replay of `run`, or a new one started at `speed` (None: step by step)."""
        if self.replay is None or self.replay.finished or self.replay_run != run:
            self.stop_replay()
            self.replay = self.service.replay(EventFilter(audit_id=run), scheduler, speed=speed)
            self.replay_run = run
            self.replay.start()
        return self.replay

    # -- hot reload and teardown ------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The filters and the live-tail flag."""
        return {"filters": self.filters.to_dict(), "tail": self.tail}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back what `snapshot` kept (invalid filters are dropped)."""
        filters = Filters.from_dict(state.get("filters") or {})
        try:
            filters.where()
        except FilterError:
            filters = Filters()
        self.filters = filters
        self.tail = bool(state.get("tail", False))
        self.revision += 1

    def close(self) -> None:
        """Stop the replay and the worker threads (a running read finishes on its own)."""
        self.closed = True
        if self._statuses is not None:
            self._statuses.dispose()
        self.stop_replay()
        self._executor.shutdown(wait=False, cancel_futures=True)


def _moment(field: str, text: str) -> datetime:
    """An ISO 8601 time; one without an offset is taken as UTC, as the log stores times."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise FilterError(field, f"{field} {text!r} is not an ISO 8601 time") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
