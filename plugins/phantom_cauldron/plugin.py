"""The Cauldron plugin: every MQTT sensor in live charts, with anomaly alarms; recipes
evolved and brewed.

With no broker configured it starts an embedded broker and the cauldron simulator, and
reads the simulator through the very same connection, parser and charts. The brewing
commands and the cauldron's statuses of them are not sensor readings: they go to `Brews`.
"""

from __future__ import annotations

from typing import Any

from reactivex import Observable
from reactivex import operators as ops

from phantom_cauldron.brewing.brews import Brews
from phantom_cauldron.brewing.news import BREW_EVENTS
from phantom_cauldron.brewing.sending import BrewSender
from phantom_cauldron.evolution.conditions import Sample, sample_conditions
from phantom_cauldron.evolution.owners import RunOwners
from phantom_cauldron.evolution.progress import EVOLUTION_TOPIC
from phantom_cauldron.evolution.remote import RemoteEvolutions
from phantom_cauldron.evolution.requests import CANCEL_TOPICS, REQUEST_TOPIC
from phantom_cauldron.evolution.runs import EvolutionRuns, RunsUnderConditions
from phantom_cauldron.evolution.serving import RequestedEvolutions
from phantom_cauldron.ingest import Ingest
from phantom_cauldron.parsing.parser import PayloadParser
from phantom_cauldron.recipes.catalogue import load_catalogue
from phantom_cauldron.recipes.effects import Conditions
from phantom_cauldron.series import SeriesStore
from phantom_cauldron.settings import CauldronSettings
from phantom_cauldron.simulation import CONNECTION_ID, Simulation
from phantom_cauldron.topics import TopicTree
from phantom_gui.core.errors import ManifestationError
from phantom_gui.core.events import SpectralEvent
from phantom_gui.coven.bridge import is_remote
from phantom_gui.coven.service import MEMBER_TOPIC, CovenService
from phantom_gui.coven.topics import COVEN_PREFIX
from phantom_gui.mqtt.embedded import MosquittoNotFound
from phantom_gui.mqtt.messages import MqttMessage
from phantom_gui.mqtt.service import MqttService
from phantom_gui.plugins.context import PluginContext

COVEN_TOPICS = f"{COVEN_PREFIX}/"


def published_here(event: SpectralEvent) -> bool:
    """Whether `event` was published in this process (a member's presence is this
    member's coven service's word, never a remote one's)."""
    return not is_remote(event)


