"""A running plugin's wiring: consumed events into process(), its outputs onto the hub,
and a circuit breaker that stops calling a process() that keeps failing.

Failures are reported on ``plugin/<id>/error`` (a `PluginFault`) and a breaker opening on
``plugin/<id>/breaker`` (a `BreakerChange`); the plugin's status shows both.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from reactivex import Observable
from reactivex.disposable import CompositeDisposable, SingleAssignmentDisposable

from phantom_gui.core.events import SpectralEvent
from phantom_gui.core.hub import EventHub
from phantom_gui.core.resilience import BreakerState, CircuitBreaker
from phantom_gui.plugins.registry import PluginRecord
from phantom_gui.plugins.status import (
    BreakerChange,
    Incident,
    PluginFault,
    ProcessIncident,
    Reporter,
    incident_kind,
)
from phantom_gui.plugins.status_board import SOURCE, StatusBoard

log = logging.getLogger("phantom.plugins")


class OutputWiring:
    """Feeds plugins the events they consume and publishes what they return."""

    def __init__(
        self,
        hub: EventHub,
        board: StatusBoard,
        breaker_clock: Callable[[], float] | None = None,
    ) -> None:
        self._hub = hub
        self._board = board
        self._breaker_clock = breaker_clock

    def new_breaker(self, plugin_id: str) -> CircuitBreaker:
        """A closed breaker for the plugin's process() calls."""
        if self._breaker_clock is None:
            return CircuitBreaker(name=f"{plugin_id}.process")
        return CircuitBreaker(name=f"{plugin_id}.process", clock=self._breaker_clock)

    def wire(self, record: PluginRecord) -> None:
        """Pass each event on the manifest's `consumes` patterns to the plugin's process()."""
        record.breaker = self.new_breaker(record.id)

        def deliver(event: SpectralEvent) -> None:
            self._process(record, event)

        for pattern in record.manifest.consumes:
            record.wiring.add(self._hub.on(pattern).subscribe(deliver))

    def unwire(self, record: PluginRecord) -> None:
        """Stop delivering events and drop the outputs still being published."""
        record.wiring.dispose()
        record.wiring = CompositeDisposable()

    def publish_outputs(self, record: PluginRecord, outputs: Any, where: str) -> None:
        """Publish the (topic, data) pairs of `outputs`; a `process` call succeeds when they end.

        The subscription leaves the plugin's wiring once the outputs end, so a plugin
        does not keep one per processed event.
        """
        if outputs is None or record.context is None:
            if where == "process":
                self._succeeded(record)
            return
        if not isinstance(outputs, Observable):
            self.failed(
                record, where, TypeError(f"{where}() must return an Observable, got {outputs!r}")
            )
            return
        hub = record.context.hub
        wiring = record.wiring
        subscription = SingleAssignmentDisposable()
        wiring.add(subscription)

        def publish(item: Any) -> None:
            try:
                if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                    raise TypeError(f"{where}() emitted {item!r}; expected (topic, data)")
                hub.publish(item[0], item[1])
            except Exception as exc:
                subscription.dispose()
                failed(exc)

        def failed(exc: Exception) -> None:
            wiring.remove(subscription)
            self.failed(record, where, exc)

        def completed() -> None:
            wiring.remove(subscription)
            if where == "process":
                self._succeeded(record)

        subscription.disposable = outputs.subscribe(publish, failed, completed)

    def failed(self, record: PluginRecord, where: str, exc: Exception) -> None:
        """Count a failure of the running plugin against its breaker, and report it."""
        trips = record.breaker.trips
        record.breaker.record_failure()
        self.report(record, where, exc)
        self._announce_trip(record, trips)

    def report(self, record: PluginRecord, where: str, exc: Exception) -> None:
        """Keep the failure as the plugin's last error, log it and publish it."""
        record.error = f"{where}: {type(exc).__name__}: {exc}"
        record.traceback = "".join(traceback.format_exception(exc))
        log.error("plugin %s failed in %s: %s", record.id, where, exc, exc_info=exc)
        self._hub.publish(
            f"plugin/{record.id}/error",
            PluginFault(record.id, where, type(exc).__name__, str(exc)),
            source=SOURCE,
        )
        self._board.refresh(record)

    def incident_reporter(
        self, record: PluginRecord, gave_up: Callable[[ProcessIncident], None]
    ) -> Reporter:
        """How a process-isolated plugin's host reports: each incident is published on
        ``plugin/<id>/<kind>``; a fault counts against the breaker, and `gave_up` is called
        when the host stops restarting its process."""

        def report(incident: Incident) -> None:
            self._hub.publish(
                f"plugin/{record.id}/{incident_kind(incident)}", incident, source=SOURCE
            )
            if isinstance(incident, PluginFault):
                trips = record.breaker.trips
                record.breaker.record_failure()
                record.error = f"{incident.where}: {incident.error}: {incident.message}"
                self._board.refresh(record)
                self._announce_trip(record, trips)
            elif isinstance(incident, ProcessIncident) and incident.kind == "gave_up":
                gave_up(incident)

        return report

    def _process(self, record: PluginRecord, event: SpectralEvent) -> None:
        if record.instance is None or record.breaker.state is BreakerState.OPEN:
            return
        try:
            outputs = record.instance.process(event)
        except Exception as exc:
            self.failed(record, "process", exc)
            return
        self.publish_outputs(record, outputs, "process")

    def _succeeded(self, record: PluginRecord) -> None:
        recovered = record.breaker.consecutive_failures > 0
        record.breaker.record_success()
        if recovered:
            self._board.refresh(record)

    def _announce_trip(self, record: PluginRecord, trips_before: int) -> None:
        breaker = record.breaker
        if breaker.trips != trips_before:
            self._hub.publish(
                f"plugin/{record.id}/breaker",
                BreakerChange(record.id, breaker.state, breaker.trips),
                source=SOURCE,
            )