class Cauldron:
    """Cauldron: parse what the brokers send, score it, chart it, raise the alarms."""

    context: PluginContext
    mqtt: MqttService
    ingest: Ingest
    evolution: EvolutionRuns
    brews: Brews
    settings: CauldronSettings
    remote: RemoteEvolutions | None = None
    """Evolutions run on coven workers (None: this app has no coven service)."""
    requested: RequestedEvolutions | None = None
    """The evolutions other members ask this one to run (None: no coven service)."""
    owners: RunOwners
    """Whose word is taken about each run (without a coven, only this member's)."""
    simulation: Simulation | None = None
    no_simulation: str | None = None
    """Why there is no simulated cauldron although no broker is configured."""

    async def init(self, context: PluginContext) -> None:
        """Listen to every connection, starting with the retained messages they received
        before; start the simulated cauldron when there is no connection."""
        self.context = context
        mqtt = self.mqtt = context.service("mqtt")
        settings = self.settings = context.settings.load(CauldronSettings)
        self.ingest = Ingest(
            context.hub.publish,
            context.hub.is_heard,
            PayloadParser(),
            SeriesStore(alarm_policy=settings.alarm_policy()),
            TopicTree(),
            record_interval=settings.record_interval_s,
            detector_factory=settings.new_detector,
        )
        self.ingest.topics.restore_choices(settings.charted)
        self.brews = Brews(
            context.hub.publish,
            BrewSender(mqtt, settings.brew_connection, None if mqtt.has_broker else CONNECTION_ID),
            self.sample,
            context.hub.call_later,
            self._open_run,
            settings.brew_topic,
            context.logger,
        )
        context.owned(mqtt.messages()).subscribe(self._on_message)
        self.evolution = EvolutionRuns(
            context.hub.publish,
            context.hub.call_soon_threadsafe,
            tuple(load_catalogue().values()),
            self._open_run,
            context.logger,
        )
        self.owners = RunOwners(
            lambda run: run in self.evolution.runs, self._worker_of, context.logger
        )
        self._serve_coven()
        if not mqtt.has_broker:
            try:
                self.simulation = await Simulation.start(
                    mqtt,
                    context.hub.publish,
                    seed=settings.simulator_seed,
                    brew_topic=settings.brew_topic,
                )
            except MosquittoNotFound as exc:
                self.no_simulation = str(exc)
                context.logger.warning("no simulated cauldron: %s", exc)

    def _serve_coven(self) -> None:
        """Run the evolutions coven members request of this one, and offer to run this
        one's on coven workers; nothing where the app has no coven service."""
        try:
            coven: CovenService = self.context.service("coven")
        except ManifestationError:
            return
        hub = self.context.hub
        requested = self.requested = RequestedEvolutions(
            self.evolution, hub.publish, lambda: coven.instance, self.context.logger
        )
        remote = self.remote = RemoteEvolutions(coven, hub.publish, self.conditions)
        hub.on(REQUEST_TOPIC).pipe(ops.filter(is_remote)).subscribe(requested.take_request)
        hub.on(CANCEL_TOPICS).pipe(ops.filter(is_remote)).subscribe(requested.take_cancel)
        presence = hub.on(MEMBER_TOPIC).pipe(ops.filter(published_here))
        presence.subscribe(remote.member_changed)
        presence.subscribe(requested.member_changed)
        finished = f"{EVOLUTION_TOPIC}/+/finished"
        hub.on(finished).pipe(ops.filter(self.owners.believes)).subscribe(remote.finished)

    def _worker_of(self, run: str) -> str | None:
        return None if self.remote is None else self.remote.worker_of(run)

    def evolution_events(self) -> Observable[SpectralEvent]:
        """The evolutions' events (``cauldron/evolution/#``) whose sender owns their run
        (see `RunOwners`)."""
        return self.context.hub.on(f"{EVOLUTION_TOPIC}/#").pipe(ops.filter(self.owners.believes))

    def _on_message(self, message: MqttMessage) -> None:
        """A reading for the charts, or the cauldron's news of a brew; never the brew
        commands, nor a coven's traffic that a connection subscribed to ``#`` hears."""
        if message.topic == self.brews.topic or message.topic.startswith(COVEN_TOPICS):
            return
        if self.brews.is_status(message.topic):
            self.brews.on_status(message)
        else:
            self.ingest.on_message(message)

    def _open_run(self, kind: str, name: str, **info: Any) -> Any:
        """An evolution's or a brew's audit run (None where the app keeps no log)."""
        try:
            return self.context.open_run(kind, name, **info)
        except ManifestationError as exc:
            self.context.logger.warning("the evolution is not recorded: %s", exc)
            return None

    def sample(self) -> Sample:
        """The brew's latest readings, from the sensors that measure it (`brew_sensors`)."""
        return sample_conditions(
            self.ingest.store, self.ingest.parser.sensors, self.settings.brew_sensors
        )

    def conditions(self) -> Conditions:
        """The cauldron's conditions now, for an evolution (defaults where no sensor says)."""
        sample = self.sample()
        if sample.defaulted:
            self.context.logger.info(
                "evolution conditions: the simulator's defaults for %s", ", ".join(sample.defaulted)
            )
        return sample.conditions

    def process(self, event: SpectralEvent) -> None:
        """Nothing: messages arrive through the subscription made in `init`."""

    @property
    def source(self) -> str:
        """Where the readings come from, as the panel's header says it."""
        if self.simulation is not None:
            return "Simulated cauldron — no MQTT broker configured (File › MQTT Connections…)"
        if self.no_simulation is not None:
            return f"No MQTT broker configured, and no simulated cauldron: {self.no_simulation}"
        return "Live sensors from every MQTT connection"

    def problem_counts(self) -> dict[tuple[str, str], int]:
        """Refused payloads by (topic, reason), for the panel."""
        problems = self.ingest.parser.problems
        return {
            (topic, str(reason)): count
            for topic in problems.topics()
            for reason, count in problems.for_topic(topic).items()
        }

    def create_panel(self, parent: Any) -> Any:
        """The charts, the topic tree and the brewing tab (Qt is imported only here); the
        spare evolution worker starts, so that Evolve finds it ready."""
        from phantom_cauldron._qt.panel import CauldronPanel

        self.evolution.prepare()
        panel = CauldronPanel(
            self.ingest.store,
            self.ingest.topics,
            self.problem_counts,
            parent=parent,
            sensors=self.ingest.parser.sensors,
            online=self.online_devices,
            evolution=RunsUnderConditions(self.evolution, self.conditions),
            brewing=self.brews,
            remote=self.remote,
        )
        panel.set_source(self.source)
        panel.follow_connections(self.context.owned(self.mqtt.states()))
        panel.follow_evolution(self.evolution_events())
        panel.follow_brews(self.context.hub.on(f"{BREW_EVENTS}/#"))
        return panel

    def online_devices(self) -> list[tuple[str, bool]]:
        """Each device's topic-tree node and whether its availability topic says it is online."""
        return [(device.node, device.online) for device in self.ingest.parser.sensors.devices()]

    def snapshot(self) -> dict[str, Any]:
        """The topics chosen for charting, kept across a hot reload."""
        return {"charted": self.ingest.topics.choices()}

    def restore(self, state: dict[str, Any]) -> None:
        """Take back what `snapshot` kept."""
        self.ingest.topics.restore_choices(state.get("charted", {}))

    async def teardown(self) -> None:
        """End the spare worker, cancel the evolutions and stop following the brews;
        remember the charted topics; stop the simulator and its broker."""
        self.evolution.close()
        self.brews.close()
        settings = self.context.settings.load(CauldronSettings)
        self.context.settings.save(
            settings.model_copy(update={"charted": self.ingest.topics.choices()})
        )
        if self.simulation is not None:
            await self.simulation.stop()
            self.simulation = None
